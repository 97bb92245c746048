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
    """The caller, or ``None`` without a token; a bad, expired or revoked token is a 401.

    The token is checked and its user loaded in one query, unless :func:`caller_id` already
    checked it in this request (then the user alone is loaded).
    """
    if "realworld_user" not in g:
        login = g.get("realworld_login")
        if login is not None:
            g.realworld_user = tokens.user_of(login)
        else:
            token = _token()
            user, sid = None, None
            if token is not None:
                user, sid = tokens.authenticate_token_user(token, SessionKind.REALWORLD)
            g.realworld_user = user
            g.realworld_sid = sid
    user_or_none: User | None = g.realworld_user
    return user_or_none


def caller_id() -> int | None:
    """The id of the caller, or ``None`` without a token (a bad one is a 401), for a read
    that needs no more of them (a list's flags): the token is checked as committed, beside
    the page cache's generations, and the user is not loaded."""
    if "realworld_user" in g:
        user: User | None = g.realworld_user
        return None if user is None else user.id
    if "realworld_login" not in g:
        token = _token()
        login = None if token is None else tokens.authenticate_token(token, SessionKind.REALWORLD)
        g.realworld_login = login
        g.realworld_sid = None if login is None else login.sid
    checked: tokens.TokenLogin | None = g.realworld_login
    return None if checked is None else checked.user_id


def _token() -> str | None:
    if "realworld_token" not in g:
        g.realworld_token = tokens.token_from_header(request.headers.get("Authorization"), SCHEME)
    token: str | None = g.realworld_token
    return token


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


def require_caller_id() -> int:
    """:func:`caller_id`, for what Conduit documents as authenticated: 401 without a token."""
    user_id = caller_id()
    if user_id is None:
        raise Unauthorized()
    return user_id


def require_user() -> User:
    """The caller, for operations Conduit documents as authenticated: 401 without a token,
    before the request body is even read (no validation hints for strangers). The services
    still check what the caller may do."""
    user = acting_user()
    if user is None:
        raise Unauthorized()
    return user
