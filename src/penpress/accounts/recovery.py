"""Email confirmation, password reset and address changes: the rules behind the links we email.

Like every service, these take plain values, ``flush()`` but never commit, and raise domain
errors. The signed link is the proof in the trusted steps here; the emails themselves are sent
by :mod:`penpress.accounts.tasks` once the transaction has committed, and those tasks ask
:func:`confirmation_to_send` / :func:`reset_to_send` whether there is still anything to send.
"""

from __future__ import annotations

from dataclasses import dataclass

from penpress import jobs
from penpress.accounts import email_tokens, services
from penpress.accounts.models import User
from penpress.errors import Invalid
from penpress.extensions import db
from penpress.permissions import Permission, require


@dataclass(frozen=True)
class LinkEmail:
    """An email carrying a signed link: for which account, the token for the link, and the
    address it goes to (the account's, or the new one of an address change)."""

    user: User
    token: str
    to: str


def confirm_email_with_token(token: str) -> User:
    """Mark the address a confirmation link was sent to as confirmed."""
    user = email_tokens.user_for_confirmation(token)
    services.mark_email_confirmed(user)
    return user


def resend_confirmation(actor: User | None) -> bool:
    """Send a fresh confirmation link to the signed-in user; False if already confirmed."""
    actor = require(actor, Permission.COMMENT)
    if actor.email_confirmed_at is not None:
        return False
    jobs.enqueue(services.CONFIRMATION_EMAIL_TASK, actor.id)
    return True


def request_password_reset(email: str) -> None:
    """Email a reset link if an active account has this address; says nothing either way."""
    try:
        address = services.normalize_email(email)
    except Invalid:
        return  # no account can have it; the caller answers as for any other address
    user = services.find_user_by_email(address)
    if user is not None and user.active:
        jobs.enqueue(services.PASSWORD_RESET_EMAIL_TASK, user.id)


def check_reset_token(token: str) -> User:
    """The user a reset link belongs to, while it is unused and fresh."""
    return email_tokens.user_for_reset(token)


def reset_password_with_token(token: str, new_password: str) -> User:
    """Set a new password through a reset link; the link and every login die with it.

    Following the link proved the user reads mail at this address, so it counts as confirmed.
    """
    user = email_tokens.user_for_reset(token)
    services.reset_password(user, new_password)
    services.mark_email_confirmed(user)
    return user


def confirmation_to_send(user_id: int) -> LinkEmail | None:
    """Trusted (a background job): the confirmation email still to send, if any — not for an
    account that is gone, deactivated or already confirmed (one waiting for approval may
    confirm its address meanwhile)."""
    user = db.session.get(User, user_id)
    if user is None or not (user.active or user.pending_approval):
        return None
    if user.email_confirmed_at is not None:
        return None
    return LinkEmail(user, email_tokens.make_confirmation_token(user), user.email)


def reset_to_send(user_id: int) -> LinkEmail | None:
    """Trusted (a background job): the reset email still to send, if the account is active."""
    user = db.session.get(User, user_id)
    if user is None or not user.active:
        return None
    return LinkEmail(user, email_tokens.make_reset_token(user), user.email)


def check_email_change_token(token: str) -> User:
    """The user an address-change link belongs to, while it is unused and the latest one (the
    page behind the link shows the new address before the change is made)."""
    return email_tokens.user_for_email_change(token)


def change_email_with_token(token: str) -> User:
    """Move the account to the address the link was sent to; the link dies with it.

    Following the link proved the user reads mail there, so the new address is confirmed.
    """
    user = email_tokens.user_for_email_change(token)
    return services.apply_email_change(user)


def email_change_to_send(user_id: int) -> LinkEmail | None:
    """Trusted (a background job): the link to send to the pending new address, if the change
    is still pending (not confirmed, replaced by a password change, or the account gone)."""
    user = db.session.get(User, user_id)
    if user is None or not user.active or user.pending_email is None:
        return None
    return LinkEmail(user, email_tokens.make_email_change_token(user), user.pending_email)


def email_change_notice_to_send(user_id: int) -> User | None:
    """Trusted (a background job): the account whose old address is told of a change."""
    user = db.session.get(User, user_id)
    return user if user is not None and user.active else None
