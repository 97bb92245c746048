"""Background tasks of the accounts package: the emails that confirm and recover accounts.

Each task takes an id and the site's base URL, re-reads the current state and does nothing
when it no longer applies (the user is gone, deactivated or already confirmed), so running it
twice is harmless. Mail failures that may pass are retried with exponential backoff.
"""

from __future__ import annotations

import logging

from celery import shared_task
from flask import current_app

from penpress.accounts import email_tokens
from penpress.accounts.models import User
from penpress.emails import EMAIL_TASK_RETRY, external_url, send_email, site_url
from penpress.extensions import db
from penpress.jobs import enqueue

log = logging.getLogger(__name__)


@shared_task(
    name="penpress.accounts.send_confirmation_email",
    **EMAIL_TASK_RETRY,
)
def send_confirmation_email(user_id: int, base_url: str) -> bool:
    """Email ``user_id`` a link that confirms their address; False when there is nothing to do."""
    user = db.session.get(User, user_id)
    if user is None or not user.active or user.email_confirmed_at is not None:
        return False
    token = email_tokens.make_confirmation_token(user)
    send_email(
        user.email,
        "Confirm your email address",
        "confirm_email",
        user=user,
        confirm_url=external_url(base_url, "recovery.confirm_email", token=token),
    )
    return True


@shared_task(
    name="penpress.accounts.send_password_reset_email",
    **EMAIL_TASK_RETRY,
)
def send_password_reset_email(user_id: int, base_url: str) -> bool:
    """Email ``user_id`` a single-use link to choose a new password."""
    user = db.session.get(User, user_id)
    if user is None or not user.active:
        return False
    token = email_tokens.make_reset_token(user)
    send_email(
        user.email,
        "Reset your password",
        "reset_password",
        user=user,
        reset_url=external_url(base_url, "recovery.reset_password", token=token),
        max_age_minutes=int(current_app.config["PASSWORD_RESET_MAX_AGE"]) // 60,
    )
    return True


def queue_confirmation_email(user: User) -> None:
    """Send the confirmation email once the transaction that created ``user`` commits."""
    enqueue(send_confirmation_email, user.id, site_url())


def queue_password_reset_email(user: User) -> None:
    enqueue(send_password_reset_email, user.id, site_url())
