"""Fixtures for the v1 API tests: bearer headers for any user, JSON helpers."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask

from penpress.accounts import tokens
from penpress.accounts.models import User
from penpress.extensions import db
from tests.conftest import Make

AuthHeaders = Callable[..., dict[str, str]]


def issue_pair(app: Flask, user: Any) -> tokens.TokenPair:
    """A real token pair for ``user``, issued the way POST /auth/tokens does."""
    with app.app_context():
        pair = tokens.issue_token_pair(db.session.get_one(User, user.id))
        db.session.commit()
    return pair


@pytest.fixture
def auth_headers(app: Flask, make: Make) -> AuthHeaders:
    """``auth_headers(user)`` or ``auth_headers(role_name="admin")``: a Bearer header."""

    def headers(user: Any = None, **user_kwargs: Any) -> dict[str, str]:
        if user is None:
            user = make.user(**user_kwargs)
        return {"Authorization": f"Bearer {issue_pair(app, user).access_token}"}

    return headers


def error_of(response: Any) -> dict[str, Any]:
    """The ``error`` object of an API error response, after checking the shape."""
    assert response.mimetype == "application/json", response.data[:200]
    body = response.get_json()
    assert set(body) == {"error"}
    assert body["error"]["code"] == response.status_code
    assert isinstance(body["error"]["message"], str)
    return body["error"]  # type: ignore[no-any-return]
