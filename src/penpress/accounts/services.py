"""Account rules shared by the site, both APIs and background tasks.

Functions take the acting user first (``None`` for an anonymous visitor) and check what it may
do themselves, ``flush()`` but never commit, and raise the domain errors of
:mod:`penpress.errors`. Trusted operations (a reset after a verified link, the demo seed) are
separate functions that say so in their names and docstrings.
"""

from __future__ import annotations

import functools
import re
import secrets
from collections.abc import Iterable, Sequence
from datetime import timedelta
from typing import Any

from blinker import Namespace
from email_validator import EmailNotValidError, validate_email
from flask_sqlalchemy.pagination import Pagination
from sqlalchemy import CursorResult, delete, func, select, update
from werkzeug.security import check_password_hash, generate_password_hash

from penpress import jobs, page_cache, timezones, unit_of_work
from penpress.accounts import sessions
from penpress.accounts.models import ROLE_PERMISSIONS, Follow, Role, User
from penpress.audit import services as audit
from penpress.database import PairedIds, paginate, utcnow
from penpress.errors import Conflict, Forbidden, Invalid, NotFound, Unauthorized, refuse_nul
from penpress.extensions import db
from penpress.permissions import Permission, holds, require
from penpress.ratelimits import Budget
from penpress.settings.services import (
    default_role,
    default_time_zone,
    email_confirmation_required,
    registration_policy,
)

USERNAME_PATTERN = re.compile(r"^[A-Za-z0-9_.-]{3,32}$")
USERNAME_RULE = "3 to 32 letters, digits, dots, dashes or underscores"
PASSWORD_MIN_LENGTH = 8
PASSWORD_MAX_LENGTH = 128
BIO_MAX_LENGTH = 2000
IMAGE_URL_MAX_LENGTH = 500
INVALID_LOGIN = "Invalid email or password."
WRONG_PASSWORD = "Your current password is not correct."  # noqa: S105
# A token-only client (Conduit) may change the email address or the password within this long
# of logging in: a copied old token cannot take the account over.
FRESH_LOGIN = timedelta(minutes=15)
STALE_LOGIN = (
    "Log in again to change your email address or password: your login is more than 15 minutes old."
)

# One budget of failed password checks per account, shared by every place that checks a
# password (each front door's login, password and email changes). Keyed by the address tried,
# so an unknown address gets the same answer and the same budget as a real account.
PASSWORD_FAILURES = Budget(
    "RATELIMIT_LOGIN_FAILURES",
    "password-failures",
    "Too many wrong passwords for this account. Try again later, or reset your password.",
)
# Each address change emails two addresses, one of them anyone's: a budget per account.
EMAIL_CHANGES = Budget(
    "RATELIMIT_EMAIL",
    "email-changes",
    "You have asked for too many address changes. Try again later.",
)

REGISTRATION_CLOSED = "Registration is closed: this site does not take new members."
REGISTRATION_BY_INVITE = (
    "This site is open by invitation only: ask an administrator or an editor to invite you."
)
AWAITING_APPROVAL = (
    "Your account is waiting for an administrator's approval; we will email you once it is "
    "approved."
)
DEACTIVATED = "This account has been deactivated."
CONFIRM_EMAIL_FIRST = (
    "Please confirm your email address first: follow the link we emailed you, or ask for a "
    "new one on your profile page."
)
LAST_ADMIN = (
    "This is the last active administrator: make another account an admin first, so the site "
    "is never left without one."
)

# Sent with the user just before an account is deleted, while its rows are still there: a
# later feature (the blog's counters) takes them into account; this module never imports it.
_signals = Namespace()
user_deleting = _signals.signal("penpress.user-deleting")

# Tasks are queued by name, so this module does not import the tasks that call it.
CONFIRMATION_EMAIL_TASK = "penpress.accounts.send_confirmation_email"
PASSWORD_RESET_EMAIL_TASK = "penpress.accounts.send_password_reset_email"  # noqa: S105
EMAIL_CHANGE_LINK_TASK = "penpress.accounts.send_email_change_link"
EMAIL_CHANGE_NOTICE_TASK = "penpress.accounts.send_email_change_notice"
APPROVAL_REQUEST_EMAIL_TASK = "penpress.accounts.send_approval_request_email"
ACCOUNT_APPROVED_EMAIL_TASK = "penpress.accounts.send_account_approved_email"


@functools.cache
def _dummy_hash() -> str:
    """Checked when the email is unknown, so a failed login takes as long either way."""
    return generate_password_hash("penpress-timing-equaliser")


# --- validation -------------------------------------------------------------------------


def normalize_email(email: str) -> str:
    """Validate an email address's syntax and return it in the form we store (lower case)."""
    refuse_nul(email=email)
    try:
        result = validate_email(email.strip(), check_deliverability=False)
    except EmailNotValidError as error:
        raise Invalid.field("email", str(error)) from None
    return result.normalized.lower()


def check_username(username: str) -> str:
    refuse_nul(username=username)
    username = username.strip()
    if not USERNAME_PATTERN.fullmatch(username):
        raise Invalid.field("username", f"Username must be {USERNAME_RULE}.")
    return username


def check_password(password: str, field: str = "password") -> str:
    refuse_nul(**{field: password})
    if not PASSWORD_MIN_LENGTH <= len(password) <= PASSWORD_MAX_LENGTH:
        raise Invalid.field(
            field,
            f"Password must be {PASSWORD_MIN_LENGTH} to {PASSWORD_MAX_LENGTH} characters long.",
        )
    return password


def check_image_url(url: str | None) -> str | None:
    refuse_nul(image_url=url)
    if not url or not url.strip():
        return None
    url = url.strip()
    if len(url) > IMAGE_URL_MAX_LENGTH or not re.match(r"^https?://[^\s/$.?#][^\s]*$", url):
        raise Invalid.field("image_url", "Image must be an http(s) URL.")
    return url


def check_bio(bio: str | None) -> str:
    refuse_nul(bio=bio)
    bio = (bio or "").strip()
    if len(bio) > BIO_MAX_LENGTH:
        raise Invalid.field("bio", f"Bio must be at most {BIO_MAX_LENGTH} characters.")
    return bio


def hash_password(password: str) -> str:
    return generate_password_hash(password)  # scrypt, Werkzeug's current default


# --- roles ------------------------------------------------------------------------------


def ensure_roles() -> None:
    """Create missing roles and bring their permissions up to date."""
    existing = {role.name: role for role in db.session.scalars(select(Role))}
    for name, permissions in ROLE_PERMISSIONS.items():
        role = existing.get(name)
        if role is None:
            db.session.add(Role(name=name, permissions=int(permissions)))
        else:
            role.permissions = int(permissions)
    db.session.flush()


def role_named(name: str) -> Role:
    """The role called ``name`` (created with the others if the table lags behind); 422 for
    a name that is not a role."""
    role = db.session.scalar(select(Role).where(Role.name == name))
    if role is None:
        if name not in ROLE_PERMISSIONS:
            raise Invalid.field("role", f"Unknown role {name!r}.")
        ensure_roles()
        role = db.session.scalar(select(Role).where(Role.name == name))
    assert role is not None
    return role


# --- users ------------------------------------------------------------------------------


def find_user_by_email(email: str) -> User | None:
    if "\x00" in email:
        return None  # no stored address has one, and PostgreSQL cannot even compare it
    return db.session.scalar(select(User).where(User.email == email.strip().lower()))


def get_user(viewer: User | None, username: str) -> User:
    """A user's public profile; a deactivated account only for administrators (404 else)."""
    user: User | None = db.session.scalar(select(User).where(User.username == username))
    if user is None or not (user.active or holds(viewer, Permission.ADMIN)):
        raise NotFound("No such user.")
    return user


def _check_unique(username: str | None, email: str | None, exclude: User | None = None) -> None:
    details: dict[str, list[str]] = {}
    if username is not None:
        stmt = select(User.id).where(func.lower(User.username) == username.lower())
        if exclude is not None:
            stmt = stmt.where(User.id != exclude.id)
        if db.session.scalar(stmt) is not None:
            details["username"] = ["That username is taken."]
    if email is not None:
        stmt = select(User.id).where(User.email == email)
        if exclude is not None:
            stmt = stmt.where(User.id != exclude.id)
        if db.session.scalar(stmt) is not None:
            details["email"] = ["That email is already registered."]
    if details:
        raise Conflict(" ".join(m for ms in details.values() for m in ms), details)


def register_user(
    username: str, email: str, password: str, *, bio: str = "", image_url: str | None = None
) -> User:
    """Sign up as the site's registration policy allows, with the default role; a
    confirmation email follows.

    ``open``: the account is ready. ``approval``: it is created inactive and waits for an
    administrator (``user.pending_approval``; the administrators are emailed). ``invite`` and
    ``closed``: 403 before anything is looked at (invitations go through
    :func:`penpress.accounts.invites.accept_invite`). 422 for invalid data, 409 when the
    username or email is taken.
    """
    refusal = registration_refusal()
    if refusal is not None:
        raise Forbidden(refusal)
    pending = registration_policy() == "approval"
    user = create_account(
        username,
        email,
        password,
        role=default_role(),
        bio=bio,
        image_url=image_url,
        pending_approval=pending,
    )
    if pending:
        jobs.enqueue(APPROVAL_REQUEST_EMAIL_TASK, user.id)
    return user


def registration_refusal() -> str | None:
    """Why the sign-up form takes no one right now (invite-only or closed), or ``None``."""
    return {"closed": REGISTRATION_CLOSED, "invite": REGISTRATION_BY_INVITE}.get(
        registration_policy()
    )


def create_account(
    username: str,
    email: str,
    password: str,
    *,
    role: str | None = None,
    bio: str = "",
    image_url: str | None = None,
    confirmed: bool = False,
    pending_approval: bool = False,
) -> User:
    """Trusted: create an account with any role (the CLI's create-admin, the demo seed, an
    accepted invitation); ``role`` defaults to the site's default role."""
    errors: dict[str, list[str]] = {}
    checked: dict[str, str] = {}
    for name, check, value in (
        ("username", check_username, username),
        ("email", normalize_email, email),
        ("password", check_password, password),
    ):
        try:
            checked[name] = check(value)
        except Invalid as error:
            errors.update(error.details)
    if errors:
        raise Invalid("Please correct the highlighted fields.", errors)
    _check_unique(checked["username"], checked["email"])
    user = User(
        username=checked["username"],
        email=checked["email"],
        password_hash=hash_password(password),
        bio=check_bio(bio),
        image_url=check_image_url(image_url),
        role=role_named(role or default_role()),
        active=not pending_approval,
        pending_approval=pending_approval,
        email_confirmed_at=utcnow() if confirmed else None,
    )
    db.session.add(user)
    db.session.flush()
    if not confirmed:
        jobs.enqueue(CONFIRMATION_EMAIL_TASK, user.id)  # sent once the account is committed
    return user


def _password_key(email: str) -> str:
    """Whose failure budget a password check spends: the address, as logins look it up."""
    return email.strip().lower()


def _password_matches(user: User | None, email: str, password: str) -> bool:
    """Check ``password`` against the account at ``email`` (``user``, or none), counting a
    failure in its :data:`PASSWORD_FAILURES` budget. Once the budget is spent nothing is
    checked and every answer, right or wrong, known address or not, is
    :class:`~penpress.errors.RateLimited`, so guessing from many addresses stops too."""
    key = _password_key(email)
    PASSWORD_FAILURES.check(key)
    if user is None:
        check_password_hash(_dummy_hash(), password)  # as slow as a real check
        matches = False
    else:
        matches = check_password_hash(user.password_hash, password)
    if not matches:
        PASSWORD_FAILURES.spend(key)
    return matches


def authenticate(email: str, password: str) -> User:
    """The active user with these credentials; the error never says which part was wrong.

    Failures count in the account's budget (:data:`PASSWORD_FAILURES`), whichever front door
    they come through.
    """
    user = find_user_by_email(email) if email else None
    if not _password_matches(user, email, password):
        raise Unauthorized(INVALID_LOGIN)
    assert user is not None
    if user.pending_approval:
        raise Forbidden(AWAITING_APPROVAL)
    if not user.active:
        raise Forbidden(DEACTIVATED)
    return user


def require_confirmed(actor: User | None, permission: Permission) -> User:
    """``actor`` if they hold ``permission`` and, when the site asks for it, have confirmed
    their email address (publishing, submitting for review and commenting need both)."""
    user = require(actor, permission)
    if user.email_confirmed_at is None and email_confirmation_required():
        raise Forbidden(CONFIRM_EMAIL_FIRST, {"email": [CONFIRM_EMAIL_FIRST]})
    return user


def must_confirm_email(viewer: User | None) -> bool:
    """Whether pages should tell ``viewer`` to confirm their address before publishing or
    commenting (the rule :func:`require_confirmed` enforces)."""
    return (
        viewer is not None and viewer.email_confirmed_at is None and email_confirmation_required()
    )


def update_profile(
    actor: User | None,
    user: User,
    *,
    username: str | None = None,
    bio: str | None = None,
    image_url: str | None = None,
    clear_image: bool = False,
    time_zone: str | None = None,
) -> User:
    """Change profile fields; only the user or an admin may. The email address is not one:
    it changes through :func:`request_email_change` and the link sent to the new address.

    ``time_zone`` is an IANA name (``Europe/Paris``); an empty one follows the site's default.
    """
    editor = _require_self_or_admin(actor, user)
    before = _profile(user)
    new_username = check_username(username) if username is not None else None
    new_zone = timezones.check_zone(time_zone) if time_zone and time_zone.strip() else None
    _check_unique(
        new_username if new_username and new_username != user.username else None,
        None,
        exclude=user,
    )
    if new_username is not None:
        user.username = new_username
    if bio is not None:
        user.bio = check_bio(bio)
    if clear_image:
        user.image_url = None
    elif image_url is not None:
        user.image_url = check_image_url(image_url)
    if time_zone is not None:
        user.time_zone = new_zone
    db.session.flush()
    if editor.id != user.id:  # an administrator changed someone else's profile
        changes = audit.changed(before, _profile(user))
        if changes:
            audit.record(editor, "user.update", _subject(user), changes=changes)
    page_cache.site_changed()  # names, bios and pictures show on public pages
    return user


def time_zone_of(user: User | None) -> str:
    """The IANA zone ``user`` types and reads times in: their own choice, else the site's."""
    if user is not None and user.time_zone and timezones.is_known(user.time_zone):
        return user.time_zone
    return default_time_zone()


def _profile(user: User) -> dict[str, str | None]:
    return {
        "username": user.username,
        "bio": user.bio,
        "image_url": user.image_url,
        "time_zone": user.time_zone,
    }


def _subject(user: User) -> audit.Subject:
    return audit.Subject("user", user.id, user.username)


def _require_self_or_admin(actor: User | None, user: User) -> User:
    actor = require(actor, Permission.COMMENT)
    if actor.id != user.id:
        require(actor, Permission.ADMIN)
    return actor


def _prove_password(user: User, current_password: str | None, purpose: str) -> None:
    """:class:`Invalid` unless ``current_password`` is ``user``'s (a failure is counted)."""
    if not current_password:
        raise Invalid.field("current_password", f"Enter your current password to {purpose}.")
    refuse_nul(current_password=current_password)
    if not _password_matches(user, user.email, current_password):
        raise Invalid.field("current_password", WRONG_PASSWORD)


def change_password(actor: User | None, current_password: str, new_password: str) -> None:
    """Change your own password, proving it with the current one; every login ends."""
    actor = require(actor, Permission.COMMENT)
    _prove_password(actor, current_password, "change your password")
    _set_password(actor, new_password)


def request_email_change(
    actor: User | None, new_email: str, current_password: str | None = None
) -> bool:
    """Ask to move your account to ``new_email``, proving it with your current password.

    Nothing changes until the link emailed to the new address is followed
    (:func:`penpress.accounts.recovery.change_email_with_token`); the old address is told.
    False (and no password needed) when ``new_email`` is the current address already.
    """
    actor = require(actor, Permission.COMMENT)
    address = normalize_email(new_email)
    if address == actor.email:
        return False
    _prove_password(actor, current_password, "change your email address")
    _start_email_change(actor, address)
    return True


def change_login_after_fresh_login(
    actor: User | None,
    login_secret: str,
    *,
    email: str | None = None,
    password: str | None = None,
) -> None:
    """Change your own email address and/or password from a client that holds only a token
    (Conduit, which has no "current password"): the login behind the token must be less than
    :data:`FRESH_LOGIN` old, so a copied old token cannot take the account over.

    A new password ends every login; a new address takes effect only through the link sent to
    it (as :func:`request_email_change`). Sending the current address changes nothing and
    needs no fresh login (Conduit front ends send it with every settings form).
    """
    actor = require(actor, Permission.COMMENT)
    address = normalize_email(email) if email is not None else None
    if address == actor.email:
        address = None
    if address is None and not password:
        return
    if password:
        check_password(password)
    login = sessions.find_session(login_secret)
    if login is None or login.user_id != actor.id:
        raise Unauthorized()
    if utcnow() - login.created_at > FRESH_LOGIN:
        raise Unauthorized(STALE_LOGIN)
    if password:
        _set_password(actor, password)  # first: it cancels pending address changes
    if address is not None:
        _start_email_change(actor, address)


def _start_email_change(user: User, address: str) -> None:
    """Record ``address`` as ``user``'s pending one and email both addresses."""
    _check_unique(None, address, exclude=user)
    EMAIL_CHANGES.spend(f"user:{user.id}")
    user.pending_email = address
    user.pending_email_nonce = secrets.token_urlsafe(16)  # links to earlier requests die
    db.session.flush()
    jobs.enqueue(EMAIL_CHANGE_LINK_TASK, user.id)
    # The old address hears of it at once, with no link that could take the account over.
    jobs.enqueue(EMAIL_CHANGE_NOTICE_TASK, user.id, user.email, address)


def apply_email_change(user: User) -> User:
    """Trusted: make ``user``'s pending address their address, after the link sent to it was
    followed (which also confirms it). 409 if another account has taken it meanwhile."""
    address = user.pending_email
    if address is None:
        raise Invalid.field("token", "There is no address change to confirm.")
    _check_unique(None, address, exclude=user)
    user.email = address
    user.email_confirmed_at = utcnow()
    user.pending_email = None
    user.pending_email_nonce = None
    db.session.flush()
    return user


def reset_password(user: User, new_password: str) -> None:
    """Trusted: set a new password for ``user`` after a verified reset link; the account's
    budget of failed passwords is full again."""
    _set_password(user, new_password)
    PASSWORD_FAILURES.clear(_password_key(user.email))


def _set_password(user: User, new_password: str) -> None:
    check_password(new_password)
    user.password_hash = hash_password(new_password)
    # A pending address change dies too: its link, even one not sent yet, must not outlive
    # the password it was asked for with.
    user.pending_email = None
    user.pending_email_nonce = None
    sessions.end_all_sessions(user)  # copied cookies and outstanding tokens die with it
    db.session.flush()


def _admin_role_ids() -> list[int]:
    return [role.id for role in db.session.scalars(select(Role)) if role.has(Permission.ADMIN)]


def _keep_an_admin(user: User) -> None:
    """Refuse to take the last active administrator away (by role, deactivation or deletion).

    The other active administrators' rows are locked (``FOR UPDATE`` on PostgreSQL; SQLite
    writes one transaction at a time), so two administrators demoting each other at the same
    moment cannot both succeed.
    """
    if not (user.active and user.role.has(Permission.ADMIN)):
        return
    others = db.session.scalars(
        select(User.id)
        .where(
            User.active.is_(True),
            User.role_id.in_(_admin_role_ids()),
            User.id != user.id,
        )
        .with_for_update()
    ).all()
    if not others:
        raise Forbidden(LAST_ADMIN)


def set_role(actor: User | None, user: User, role_name: str) -> User:
    """Give an account another role (administrators); never away from the last active admin."""
    admin = require(actor, Permission.ADMIN)
    role = role_named(role_name)
    if not role.has(Permission.ADMIN):
        _keep_an_admin(user)
    before = user.role.name
    user.role = role
    db.session.flush()
    if before != role.name:
        audit.record(admin, "user.role", _subject(user), changes={"role": (before, role.name)})
    return user


def set_active(actor: User | None, user: User, active: bool) -> User:
    """Deactivate an account (its logins end at once) or reactivate it (administrators).

    The last active administrator cannot be deactivated. Activating an account that waits for
    approval approves it.
    """
    admin = require(actor, Permission.ADMIN)
    if active and user.pending_approval:
        return approve_user(actor, user)
    if not active:
        _keep_an_admin(user)
    before = user.active
    user.active = active
    if not active:
        sessions.end_all_sessions(user)
    db.session.flush()
    if before != active:
        action = "user.reactivate" if active else "user.deactivate"
        audit.record(admin, action, _subject(user), changes={"active": (before, active)})
    page_cache.site_changed()
    return user


def approve_user(actor: User | None, user: User) -> User:
    """Let an account that signed up while the site asked for approval in (administrators);
    it is emailed that it may log in. 409 for an account that is not waiting."""
    admin = require(actor, Permission.ADMIN)
    if not user.pending_approval:
        raise Conflict(f"{user.username} is not waiting for approval.")
    user.pending_approval = False
    user.active = True
    db.session.flush()
    audit.record(admin, "user.approve", _subject(user), changes={"active": (False, True)})
    jobs.enqueue(ACCOUNT_APPROVED_EMAIL_TASK, user.id)
    return user


def reject_user(actor: User | None, user: User) -> None:
    """Turn down an account waiting for approval: it is deleted (administrators). 409 for an
    account that is not waiting (deactivate or delete those instead)."""
    admin = require(actor, Permission.ADMIN)
    if not user.pending_approval:
        raise Conflict(f"{user.username} is not waiting for approval.")
    audit.record(admin, "user.reject", _subject(user), details={"email": user.email})
    db.session.delete(user)
    db.session.flush()


def pending_users(actor: User | None, limit: int = 100) -> Sequence[User]:
    """Accounts waiting for approval, oldest first (administrators)."""
    require(actor, Permission.ADMIN)
    stmt = (
        select(User)
        .where(User.pending_approval.is_(True))
        .order_by(User.created_at, User.id)
        .limit(max(limit, 0))
    )
    return db.session.scalars(stmt).all()


def approval_request_to_send(user_id: int) -> tuple[User, list[User]] | None:
    """Trusted (a background job): the account waiting for approval and the active
    administrators to tell about it, or ``None`` when it is no longer waiting."""
    user = db.session.get(User, user_id)
    if user is None or not user.pending_approval:
        return None
    admins = db.session.scalars(
        select(User)
        .where(User.active.is_(True), User.role_id.in_(_admin_role_ids()))
        .order_by(User.id)
    ).all()
    return user, list(admins)


def approval_to_announce(user_id: int) -> User | None:
    """Trusted (a background job): the approved account to email, if still active."""
    user = db.session.get(User, user_id)
    if user is None or not user.active or user.pending_approval:
        return None
    return user


def admin_update_user(
    actor: User | None,
    user: User,
    *,
    role: str | None = None,
    active: bool | None = None,
    bio: str | None = None,
) -> User:
    """An administrator changes another account's role, active flag or bio in one step."""
    require(actor, Permission.ADMIN)
    if role is not None:
        set_role(actor, user, role)
    if active is not None:
        set_active(actor, user, active)
    if bio is not None:
        update_profile(actor, user, bio=bio)
    return user


def delete_user(actor: User | None, user: User, *, posts_reassigned_to: str | None = None) -> None:
    """Delete an account and everything it wrote (administrators); never one's own here, nor
    the last active administrator."""
    actor = require(actor, Permission.ADMIN)
    if user.id == actor.id:
        raise Forbidden("Admins cannot delete their own account here.")
    _keep_an_admin(user)
    audit.record(
        actor,
        "user.delete",
        _subject(user),
        details={
            "email": user.email,
            "role": user.role.name,
            "posts": f"reassigned to {posts_reassigned_to}" if posts_reassigned_to else "deleted",
        },
    )
    user_deleting.send(user)  # features whose counters count the account's rows react
    # Its follows go by cascade: the accounts on their other end count one fewer.
    for column, side, other in (
        (User.followers_count, Follow.followed_id, Follow.follower_id),
        (User.following_count, Follow.follower_id, Follow.followed_id),
    ):
        db.session.execute(
            update(User)
            .where(User.id.in_(select(side).where(other == user.id)))
            .values({column: column - 1}),
            execution_options={"synchronize_session": False},
        )
    page_cache.site_changed()
    db.session.delete(user)
    db.session.flush()


def mark_email_confirmed(user: User) -> None:
    """Trusted: ``user`` proved they read mail at their address (a confirmation or reset link)."""
    if user.email_confirmed_at is None:
        user.email_confirmed_at = utcnow()
        db.session.flush()


def list_users(
    viewer: User | None,
    page: int,
    per_page: int,
    *,
    include_inactive: bool = False,
    q: str | None = None,
) -> Pagination:
    """Accounts by username; deactivated ones only for administrators, who may also search
    by words of the username or address (``q``)."""
    if include_inactive:
        require(viewer, Permission.ADMIN)
    stmt = select(User).order_by(User.username)
    if q and q.strip() and include_inactive:
        words = q.strip()
        stmt = stmt.where(
            User.username.icontains(words, autoescape=True)
            | User.email.icontains(words, autoescape=True)
        )
    if not include_inactive:
        stmt = stmt.where(User.active.is_(True))
    return paginate(stmt, page, per_page)


# --- follows ----------------------------------------------------------------------------


def follow(actor: User | None, user: User) -> None:
    """Follow ``user``: their posts appear in the actor's feed (again changes nothing)."""
    actor = require(actor, Permission.COMMENT)
    if actor.id == user.id:
        raise Invalid.field("username", "You cannot follow yourself.")
    if not is_following(actor, user):
        db.session.add(Follow(follower_id=actor.id, followed_id=user.id))
        db.session.flush()
        _follows_changed(actor.id, user.id, 1)


def unfollow(actor: User | None, user: User) -> None:
    """Stop following ``user`` (not following is fine)."""
    actor = require(actor, Permission.COMMENT)
    result: CursorResult[Any] = db.session.execute(  # type: ignore[assignment]
        delete(Follow).where(Follow.follower_id == actor.id, Follow.followed_id == user.id)
    )
    if result.rowcount:
        _follows_changed(actor.id, user.id, -1)


def _follows_changed(follower_id: int, followed_id: int, delta: int) -> None:
    """Keep both accounts' follow counters, and the follower's cached feeds, in step (in this
    transaction)."""
    for user_id, column in (
        (follower_id, User.following_count),
        (followed_id, User.followers_count),
    ):
        db.session.execute(
            update(User).where(User.id == user_id).values({column: column + delta}),
            execution_options={"synchronize_session": False},
        )
    for user_id in (follower_id, followed_id):
        loaded = db.session.identity_map.get(db.session.identity_key(User, user_id))
        if loaded is not None:
            db.session.expire(loaded, ["followers_count", "following_count"])
    page_cache.reader_changed(follower_id)  # their feeds list other authors now


def is_following(viewer: User | None, user: User) -> bool:
    return user.id in followed_ids(viewer, [user.id])


def followed_ids(viewer: User | int | None, user_ids: Iterable[int]) -> set[int]:
    """Which of ``user_ids`` the viewer (a user, or the id of one whose token was checked
    without loading them) follows, in one query (none for anonymous visitors)."""
    ids = set(user_ids)
    if viewer is None or not ids:
        return set()  # no query, and no connection taken for one
    with unit_of_work.request_reads() as connection:
        return _FOLLOWED(connection, viewer if isinstance(viewer, int) else viewer.id, ids)


# Every page of articles a Conduit caller reads runs it. (follow() flushes a new follow at
# once, so request_reads sees it.)
_FOLLOWED = PairedIds(Follow.follower_id, Follow.followed_id)


def follower_count(user: User) -> int:
    """How many follow ``user`` (a counter kept by :func:`follow` and :func:`unfollow`)."""
    return user.followers_count


def following_count(user: User) -> int:
    """How many ``user`` follows (a counter, like :func:`follower_count`)."""
    return user.following_count
