"""Signed, expiring tokens for the links we email: confirm an address, reset a password,
move an account to a new address, accept an invitation.

Tokens are stateless (itsdangerous, keyed with ``SECRET_KEY`` and a salt per purpose), yet
cannot be replayed where it matters: a confirmation token names the address it confirms, so
it dies when the address changes; a reset token carries a fingerprint of the current password
hash, so it dies once the password has been changed with it; an address-change token names
the pending change (its address and nonce) and the password, so it works once and dies when
another change is asked for or the password changes. An invitation token names the invite and
its random nonce; the invite's row says whether it may still be used.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from penpress.accounts.models import Invite, User
from penpress.errors import Invalid
from penpress.extensions import db

CONFIRM_SALT = "penpress.accounts.confirm-email"
RESET_SALT = "penpress.accounts.reset-password"
EMAIL_CHANGE_SALT = "penpress.accounts.change-email"
INVITE_SALT = "penpress.accounts.invite"
MAX_TOKEN_LENGTH = 1000

EXPIRED_CONFIRMATION = "This confirmation link has expired. Log in to ask for a new one."
INVALID_CONFIRMATION = "This confirmation link is not valid. Log in to ask for a new one."
EXPIRED_RESET = "This password reset link has expired. Please ask for a new one."
INVALID_RESET = "This password reset link is not valid or has already been used."
EXPIRED_EMAIL_CHANGE = "This link has expired. Ask for the change again on your profile."
INVALID_EMAIL_CHANGE = (
    "This link is not valid: it has been used, a newer change was asked for, or the password "
    "has changed since. Ask for the change again on your profile."
)


def _serializer(salt: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=salt)


def _load(token: str, salt: str, max_age: int, expired: str, invalid: str) -> dict[str, Any]:
    if not token or len(token) > MAX_TOKEN_LENGTH:
        raise Invalid.field("token", invalid)
    try:
        payload = _serializer(salt).loads(token, max_age=max_age)
    except SignatureExpired:
        raise Invalid.field("token", expired) from None
    except BadSignature:
        raise Invalid.field("token", invalid) from None
    if not isinstance(payload, dict):
        raise Invalid.field("token", invalid)
    return payload


def _user(payload: dict[str, Any], invalid: str, *, pending_too: bool = False) -> User:
    """The active user the token names; with ``pending_too``, one waiting for approval too."""
    user_id = payload.get("uid")
    user = db.session.get(User, user_id) if isinstance(user_id, int) else None
    if user is None or not (user.active or (pending_too and user.pending_approval)):
        raise Invalid.field("token", invalid)
    return user


def password_fingerprint(user: User) -> str:
    """A short keyed digest of the password hash: changes whenever the password does."""
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, user.password_hash.encode(), hashlib.sha256).hexdigest()[:32]


def make_confirmation_token(user: User) -> str:
    return str(_serializer(CONFIRM_SALT).dumps({"uid": user.id, "email": user.email}))


def user_for_confirmation(token: str) -> User:
    """The user whose current address ``token`` confirms; :class:`Invalid` otherwise."""
    payload = _load(
        token,
        CONFIRM_SALT,
        int(current_app.config["EMAIL_CONFIRM_MAX_AGE"]),
        EXPIRED_CONFIRMATION,
        INVALID_CONFIRMATION,
    )
    # An account waiting for approval may confirm its address meanwhile.
    user = _user(payload, INVALID_CONFIRMATION, pending_too=True)
    if payload.get("email") != user.email:
        raise Invalid.field("token", INVALID_CONFIRMATION)
    return user


def make_reset_token(user: User) -> str:
    return str(_serializer(RESET_SALT).dumps({"uid": user.id, "pw": password_fingerprint(user)}))


def user_for_reset(token: str) -> User:
    """The user ``token`` may reset the password of; :class:`Invalid` once used or expired."""
    payload = _load(
        token,
        RESET_SALT,
        int(current_app.config["PASSWORD_RESET_MAX_AGE"]),
        EXPIRED_RESET,
        INVALID_RESET,
    )
    user = _user(payload, INVALID_RESET)
    fingerprint = payload.get("pw")
    if not isinstance(fingerprint, str) or not hmac.compare_digest(
        fingerprint, password_fingerprint(user)
    ):
        raise Invalid.field("token", INVALID_RESET)
    return user


def make_email_change_token(user: User) -> str:
    """The token for the link to ``user``'s pending new address (there must be one)."""
    assert user.pending_email is not None
    assert user.pending_email_nonce is not None
    payload = {
        "uid": user.id,
        "new": user.pending_email,
        "nonce": user.pending_email_nonce,
        "pw": password_fingerprint(user),
    }
    return str(_serializer(EMAIL_CHANGE_SALT).dumps(payload))


def user_for_email_change(token: str) -> User:
    """The user whose pending address change ``token`` is for, while that change is still the
    one asked for last and the password has not changed; :class:`Invalid` otherwise."""
    payload = _load(
        token,
        EMAIL_CHANGE_SALT,
        int(current_app.config["EMAIL_CONFIRM_MAX_AGE"]),
        EXPIRED_EMAIL_CHANGE,
        INVALID_EMAIL_CHANGE,
    )
    user = _user(payload, INVALID_EMAIL_CHANGE)
    expected = (user.pending_email, user.pending_email_nonce, password_fingerprint(user))
    given = (payload.get("new"), payload.get("nonce"), payload.get("pw"))
    if None in expected or not all(
        isinstance(value, str) and hmac.compare_digest(value.encode(), str(wanted).encode())
        for value, wanted in zip(given, expected, strict=True)
    ):
        raise Invalid.field("token", INVALID_EMAIL_CHANGE)
    return user


def make_invite_token(invite: Invite) -> str:
    return str(_serializer(INVITE_SALT).dumps({"iid": invite.id, "n": invite.nonce}))


def invite_for_token(token: str, invalid: str) -> Invite:
    """The invite ``token`` was made for (whatever its state); :class:`Invalid` for a forged,
    mangled or stale token. Expiry is the invite's own ``expires_at``, not the token's age."""
    if not token or len(token) > MAX_TOKEN_LENGTH:
        raise Invalid.field("token", invalid)
    try:
        payload = _serializer(INVITE_SALT).loads(token)
    except BadSignature:
        raise Invalid.field("token", invalid) from None
    if not isinstance(payload, dict):
        raise Invalid.field("token", invalid)
    invite_id, nonce = payload.get("iid"), payload.get("n")
    invite = db.session.get(Invite, invite_id) if isinstance(invite_id, int) else None
    if invite is None or not isinstance(nonce, str) or not hmac.compare_digest(nonce, invite.nonce):
        raise Invalid.field("token", invalid)
    return invite
