"""Fixtures for the site's pages: logging in through the form, and apps with other settings."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from penpress import create_app
from penpress.accounts.services import ensure_roles
from penpress.extensions import db, limiter, talisman
from tests.conftest import test_settings
from tests.factories import DEFAULT_PASSWORD

CSRF_INPUT = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
SESSION_COOKIE = "session"
REMEMBER_COOKIE = "remember_token"


def login(
    client: FlaskClient,
    email: str,
    password: str = DEFAULT_PASSWORD,
    *,
    remember: bool = False,
    next: str | None = None,  # noqa: A002  (the query parameter's name)
    csrf: bool = False,
) -> TestResponse:
    """Submit the login form; ``csrf=True`` first reads a token from the login page."""
    data: dict[str, str] = {"email": email, "password": password}
    if remember:
        data["remember"] = "y"
    if csrf:
        data["csrf_token"] = csrf_token(client, "/auth/login")
    url = "/auth/login" if next is None else f"/auth/login?next={next}"
    return client.post(url, data=data)


def csrf_token(client: FlaskClient, page: str) -> str:
    """The CSRF token a page hands to this client's session."""
    match = CSRF_INPUT.search(client.get(page).get_data(as_text=True))
    assert match, f"no csrf_token on {page}"
    return match.group(1)


def copy_cookie(source: FlaskClient, target: FlaskClient, name: str) -> None:
    """Give ``target`` the cookie ``name`` of ``source``, as a thief would."""
    cookie = source.get_cookie(name)
    assert cookie is not None, f"{name} cookie missing"
    target.set_cookie(name, cookie.value)


def is_logged_in(client: FlaskClient) -> bool:
    """Whether the profile page (login required) opens for this client."""
    return client.get("/auth/profile").status_code == 200


@pytest.fixture
def build_app(tmp_path: Path) -> Iterator[Callable[..., Flask]]:
    """Build extra apps with other settings (CSRF on, production, rate limits...).

    Talisman and the limiter are shared extension objects that remember the last app they
    were bound to; their state is put back afterwards so the session app is unaffected.
    """
    saved_talisman = dict(vars(talisman))
    saved_limiter_enabled = limiter.enabled
    built: list[Flask] = []

    def build(*, schema: bool = True, **overrides: Any) -> Flask:
        folder = tmp_path / f"app{len(built)}"
        folder.mkdir()
        app = create_app(test_settings(folder, **overrides))
        built.append(app)
        if schema:
            with app.app_context():
                db.create_all()
                ensure_roles()
                db.session.commit()
        return app

    yield build

    for app in built:
        with app.app_context():
            if app.config.get("RATELIMIT_ENABLED"):
                limiter.reset()
            db.session.remove()
            db.engine.dispose()
    vars(talisman).clear()
    vars(talisman).update(saved_talisman)
    limiter.enabled = saved_limiter_enabled
