"""Who is calling: the ``Authorization: Token <jwt>`` header, and nothing else.

The session cookie is never consulted, so the site's login cannot be ridden cross-site.
"""

from __future__ import annotations

from flask import g, request

from penpress.accounts import tokens
from penpress.accounts.models import SessionKind, User
from penpress.errors import Unauthorized

SCHEME = "Token"


def acting_user() -> User | None:
    """The caller, or ``None`` without a token; a bad, expired or revoked token is a 401."""
    if "realworld_user" not in g:
        token = tokens.token_from_header(request.headers.get("Authorization"), SCHEME)
        user, sid = None, None
        if token is not None:
            user, sid = tokens.authenticate_token_user(token, SessionKind.REALWORLD)
        g.realworld_user = user
        g.realworld_token = token
        g.realworld_sid = sid
    user_or_none: User | None = g.realworld_user
    return user_or_none


def current_token() -> str:
    """The token the caller sent (401 without one)."""
    if acting_user() is None:
        raise Unauthorized()
    token: str = g.realworld_token
    return token


def current_login_secret() -> str:
    """The secret of the login session behind the caller's token (401 without one)."""
    if acting_user() is None:
        raise Unauthorized()
    sid: str = g.realworld_sid
    return sid


def require_user() -> User:
    """The caller, for operations Conduit documents as authenticated: 401 without a token,
    before the request body is even read (no validation hints for strangers). The services
    still check what the caller may do."""
    user = acting_user()
    if user is None:
        raise Unauthorized()
    return user
