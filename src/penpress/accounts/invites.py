"""Invitations: an administrator or an editor invites an email address to join with a role.

The invitee gets a single-use link (a token signed with ``SECRET_KEY``, see
:mod:`penpress.accounts.email_tokens`) that expires after ``INVITE_MAX_AGE``. Accepting it
creates the account with the invited role and the address already confirmed (the link reached
it), whatever the registration policy, except when registration is ``closed``. The address is
the invited one: it cannot be swapped for another while accepting (a client that sends one
must send the same), so an invite forwarded to someone else only makes an account for the
invited address.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from flask_sqlalchemy.pagination import Pagination
from sqlalchemy import Select, select

from penpress import jobs
from penpress.accounts import email_tokens, services
from penpress.accounts.models import Invite, User
from penpress.database import paginate, utcnow
from penpress.errors import Conflict, Forbidden, Invalid, NotFound
from penpress.extensions import db
from penpress.permissions import ROLE_NAMES, Permission, holds, may_grant, require
from penpress.settings.services import registration_policy

# Queued by name, so this module does not import the task that calls it.
INVITE_EMAIL_TASK = "penpress.accounts.send_invite_email"

INVALID_INVITE = "This invitation link is not valid. Check that you copied all of it."
USED_INVITE = "This invitation has already been used. Log in with the account it created."
EXPIRED_INVITE = "This invitation has expired. Ask whoever invited you for a new one."
REVOKED_INVITE = "This invitation has been withdrawn. Ask whoever invited you for a new one."
WRONG_ADDRESS = (
    "This invitation was sent to another email address, and only works with that address."
)
ROLE_TOO_HIGH = "You may only invite people with a role below your own."


@dataclass(frozen=True)
class InviteEmail:
    """An invitation to email: the invite and the token for its link."""

    invite: Invite
    token: str


def _refuse_when_closed() -> None:
    if registration_policy() == "closed":
        raise Forbidden(services.REGISTRATION_CLOSED)


def create_invite(actor: User | None, email: str, role: str) -> Invite:
    """Invite ``email`` to join as ``role`` (administrators any role, editors roles below
    theirs); the invitation is emailed once committed. A newer invite for the same address
    replaces the older one. 409 if an account already uses the address; 403 while
    registration is closed."""
    inviter = require(actor, Permission.INVITE)
    _refuse_when_closed()
    if role not in ROLE_NAMES:
        raise Invalid.field("role", f"Choose one of: {', '.join(ROLE_NAMES)}.")
    if not may_grant(Permission(inviter.role.permissions), role):
        raise Forbidden(ROLE_TOO_HIGH, {"role": [ROLE_TOO_HIGH]})
    address = services.normalize_email(email)
    if services.find_user_by_email(address) is not None:
        raise Conflict(
            "An account already uses that address.",
            {"email": ["An account already uses that address."]},
        )
    now = utcnow()
    for older in db.session.scalars(_pending(now).where(Invite.email == address)):
        older.revoked_at = now
    invite = Invite(
        email=address,
        role=services.role_named(role),
        nonce=secrets.token_hex(16),
        invited_by=inviter,
        created_at=now,
        expires_at=now + timedelta(seconds=int(current_app.config["INVITE_MAX_AGE"])),
    )
    db.session.add(invite)
    db.session.flush()
    jobs.enqueue(INVITE_EMAIL_TASK, invite.id)
    return invite


def _pending(now: datetime) -> Select[Invite]:
    return select(Invite).where(
        Invite.accepted_at.is_(None), Invite.revoked_at.is_(None), Invite.expires_at > now
    )


def pending_invites(actor: User | None, page: int = 1, per_page: int = 50) -> Pagination:
    """Invitations not yet accepted, revoked or expired, newest first (who may invite)."""
    require(actor, Permission.INVITE)
    stmt = _pending(utcnow()).order_by(Invite.created_at.desc(), Invite.id.desc())
    return paginate(stmt, page, per_page)


def revoke_invite(actor: User | None, invite_id: int) -> Invite:
    """Withdraw a pending invitation: administrators any, others their own. 404 for an
    unknown one, 409 for one already accepted, revoked or expired."""
    revoker = require(actor, Permission.INVITE)
    invite = db.session.get(Invite, invite_id)
    if invite is None:
        raise NotFound("No such invitation.")
    if invite.invited_by_id != revoker.id and not holds(revoker, Permission.ADMIN):
        raise Forbidden("Only an administrator or whoever sent it can withdraw an invitation.")
    if not invite.is_pending(utcnow()):
        raise Conflict("This invitation was already used, withdrawn or has expired.")
    invite.revoked_at = utcnow()
    db.session.flush()
    return invite


def check_invite(token: str) -> Invite:
    """The invite behind a link, while it may be used; :class:`Invalid` saying why not
    (used, withdrawn, expired, not valid), 403 while registration is closed."""
    invite = email_tokens.invite_for_token(token, INVALID_INVITE)
    if invite.accepted_at is not None:
        raise Invalid.field("token", USED_INVITE)
    if invite.revoked_at is not None:
        raise Invalid.field("token", REVOKED_INVITE)
    if invite.expires_at <= utcnow():
        raise Invalid.field("token", EXPIRED_INVITE)
    _refuse_when_closed()
    return invite


def accept_invite(
    token: str,
    username: str,
    password: str,
    *,
    email: str | None = None,
    bio: str = "",
    image_url: str | None = None,
) -> User:
    """Create the invited account (the link is the proof): the invited role, the invited
    address, confirmed. ``email``, when a client sends one, must be the invited address (422
    otherwise). The invite is used up; a second try is refused."""
    invite = check_invite(token)
    if email is not None and services.normalize_email(email) != invite.email:
        raise Invalid.field("email", WRONG_ADDRESS)
    user = services.create_account(
        username,
        invite.email,
        password,
        role=invite.role.name,
        bio=bio,
        image_url=image_url,
        confirmed=True,
    )
    invite.accepted_at = utcnow()
    invite.user_id = user.id
    db.session.flush()
    return user


def invite_to_send(invite_id: int) -> InviteEmail | None:
    """Trusted (a background job): the invitation still to email, if it is still pending."""
    invite = db.session.get(Invite, invite_id)
    if invite is None or not invite.is_pending(utcnow()):
        return None
    return InviteEmail(invite, email_tokens.make_invite_token(invite))
