"""Users, roles with permissions, invitations, follows and server-side login sessions."""

from __future__ import annotations

import enum
from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from penpress.database import Base, UTCDateTime, created_at, int_pk, utcnow
from penpress.permissions import ROLE_PERMISSIONS, Permission

__all__ = [
    "ROLE_PERMISSIONS",
    "Follow",
    "Invite",
    "Permission",
    "Role",
    "SessionKind",
    "User",
    "UserSession",
]


class Role(Base):
    __tablename__ = "roles"

    id: Mapped[int_pk]
    name: Mapped[str] = mapped_column(String(32), unique=True)
    permissions: Mapped[int] = mapped_column(Integer, default=0)

    def has(self, permission: Permission) -> bool:
        """Whether the role holds ``permission`` (every flag of it, when several)."""
        return self.permissions & permission == permission

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
    # Signed up while the site asked for approval: inactive (so it can neither log in nor act)
    # until an administrator approves it, which is what tells it apart from a deactivated one.
    pending_approval: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
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
    # Published posts by this user that have gone live (not the scheduled ones): kept by the
    # blog's services in the transaction that publishes, unpublishes or deletes one, or marks
    # it live (the went-live step), so an author's page needs no count.
    post_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # Kept by follow/unfollow and account deletion, so an author's page needs no count.
    followers_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    following_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

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

    @property
    def is_editor(self) -> bool:
        """May edit and publish anyone's posts (and so work the review queue)."""
        return self.can(Permission.EDIT_ANY_POST)

    @property
    def can_write(self) -> bool:
        return self.can(Permission.WRITE)

    @property
    def can_publish(self) -> bool:
        return self.can(Permission.PUBLISH)

    @property
    def can_invite(self) -> bool:
        return self.can(Permission.INVITE)

    @property
    def can_manage_tags(self) -> bool:
        return self.can(Permission.MANAGE_TAGS)

    @property
    def email_confirmed(self) -> bool:
        return self.email_confirmed_at is not None

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


class Invite(Base):
    """An invitation for one email address to join with a role, through a single-use link.

    The link carries a token signed with ``SECRET_KEY`` naming the invite and its ``nonce``;
    whether it may still be used (not accepted, revoked or expired) is this row's state.
    """

    __tablename__ = "invites"

    id: Mapped[int_pk]
    email: Mapped[str] = mapped_column(String(254), index=True)
    role_id: Mapped[int] = mapped_column(ForeignKey("roles.id"))
    nonce: Mapped[str] = mapped_column(String(32))
    invited_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    created_at: Mapped[created_at]
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    role: Mapped[Role] = relationship(lazy="joined", innerjoin=True)
    invited_by: Mapped[User | None] = relationship(foreign_keys=[invited_by_id], lazy="joined")

    __table_args__ = (Index("ix_invites_accepted_at_revoked_at", "accepted_at", "revoked_at"),)

    def is_pending(self, now: datetime) -> bool:
        """Still usable: not accepted, not revoked, not expired."""
        return self.accepted_at is None and self.revoked_at is None and self.expires_at > now

    def __repr__(self) -> str:
        return f"<Invite {self.email} as {self.role.name}>"


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
