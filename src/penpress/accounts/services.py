"""Account rules shared by the site, both APIs and background tasks.

Functions take plain values and the acting user, ``flush()`` but never commit, and raise the
domain errors of :mod:`penpress.errors`.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Iterable
from datetime import datetime, timedelta

from email_validator import EmailNotValidError, validate_email
from flask_sqlalchemy.pagination import Pagination
from sqlalchemy import delete, func, select
from werkzeug.security import check_password_hash, generate_password_hash

from penpress.accounts import tasks
from penpress.accounts.models import (
    DEFAULT_ROLE,
    ROLE_PERMISSIONS,
    Follow,
    Permission,
    Role,
    SessionKind,
    User,
    UserSession,
)
from penpress.database import paginate, utcnow
from penpress.errors import Conflict, Forbidden, Invalid, NotFound, Unauthorized, refuse_nul
from penpress.extensions import db

USERNAME_PATTERN = re.compile(r"^[A-Za-z0-9_.-]{3,32}$")
USERNAME_RULE = "3 to 32 letters, digits, dots, dashes or underscores"
PASSWORD_MIN_LENGTH = 8
PASSWORD_MAX_LENGTH = 128
BIO_MAX_LENGTH = 2000
IMAGE_URL_MAX_LENGTH = 500
INVALID_LOGIN = "Invalid email or password."

# Verified against when the email is unknown so that a failed login takes as long either way.
_DUMMY_HASH = generate_password_hash("penpress-timing-equaliser")


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


def get_role(name: str) -> Role:
    role = db.session.scalar(select(Role).where(Role.name == name))
    if role is None:
        if name not in ROLE_PERMISSIONS:
            raise Invalid.field("role", f"Unknown role {name!r}.")
        ensure_roles()
        role = db.session.scalar(select(Role).where(Role.name == name))
    assert role is not None
    return role


def require(actor: User | None, permission: Permission) -> User:
    """Return ``actor`` if it is a logged-in, active user holding ``permission``."""
    if actor is None or not actor.is_authenticated:
        raise Unauthorized()
    if not actor.active or not actor.can(permission):
        raise Forbidden()
    return actor


# --- users ------------------------------------------------------------------------------


def find_user_by_email(email: str) -> User | None:
    if "\x00" in email:
        return None  # no stored address has one, and PostgreSQL cannot even compare it
    return db.session.scalar(select(User).where(User.email == email.strip().lower()))


def get_user(username: str) -> User:
    user: User | None = db.session.scalar(select(User).where(User.username == username))
    if user is None:
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
    username: str,
    email: str,
    password: str,
    *,
    role: str = DEFAULT_ROLE,
    bio: str = "",
    image_url: str | None = None,
    confirmed: bool = False,
) -> User:
    """Create an account; 422 for invalid data, 409 when the username or email is taken."""
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
        role=get_role(role),
        active=True,
        email_confirmed_at=utcnow() if confirmed else None,
    )
    db.session.add(user)
    db.session.flush()
    if not confirmed:
        tasks.queue_confirmation_email(user)  # sent once the new account is committed
    return user


def authenticate(email: str, password: str) -> User:
    """The active user with these credentials; the error never says which part was wrong."""
    user = find_user_by_email(email) if email else None
    if user is None:
        check_password_hash(_DUMMY_HASH, password)
        raise Unauthorized(INVALID_LOGIN)
    if not check_password_hash(user.password_hash, password):
        raise Unauthorized(INVALID_LOGIN)
    if not user.active:
        raise Forbidden("This account has been deactivated.")
    return user


def update_profile(
    user: User,
    actor: User,
    *,
    username: str | None = None,
    email: str | None = None,
    bio: str | None = None,
    image_url: str | None = None,
    clear_image: bool = False,
) -> User:
    """Change profile fields; only the user or an admin may."""
    if actor.id != user.id:
        require(actor, Permission.ADMIN)
    new_username = check_username(username) if username is not None else None
    new_email = normalize_email(email) if email is not None else None
    _check_unique(
        new_username if new_username and new_username != user.username else None,
        new_email if new_email and new_email != user.email else None,
        exclude=user,
    )
    if new_username is not None:
        user.username = new_username
    if new_email is not None and new_email != user.email:
        user.email = new_email
        user.email_confirmed_at = None
        tasks.queue_confirmation_email(user)  # the new address needs confirming too
    if bio is not None:
        user.bio = check_bio(bio)
    if clear_image:
        user.image_url = None
    elif image_url is not None:
        user.image_url = check_image_url(image_url)
    db.session.flush()
    return user


def change_password(user: User, current_password: str | None, new_password: str) -> None:
    """Set a new password and end every login of the user, so copied cookies and tokens die.

    ``current_password`` must be given unless an administrator or a reset link vouches.
    """
    if current_password is not None and not check_password_hash(
        user.password_hash, current_password
    ):
        raise Invalid.field("current_password", "Your current password is not correct.")
    check_password(new_password)
    user.password_hash = hash_password(new_password)
    end_all_sessions(user)
    db.session.flush()


def set_role(user: User, role_name: str, actor: User) -> User:
    require(actor, Permission.ADMIN)
    if user.id == actor.id and role_name != "admin":
        raise Forbidden("Admins cannot remove their own admin role.")
    user.role = get_role(role_name)
    db.session.flush()
    return user


def set_active(user: User, active: bool, actor: User) -> User:
    require(actor, Permission.ADMIN)
    if user.id == actor.id and not active:
        raise Forbidden("Admins cannot deactivate themselves.")
    user.active = active
    if not active:
        end_all_sessions(user)
    db.session.flush()
    return user


def admin_update_user(
    user: User,
    actor: User,
    *,
    role: str | None = None,
    active: bool | None = None,
    bio: str | None = None,
) -> User:
    """An administrator changes another account's role, active flag or bio in one step."""
    require(actor, Permission.ADMIN)
    if role is not None:
        set_role(user, role, actor)
    if active is not None:
        set_active(user, active, actor)
    if bio is not None:
        update_profile(user, actor, bio=bio)
    return user


def delete_user(user: User, actor: User) -> None:
    require(actor, Permission.ADMIN)
    if user.id == actor.id:
        raise Forbidden("Admins cannot delete their own account here.")
    db.session.delete(user)
    db.session.flush()


def confirm_email(user: User) -> None:
    if user.email_confirmed_at is None:
        user.email_confirmed_at = utcnow()
        db.session.flush()


def list_users(page: int, per_page: int, *, include_inactive: bool = False) -> Pagination:
    """Accounts by username; deactivated ones only when asked (the admin's user list)."""
    stmt = select(User).order_by(User.username)
    if not include_inactive:
        stmt = stmt.where(User.active.is_(True))
    return paginate(stmt, page, per_page)


# --- follows ----------------------------------------------------------------------------


def follow(actor: User, user: User) -> None:
    if actor.id == user.id:
        raise Invalid.field("username", "You cannot follow yourself.")
    if not is_following(actor, user):
        db.session.add(Follow(follower_id=actor.id, followed_id=user.id))
        db.session.flush()


def unfollow(actor: User, user: User) -> None:
    db.session.execute(
        delete(Follow).where(Follow.follower_id == actor.id, Follow.followed_id == user.id)
    )


def is_following(actor: User | None, user: User) -> bool:
    if actor is None or not actor.is_authenticated:
        return False
    return user.id in followed_ids(actor, [user.id])


def followed_ids(actor: User | None, user_ids: Iterable[int]) -> set[int]:
    """Which of ``user_ids`` the actor follows, in one query."""
    ids = set(user_ids)
    if actor is None or not actor.is_authenticated or not ids:
        return set()
    stmt = select(Follow.followed_id).where(
        Follow.follower_id == actor.id, Follow.followed_id.in_(ids)
    )
    return set(db.session.scalars(stmt))


def follower_count(user: User) -> int:
    return db.session.scalar(select(func.count()).where(Follow.followed_id == user.id)) or 0


def following_count(user: User) -> int:
    return db.session.scalar(select(func.count()).where(Follow.follower_id == user.id)) or 0


# --- login sessions -------------------------------------------------------------------------


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
    if not secret or len(secret) > 128:
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
    db.session.execute(delete(UserSession).where(UserSession.user_id == user.id))


def purge_expired_sessions(now: datetime | None = None) -> int:
    result = db.session.execute(
        delete(UserSession).where(UserSession.expires_at <= (now or utcnow()))
    )
    return int(getattr(result, "rowcount", 0) or 0)
