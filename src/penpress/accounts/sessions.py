"""Server-side login sessions: what a browser cookie or an API token stands for.

Trusted plumbing of the front doors' authentication (``accounts.auth``, ``accounts.tokens``):
these functions act on a user who has already proved who they are, or on a secret someone
presented. Only a SHA-256 hash of each secret is stored.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import delete

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
    if not secret or len(secret) > MAX_SECRET_LENGTH:
        return None
    session = db.session.get(UserSession, _hash_secret(secret))
    if session is None or (kind is not None and session.kind != kind.value):
        return None
    if session.expires_at <= utcnow() or not session.user.active:
        return None
    return session


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
