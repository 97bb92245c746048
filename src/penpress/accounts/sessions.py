"""Server-side login sessions: what a browser cookie or an API token stands for.

Trusted plumbing of the front doors' authentication (``accounts.auth``, ``accounts.tokens``):
these functions act on a user who has already proved who they are, or on a secret someone
presented. Only a SHA-256 hash of each secret is stored.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import bindparam, delete, select

from penpress import unit_of_work
from penpress.accounts.models import SessionKind, User, UserSession
from penpress.database import utcnow
from penpress.extensions import db

MAX_SECRET_LENGTH = 128


def _hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def start_session(user: User, kind: SessionKind, lifetime: timedelta) -> tuple[str, UserSession]:
    """Open a login for ``user``; returns the secret to hand out (only its hash is stored)."""
    secret = secrets.token_urlsafe(32)
    now = utcnow()
    session = UserSession(
        id_hash=_hash_secret(secret),
        user=user,
        kind=kind.value,
        created_at=now,
        last_seen_at=now,
        expires_at=now + lifetime,
    )
    db.session.add(session)
    db.session.flush()
    return secret, session


def find_session(secret: str, kind: SessionKind | None = None) -> UserSession | None:
    """The live session for ``secret`` whose user is still active, if any."""
    if not _plausible(secret):
        return None
    session = db.session.get(UserSession, _hash_secret(secret))
    if session is None or not _is_live(session.kind, session.expires_at, session.user.active, kind):
        return None
    return session


@dataclass(frozen=True)
class LiveLogin:
    """Whose a live session is: what a request needs before it knows whether it will act."""

    user_id: int
    kind: str


def find_live_login(secret: str, kind: SessionKind) -> LiveLogin | None:
    """Like :func:`find_session`, answered from the session's row and its user's ``active``
    flag alone, without loading either, as committed (the check every token request makes
    before it does anything: :func:`penpress.unit_of_work.committed_reads`)."""
    if not _plausible(secret):
        return None
    with unit_of_work.committed_reads() as connection:
        row = connection.execute(_LIVE_LOGIN, {"id_hash": _hash_secret(secret)}).one_or_none()
    if row is None or not _is_live(row.kind, row.expires_at, row.active, kind):
        return None
    return LiveLogin(user_id=row.user_id, kind=row.kind)


# Built once: a statement made anew each time costs more than running it does.
_LIVE_LOGIN = (
    select(UserSession.user_id, UserSession.kind, UserSession.expires_at, User.active)
    .join(User, User.id == UserSession.user_id)
    .where(UserSession.id_hash == bindparam("id_hash"))
)


def find_session_user(secret: str, kind: SessionKind) -> User | None:
    """The active user of the live session for ``secret``: the user alone is loaded, not the
    session (the browser's user loader on every logged-in page, the Conduit API's token)."""
    if not _plausible(secret):
        return None
    row = db.session.execute(_SESSION_USER, {"id_hash": _hash_secret(secret)}).one_or_none()
    if row is None or not _is_live(row.kind, row.expires_at, row.User.active, kind):
        return None
    user: User = row.User
    return user


_SESSION_USER = (
    select(User, UserSession.kind, UserSession.expires_at)
    .join(UserSession, UserSession.user_id == User.id)
    .where(UserSession.id_hash == bindparam("id_hash"))
)


def _plausible(secret: str) -> bool:
    return bool(secret) and len(secret) <= MAX_SECRET_LENGTH


def _is_live(
    kind: str, expires_at: datetime, user_active: bool, wanted: SessionKind | None
) -> bool:
    return (wanted is None or kind == wanted.value) and expires_at > utcnow() and user_active


def end_session(secret: str) -> None:
    db.session.execute(delete(UserSession).where(UserSession.id_hash == _hash_secret(secret)))


def end_all_sessions(user: User) -> None:
    """Log ``user`` out everywhere: every cookie and token stops working at once."""
    db.session.execute(delete(UserSession).where(UserSession.user_id == user.id))


def purge_expired_sessions(now: datetime | None = None) -> int:
    result = db.session.execute(
        delete(UserSession).where(UserSession.expires_at <= (now or utcnow()))
    )
    return int(getattr(result, "rowcount", 0) or 0)
