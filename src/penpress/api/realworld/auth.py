"""Who is calling: the ``Authorization: Token <jwt>`` header, and nothing else.

The session cookie is never consulted, so the site's login cannot be ridden cross-site.
"""

from __future__ import annotations

from flask import g, request

from penpress.accounts import tokens
from penpress.accounts.models import SessionKind, User
from penpress.errors import Unauthorized

SCHEME = "Token"


def _token_from_header() -> str | None:
    header = request.headers.get("Authorization", "").strip()
    if not header:
        return None
    scheme, _, token = header.partition(" ")
    token = token.strip()
    if scheme.lower() != SCHEME.lower() or not token:
        raise Unauthorized("Send the header as: Authorization: Token <jwt>.")
    return token


def optional_user() -> User | None:
    """The caller, or None without a token; a bad, expired or revoked token is a 401."""
    if "realworld_user" not in g:
        token = _token_from_header()
        user = None
        if token is not None:
            user, _sid = tokens.authenticate_token(token, SessionKind.REALWORLD)
        g.realworld_user = user
        g.realworld_token = token
    user_or_none: User | None = g.realworld_user
    return user_or_none


def require_user() -> User:
    """The caller; 401 without a valid token."""
    user = optional_user()
    if user is None:
        raise Unauthorized()
    return user


def current_token() -> str:
    """The token the caller sent (call after :func:`require_user`)."""
    token: str = g.realworld_token
    return token
