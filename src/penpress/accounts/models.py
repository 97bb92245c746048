"""Users, roles with permissions, follows and server-side login sessions."""

from __future__ import annotations

import enum
from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from penpress.database import Base, UTCDateTime, created_at, int_pk, utcnow
from penpress.permissions import Permission

__all__ = ["Follow", "Permission", "Role", "SessionKind", "User", "UserSession"]


# The roles every installation has; new accounts get the default one.
ROLE_PERMISSIONS: dict[str, Permission] = {
    "reader": Permission.COMMENT,
    "author": Permission.COMMENT | Permission.WRITE,
    "moderator": Permission.COMMENT | Permission.WRITE | Permission.MODERATE,
    "admin": Permission.COMMENT | Permission.WRITE | Permission.MODERATE | Permission.ADMIN,
}
DEFAULT_ROLE = "author"


class Role(Base):
    __tablename__ = "roles"

    id: Mapped[int_pk]
    name: Mapped[str] = mapped_column(String(32), unique=True)
    permissions: Mapped[int] = mapped_column(Integer, default=0)

    def has(self, permission: Permission) -> bool:
        return bool(self.permissions & permission)

    def __repr__(self) -> str:
        return f"<Role {self.name}>"


class User(UserMixin, Base):
    __tablename__ = "users"

    id: Mapped[int_pk]
    username: Mapped[str] = mapped_column(String(64), unique=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    bio: Mapped[str] = mapped_column(Text, default="")
    image_url: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[created_at]
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    email_confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # An address change waiting for the link sent to the new address; until it is followed,
    # ``email`` (the old address) is the one that logs in. The nonce names the request, so a
    # link dies when a newer change is asked for.
    pending_email: Mapped[str | None] = mapped_column(String(254))
    pending_email_nonce: Mapped[str | None] = mapped_column(String(32))
    role_id: Mapped[int] = mapped_column(ForeignKey("roles.id"), index=True)
    # An IANA zone name (``Europe/Paris``) in which this user types and reads times; None
    # follows the site's default (``settings.services.default_time_zone``).
    time_zone: Mapped[str | None] = mapped_column(String(64))

    role: Mapped[Role] = relationship(lazy="joined", innerjoin=True)

    # Flask-Login reads ``is_active``; the column is ``active``.
    @property
    def is_active(self) -> bool:
        return self.active

    def get_id(self) -> str:
        """Flask-Login's id: the login session's secret, so ending the session logs out."""
        secret = self.__dict__.get("login_secret")
        if not isinstance(secret, str):
            raise AttributeError("user has no login session; use penpress.accounts.auth.log_in")
        return secret

    def can(self, permission: Permission) -> bool:
        return self.role.has(permission)

    @property
    def is_admin(self) -> bool:
        return self.can(Permission.ADMIN)

    @property
    def is_moderator(self) -> bool:
        return self.can(Permission.MODERATE)

    def __repr__(self) -> str:
        return f"<User {self.username}>"


class Follow(Base):
    """``follower`` follows ``followed``."""

    __tablename__ = "follows"

    follower_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    followed_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    created_at: Mapped[created_at]


class SessionKind(enum.StrEnum):
    WEB = "web"
    API = "api"
    REALWORLD = "realworld"


class UserSession(Base):
    """One login: a browser session or a family of API tokens.

    Its id is a random secret kept only as a SHA-256 hash; the browser cookie or the token's
    ``sid`` claim carries the secret. Deleting the row ends the login everywhere at once, which
    is how logout and password changes revoke copied cookies and outstanding tokens.
    """

    __tablename__ = "user_sessions"

    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[created_at]
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # The refresh token that may be used next; any other refresh token of this family is a
    # replay and ends the session (rotation with reuse detection).
    refresh_jti: Mapped[str | None] = mapped_column(String(64))
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    user: Mapped[User] = relationship(lazy="joined", innerjoin=True)

    __table_args__ = (Index("ix_user_sessions_expires_at", "expires_at"),)
