"""JSON Web Tokens for the APIs, each tied to a server-side login session.

Every token carries ``sid``, the secret of a :class:`UserSession`; ending that session (logout,
password change, deactivation) revokes every token issued for it. Refresh tokens rotate: the
session remembers the one refresh ``jti`` that may be used next, and presenting any other one
is treated as theft and ends the session.
"""

from __future__ import annotations

import functools
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from types import MappingProxyType
from typing import Any

import jwt
from flask import current_app
from sqlalchemy import bindparam, select

from penpress.accounts import sessions
from penpress.accounts.models import SessionKind, User, UserSession
from penpress.database import utcnow
from penpress.errors import Unauthorized
from penpress.extensions import db

ALGORITHM = "HS256"
ISSUER = "penpress"


@dataclass(frozen=True)
class TokenPair:
    access_token: str
    refresh_token: str
    expires_in: int
    token_type: str = "Bearer"  # noqa: S105  (the OAuth 2 token type, not a secret)


def _key() -> str:
    # A derived key, so a token can never be replayed as a Flask session cookie or vice versa.
    return f"{current_app.config['SECRET_KEY']}:jwt"


def _encode(claims: dict[str, Any]) -> str:
    return jwt.encode(claims, _key(), algorithm=ALGORITHM)


def _claims(user: User, sid: str, typ: str, ttl: int) -> dict[str, Any]:
    now = utcnow()
    return {
        "iss": ISSUER,
        "sub": str(user.id),
        "sid": sid,
        "typ": typ,
        "jti": uuid.uuid4().hex,
        "iat": now,
        "exp": now + timedelta(seconds=ttl),
    }


def issue_token_pair(user: User) -> TokenPair:
    """Log ``user`` in through the API: a short-lived access token and a refresh token."""
    config = current_app.config
    refresh_ttl = int(config["JWT_REFRESH_TTL"])
    sid, session = sessions.start_session(user, SessionKind.API, timedelta(seconds=refresh_ttl))
    return _pair_for(user, sid, session)


def _pair_for(user: User, sid: str, session: UserSession) -> TokenPair:
    access_ttl = int(current_app.config["JWT_ACCESS_TTL"])
    refresh_claims = _claims(user, sid, "refresh", int(current_app.config["JWT_REFRESH_TTL"]))
    refresh_claims["exp"] = session.expires_at
    session.refresh_jti = refresh_claims["jti"]
    db.session.flush()
    return TokenPair(
        access_token=_encode(_claims(user, sid, "access", access_ttl)),
        refresh_token=_encode(refresh_claims),
        expires_in=access_ttl,
    )


def issue_realworld_token(user: User) -> str:
    """One long-lived token, as Conduit clients expect, revocable like the others."""
    ttl = int(current_app.config["REALWORLD_TOKEN_TTL"])
    sid, _ = sessions.start_session(user, SessionKind.REALWORLD, timedelta(seconds=ttl))
    return _encode(_claims(user, sid, "access", ttl))


def decode(token: str, typ: str) -> dict[str, Any]:
    """Verify signature, algorithm, expiry and type; any failure is a 401."""
    try:
        claims = dict(_verified_claims(token, _key()))
    except jwt.ExpiredSignatureError:
        raise Unauthorized("The token has expired.") from None
    except jwt.InvalidTokenError:
        raise Unauthorized("The token is invalid.") from None
    if claims["exp"] <= time.time():  # a token verified earlier, run out since
        raise Unauthorized("The token has expired.")
    if claims.get("typ") != typ or not isinstance(claims.get("sid"), str):
        raise Unauthorized("The token is invalid.")
    return claims


@functools.lru_cache(maxsize=4096)
def _verified_claims(token: str, key: str) -> Mapping[str, Any]:
    """The claims of a token whose signature, issuer and claims check out.

    Kept per (token, key): a client sends the same token on every call until it expires, and
    the answer for a given token and key never changes, save its expiry, which
    :func:`decode` checks each time. A token that fails raises and is not kept.
    """
    claims: dict[str, Any] = jwt.decode(
        token,
        key,
        algorithms=[ALGORITHM],
        issuer=ISSUER,
        options={"require": ["exp", "iat", "sub", "jti", "sid", "typ"]},
    )
    return MappingProxyType(claims)


@dataclass(frozen=True)
class TokenLogin:
    """A checked access token: whose it is and the secret of its login session."""

    user_id: int
    sid: str


def authenticate_token(token: str, kind: SessionKind = SessionKind.API) -> TokenLogin:
    """Whom an access token speaks for; 401 if it is invalid, expired or revoked.

    The user is not loaded: a request that only reads what everyone may read (a page of
    posts) never needs them. :func:`user_of` loads them for one that does.
    """
    claims = decode(token, "access")
    login = sessions.find_live_login(claims["sid"], kind)
    if login is None or str(login.user_id) != claims["sub"]:
        raise Unauthorized("The token has been revoked.")
    return TokenLogin(user_id=login.user_id, sid=claims["sid"])


def authenticate_token_user(token: str, kind: SessionKind) -> tuple[User, str]:
    """Like :func:`authenticate_token`, with the user loaded in the same query, and the
    session's secret: for a front door whose every request with a token acts as its user
    (the Conduit API's flags, its writes). Read in the request's transaction."""
    claims = decode(token, "access")
    user = sessions.find_session_user(claims["sid"], kind)
    if user is None or str(user.id) != claims["sub"]:
        raise Unauthorized("The token has been revoked.")
    return user, claims["sid"]


def user_of(login: TokenLogin) -> User:
    """The user behind a token :func:`authenticate_token` accepted in this request."""
    user = db.session.execute(_USER, {"user_id": login.user_id}).scalar_one_or_none()
    if user is None or not user.active:  # changed since the check, in another transaction
        raise Unauthorized("The token has been revoked.")
    return user


_USER = select(User).where(User.id == bindparam("user_id"))  # built once: every call runs it


def refresh(refresh_token: str) -> TokenPair:
    """Rotate: a new pair for a valid refresh token; a reused one ends the whole session."""
    claims = decode(refresh_token, "refresh")
    session = sessions.find_session(claims["sid"], SessionKind.API)
    if session is None or str(session.user_id) != claims["sub"]:
        raise Unauthorized("The token has been revoked.")
    if session.refresh_jti != claims["jti"]:
        sessions.end_session(claims["sid"])
        raise Unauthorized(
            "The refresh token was already used; please log in again.", keep_changes=True
        )
    return _pair_for(session.user, claims["sid"], session)


def revoke(sid: str) -> None:
    sessions.end_session(sid)


def token_from_header(header: str | None, scheme: str) -> str | None:
    """The token of an ``Authorization: <scheme> <token>`` header; ``None`` without a header.

    A header in another scheme, or with no token, is a 401 that says how to send it.
    """
    if header is None or not header.strip():
        return None
    given_scheme, _, token = header.strip().partition(" ")
    if given_scheme.lower() != scheme.lower() or not token.strip():
        raise Unauthorized(f"Send the token as: Authorization: {scheme} <token>.")
    return token.strip()
