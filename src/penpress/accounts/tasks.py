"""Background tasks of the accounts package: the emails that confirm, recover and move
accounts, invite people and tell of approvals.

Each task takes an id, asks the recovery service whether there is still anything to send (the
user may be gone, deactivated or already confirmed), so running it twice is harmless. Mail
failures that may pass are retried with exponential backoff. Links are built from SITE_URL.
"""

from __future__ import annotations

from celery import shared_task
from flask import current_app

from penpress.accounts import invites, recovery, services
from penpress.emails import EMAIL_TASK_RETRY, send_email
from penpress.http import external_url


@shared_task(name=services.CONFIRMATION_EMAIL_TASK, **EMAIL_TASK_RETRY)
def send_confirmation_email(user_id: int, *_queued_by_older_versions: object) -> bool:
    """Email ``user_id`` a link that confirms their address; False when there is nothing to do."""
    email = recovery.confirmation_to_send(user_id)
    if email is None:
        return False
    send_email(
        email.to,
        "Confirm your email address",
        "confirm_email",
        user=email.user,
        confirm_url=external_url("recovery.confirm_email", token=email.token),
    )
    return True


@shared_task(name=services.PASSWORD_RESET_EMAIL_TASK, **EMAIL_TASK_RETRY)
def send_password_reset_email(user_id: int, *_queued_by_older_versions: object) -> bool:
    """Email ``user_id`` a single-use link to choose a new password."""
    email = recovery.reset_to_send(user_id)
    if email is None:
        return False
    send_email(
        email.to,
        "Reset your password",
        "reset_password",
        user=email.user,
        reset_url=external_url("recovery.reset_password", token=email.token),
        max_age_minutes=int(current_app.config["PASSWORD_RESET_MAX_AGE"]) // 60,
    )
    return True


@shared_task(name=services.EMAIL_CHANGE_LINK_TASK, **EMAIL_TASK_RETRY)
def send_email_change_link(user_id: int) -> bool:
    """Email the pending new address of ``user_id`` the link that makes it the account's."""
    email = recovery.email_change_to_send(user_id)
    if email is None:
        return False
    send_email(
        email.to,
        "Confirm your new email address",
        "change_email",
        user=email.user,
        new_address=email.to,
        change_url=external_url("recovery.change_email", token=email.token),
    )
    return True


@shared_task(name=invites.INVITE_EMAIL_TASK, **EMAIL_TASK_RETRY)
def send_invite_email(invite_id: int) -> bool:
    """Email an invitation's single-use link; False when it was used, withdrawn or expired."""
    email = invites.invite_to_send(invite_id)
    if email is None:
        return False
    invite = email.invite
    send_email(
        invite.email,
        "You are invited to join",
        "invite",
        invite=invite,
        inviter=invite.invited_by,
        accept_url=external_url("accounts.accept_invite", token=email.token),
    )
    return True


@shared_task(name=services.EMAIL_CHANGE_NOTICE_TASK, **EMAIL_TASK_RETRY)
def send_email_change_notice(user_id: int, old_address: str, new_address: str) -> bool:
    """Tell the old address that a move to ``new_address`` was asked for; it carries no link
    that acts on the account, only the way to the password reset page."""
    user = recovery.email_change_notice_to_send(user_id)
    if user is None:
        return False
    send_email(
        old_address,
        "Your email address is about to change",
        "email_change_notice",
        user=user,
        old_address=old_address,
        new_address=new_address,
        reset_url=external_url("recovery.request_reset"),
    )
    return True


@shared_task(name=services.APPROVAL_REQUEST_EMAIL_TASK, **EMAIL_TASK_RETRY)
def send_approval_request_email(user_id: int) -> bool:
    """Tell every active administrator that an account waits for their approval."""
    found = services.approval_request_to_send(user_id)
    if found is None:
        return False
    user, admins = found
    for admin in admins:
        send_email(
            admin.email,
            f"{user.username} asks to join",
            "approval_request",
            admin=admin,
            user=user,
            users_url=external_url("admin.users"),
        )
    return True


@shared_task(name=services.ACCOUNT_APPROVED_EMAIL_TASK, **EMAIL_TASK_RETRY)
def send_account_approved_email(user_id: int) -> bool:
    """Tell an account that an administrator approved it and it may log in."""
    user = services.approval_to_announce(user_id)
    if user is None:
        return False
    send_email(
        user.email,
        "Your account has been approved",
        "account_approved",
        user=user,
        login_url=external_url("accounts.login"),
    )
    return True
