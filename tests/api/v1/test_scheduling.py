"""``publish_at`` on /api/v1/posts: scheduling and backdating through the API, its validation,
the ``status`` of a post and what the OpenAPI document says."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from penpress.database import utcnow
from tests.api.v1.conftest import AuthHeaders, error_of
from tests.conftest import Make


def create(client: FlaskClient, headers: dict[str, str], **fields: Any) -> Any:
    return client.post("/api/v1/posts", json={"title": "Launch", "body": "Soon.", **fields},
                       headers=headers)  # fmt: skip


def test_a_future_publish_at_schedules_the_post(
    client: FlaskClient, make: Make, auth_headers: AuthHeaders
) -> None:
    author = make.user()
    headers = auth_headers(author)
    response = create(client, headers, publish_at="2999-03-29T09:00:00+02:00")
    assert response.status_code == 201
    post = response.get_json()
    assert post["status"] == "scheduled"
    assert post["published"] is True
    assert post["published_at"] == "2999-03-29T07:00:00Z"
    slug = post["slug"]
    # Readers: nowhere yet.
    assert client.get(f"/api/v1/posts/{slug}").status_code == 404
    assert client.get("/api/v1/posts").get_json()["total"] == 0
    assert client.get(f"/api/v1/posts?author={author.username}").get_json()["total"] == 0
    # Its author: with drafts=true, and by its address.
    mine = client.get(f"/api/v1/posts?author={author.username}&drafts=true", headers=headers)
    assert [p["status"] for p in mine.get_json()["posts"]] == ["scheduled"]
    assert client.get(f"/api/v1/posts/{slug}", headers=headers).status_code == 200
    # Someone else with a token is a reader.
    assert client.get(f"/api/v1/posts/{slug}", headers=auth_headers()).status_code == 404


def test_a_past_publish_at_backdates_and_published_false_keeps_a_draft(
    client: FlaskClient, make: Make, auth_headers: AuthHeaders
) -> None:
    headers = auth_headers(make.user())
    old = create(client, headers, publish_at="2020-01-02T03:04:05Z").get_json()
    assert (old["status"], old["published_at"]) == ("published", "2020-01-02T03:04:05Z")
    assert client.get(f"/api/v1/posts/{old['slug']}").status_code == 200
    planned = create(client, headers, publish_at="2999-01-01T00:00:00Z", published=False)
    assert planned.get_json()["status"] == "draft"
    assert create(client, headers).get_json()["status"] == "draft"
    now = create(client, headers, published=True, publish_at=None).get_json()
    assert now["status"] == "published"
    published_at = datetime.fromisoformat(now["published_at"])
    assert abs(published_at - utcnow()) < timedelta(minutes=1)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("2030-03-29T09:00:00", "offset from UTC"),
        ("2030-03-29", "offset from UTC"),
        ("next tuesday", "ISO 8601"),
        (12, "ISO 8601"),
        ("9999-12-31T23:59:59-05:00", "between the years"),
        ("0001-01-01T00:00:00+14:00", "between the years"),
    ],
)
def test_publish_at_needs_an_offset_and_a_sane_year(
    client: FlaskClient, make: Make, auth_headers: AuthHeaders, value: Any, message: str
) -> None:
    headers = auth_headers(make.user())
    for response in (
        create(client, headers, publish_at=value),
        client.patch(
            f"/api/v1/posts/{create(client, headers).get_json()['slug']}",
            json={"publish_at": value},
            headers=headers,
        ),
    ):
        assert response.status_code == 422
        error = error_of(response)
        assert message in error["details"]["publish_at"][0]


def test_patch_schedules_moves_and_unschedules(
    client: FlaskClient, make: Make, auth_headers: AuthHeaders
) -> None:
    headers = auth_headers(make.user())
    slug = create(client, headers).get_json()["slug"]

    def patch(**fields: Any) -> Any:
        response = client.patch(f"/api/v1/posts/{slug}", json=fields, headers=headers)
        assert response.status_code == 200, response.get_json()
        return response.get_json()

    future = (datetime.now(UTC) + timedelta(days=3)).replace(microsecond=0)
    assert patch(publish_at=future.isoformat())["status"] == "scheduled"  # publishes too
    assert client.get(f"/api/v1/posts/{slug}").status_code == 404
    assert patch(published=False)["status"] == "draft"
    back = patch(published=True)
    assert back["status"] == "scheduled"  # the planned date stayed
    assert back["published_at"] == future.isoformat().replace("+00:00", "Z")
    now = patch(publish_at=None)  # no date: published now
    assert now["status"] == "published"
    assert client.get(f"/api/v1/posts/{slug}").status_code == 200


def test_conduit_articles_are_published_at_once(
    app: Flask, client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.api.realworld.conftest import Conduit

    monkeypatch.setitem(app.config, "DEFAULT_ROLE", "author")  # as a Conduit site runs
    conduit = Conduit(client)
    user = conduit.register("conduiter")
    article = conduit.post(
        "/articles",
        token=user["token"],
        json={"article": {"title": "Now", "description": "d", "body": "b"}},
    ).get_json()["article"]
    assert client.get(f"/api/v1/posts/{article['slug']}").get_json()["status"] == "published"


def test_the_openapi_document_describes_publish_at_and_status(client: FlaskClient) -> None:
    schemas = client.get("/api/v1/openapi.json").get_json()["components"]["schemas"]
    for name in ("PostCreate", "PostPatch"):
        field = schemas[name]["properties"]["publish_at"]
        assert field["type"] == "string"
        assert field["format"] == "date-time"
        assert field.get("nullable") is True
        assert "offset" in field["description"]
    status = schemas["Post"]["properties"]["status"]
    assert status["enum"] == [
        *("draft", "submitted", "returned", "rejected", "published"),
        "scheduled",
    ]
    assert "status" in schemas["Post"]["required"]
