"""Fixtures for the Conduit conformance suite: a client that speaks Conduit, and users."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from penpress.accounts import tokens
from penpress.extensions import db
from tests.factories import DEFAULT_PASSWORD, UserFactory

PREFIX = "/realworld/api"
PASSWORD = DEFAULT_PASSWORD  # what factory-made users log in with


class Conduit:
    """Sends Conduit requests: ``api.get("/articles", token=...)``."""

    def __init__(self, client: FlaskClient):
        self.client = client

    def request(
        self, method: str, path: str, token: str | None = None, **kwargs: Any
    ) -> TestResponse:
        headers = dict(kwargs.pop("headers", {}))
        if token is not None:
            headers["Authorization"] = f"Token {token}"
        return self.client.open(PREFIX + path, method=method, headers=headers, **kwargs)

    def get(self, path: str, token: str | None = None, **kwargs: Any) -> TestResponse:
        return self.request("GET", path, token, **kwargs)

    def post(self, path: str, token: str | None = None, **kwargs: Any) -> TestResponse:
        return self.request("POST", path, token, **kwargs)

    def put(self, path: str, token: str | None = None, **kwargs: Any) -> TestResponse:
        return self.request("PUT", path, token, **kwargs)

    def delete(self, path: str, token: str | None = None, **kwargs: Any) -> TestResponse:
        return self.request("DELETE", path, token, **kwargs)

    def register(self, username: str, password: str = PASSWORD) -> dict[str, Any]:
        """Register through the API; returns the ``user`` object (with its token)."""
        response = self.post(
            "/users",
            json={
                "user": {
                    "username": username,
                    "email": f"{username}@example.com",
                    "password": password,
                }
            },
        )
        assert response.status_code == 201, response.get_json()
        user: dict[str, Any] = response.get_json()["user"]
        return user

    def user(self, username: str, **fields: Any) -> dict[str, Any]:
        """A user made directly (hashing a password per test is slow), with a Conduit token.

        Same email and password as :meth:`register`; returns what ``GET /user`` returns.
        """
        with self.client.application.app_context():
            token = tokens.issue_realworld_token(UserFactory(username=username, **fields))
            db.session.commit()
        response = self.get("/user", token)
        assert response.status_code == 200, response.get_json()
        user: dict[str, Any] = response.get_json()["user"]
        return user

    def create_article(self, token: str, **fields: Any) -> dict[str, Any]:
        article = {"title": "How to train your dragon", "description": "Ever wonder how?"}
        article |= {"body": "You have to believe", "tagList": ["dragons", "training"]}
        article |= fields
        response = self.post("/articles", token, json={"article": article})
        assert response.status_code == 201, response.get_json()
        created: dict[str, Any] = response.get_json()["article"]
        return created


@pytest.fixture(autouse=True)
def conduit_deployment(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    """What a Conduit community configures (docs/realworld.md): ``DEFAULT_ROLE=author``, so
    everyone who signs up writes, as Conduit front ends expect. The variable lands in this
    config key (``penpress.config.load_environment``, proven in tests/test_config.py)."""
    monkeypatch.setitem(app.config, "DEFAULT_ROLE", "author")


@pytest.fixture
def api(client: FlaskClient) -> Conduit:
    return Conduit(client)


@pytest.fixture
def jake(api: Conduit) -> dict[str, Any]:
    return api.user("jake")


@pytest.fixture
def celeb(api: Conduit) -> dict[str, Any]:
    return api.user("celeb")
