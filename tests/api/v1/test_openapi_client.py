"""A client that knows only /api/v1/openapi.json does the whole round trip.

Every request is found in the document by its operationId, and every response is checked
against the document, so the flow proves the document is enough and truthful.
"""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from flask import Flask
from flask.testing import FlaskClient


class OpenApiClient:
    def __init__(self, app: Flask, client: FlaskClient):
        self.client = client
        self.spec = client.get("/api/v1/openapi.json").get_json()
        self.schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
        self.operations = {
            op["operationId"]: (method, path)
            for path, item in self.spec["paths"].items()
            for method, op in item.items()
            if isinstance(op, dict) and "operationId" in op
        }
        self.token: str | None = None

    def call(self, operation_id: str, expect: int, json: Any = None, **params: Any) -> Any:
        method, template = self.operations[operation_id]
        path = template.format(**{k: v for k, v in params.items() if f"{{{k}}}" in template})
        query = {k: v for k, v in params.items() if f"{{{k}}}" not in template}
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        response = self.client.open(
            path, method=method.upper(), json=json, query_string=query, headers=headers
        )
        assert response.status_code == expect, (operation_id, response.get_json())
        assert str(expect) in self.spec["paths"][template][method]["responses"]
        self.schema[template][method.upper()].validate_response(response)
        return response.get_json() if response.data else None


@pytest.fixture
def api(app: Flask, client: FlaskClient, monkeypatch: pytest.MonkeyPatch) -> OpenApiClient:
    # A site where everyone who signs up writes (DEFAULT_ROLE=author), as a client expects.
    monkeypatch.setitem(app.config, "DEFAULT_ROLE", "author")
    return OpenApiClient(app, client)


def test_register_token_write_publish_comment_list_and_read_back(api: OpenApiClient) -> None:
    api.call("register", 201, {"username": "newcomer", "email": "new@example.com",
                               "password": "a-long-password"})  # fmt: skip
    tokens = api.call("create_tokens", 200, {"email": "new@example.com",
                                             "password": "a-long-password"})  # fmt: skip
    assert tokens["token_type"] == "Bearer"
    api.token = tokens["access_token"]
    assert api.call("get_me", 200)["email"] == "new@example.com"

    draft = api.call("create_post", 201, {"title": "Hello API", "body": "Made by a *client*.",
                                          "tags": ["api", "howto"]})  # fmt: skip
    assert draft["published"] is False
    published = api.call("update_post", 200, {"published": True}, slug=draft["slug"])
    assert published["published_at"] is not None

    comment = api.call("create_comment", 201, {"body": "First!"}, slug=draft["slug"])
    assert comment["approved"] is True  # the post's author needs no moderator

    listed = api.call("list_posts", 200, tag="api")
    assert [p["slug"] for p in listed["posts"]] == [draft["slug"]]
    assert api.call("list_posts", 200, author="newcomer", q="client")["total"] == 1
    assert api.call("list_posts", 200, tag="nothing")["total"] == 0

    api.token = None  # everything published reads back anonymously
    post = api.call("get_post", 200, slug=draft["slug"])
    assert post["tags"] == ["api", "howto"]
    assert post["comment_count"] == 1
    assert "<em>client</em>" in post["body_html"]
    comments = api.call("list_comments", 200, slug=draft["slug"])
    assert [c["body"] for c in comments["comments"]] == ["First!"]
    assert api.call("get_comment", 200, comment_id=comment["id"])["post_slug"] == draft["slug"]
    tags = api.call("list_tags", 200)["tags"]
    assert {t["name"]: t["post_count"] for t in tags} == {"api": 1, "howto": 1}
    assert api.call("get_user", 200, username="newcomer")["role"] == "author"
    assert api.call("list_users", 200)["total"] == 1

    # Refresh, then log out; the errors it then meets are documented ones.
    refreshed = api.call("refresh_tokens", 200, {"refresh_token": tokens["refresh_token"]})
    api.token = refreshed["access_token"]
    api.call("delete_tokens", 204)
    api.call("get_me", 401)
    api.call("refresh_tokens", 401, {"refresh_token": refreshed["refresh_token"]})


def test_errors_a_client_can_provoke_are_documented(api: OpenApiClient) -> None:
    api.call("get_me", 401)
    api.call("get_post", 404, slug="missing")
    api.call("list_posts", 422, per_page=1000)
    api.call("register", 422, {"username": "x"})
    api.call("create_tokens", 401, {"email": "who@example.com", "password": "nope-nope"})
    api.call("register", 201, {"username": "twice", "email": "t@example.com",
                               "password": "a-long-password"})  # fmt: skip
    api.call("register", 409, {"username": "twice", "email": "t@example.com",
                               "password": "a-long-password"})  # fmt: skip
