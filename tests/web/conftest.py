"""Fixtures for the site's pages: logging in through the form, and apps with other settings."""

from __future__ import annotations

import re

from flask.testing import FlaskClient
from werkzeug.test import TestResponse

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
