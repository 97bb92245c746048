"""Email confirmation and password reset: the rules behind the links we email.

Like every service, these take plain values, ``flush()`` but never commit, and raise domain
errors; the emails themselves are sent by :mod:`penpress.accounts.tasks` once the
transaction has committed.
"""

from __future__ import annotations

from penpress.accounts import email_tokens, services, tasks
from penpress.accounts.models import User
from penpress.errors import Invalid, Unauthorized


def confirm_email_with_token(token: str) -> User:
    """Mark the address a confirmation link was sent to as confirmed."""
    user = email_tokens.user_for_confirmation(token)
    services.confirm_email(user)
    return user


def resend_confirmation(user: User | None) -> bool:
    """Send a fresh confirmation link to a logged-in user; False if already confirmed."""
    if user is None or not user.is_authenticated:
        raise Unauthorized()
    if user.email_confirmed_at is not None:
        return False
    tasks.queue_confirmation_email(user)
    return True


def request_password_reset(email: str) -> None:
    """Email a reset link if an active account has this address; says nothing either way."""
    try:
        address = services.normalize_email(email)
    except Invalid:
        return  # no account can have it; the caller answers as for any other address
    user = services.find_user_by_email(address)
    if user is not None and user.active:
        tasks.queue_password_reset_email(user)


def check_reset_token(token: str) -> User:
    """The user a reset link belongs to, while it is unused and fresh."""
    return email_tokens.user_for_reset(token)


def reset_password_with_token(token: str, new_password: str) -> User:
    """Set a new password through a reset link; the link and every login die with it.

    Following the link proved the user reads mail at this address, so it counts as confirmed.
    """
    user = email_tokens.user_for_reset(token)
    services.change_password(user, None, new_password)
    services.confirm_email(user)
    return user
