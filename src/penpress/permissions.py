"""What an acting user may do: permission flags, the role table and the one check every
service makes.

Core, so that any package (settings, accounts, blog ...) can check an actor, or name a role,
without importing the accounts package; :class:`penpress.accounts.models.User` satisfies
:class:`Actor`.
"""

from __future__ import annotations

import enum
from typing import Protocol, TypeVar

from penpress.errors import Forbidden, Unauthorized


class Permission(enum.IntFlag):
    """What a role allows; stored as a bit mask on the role.

    A check for several flags at once (``PUBLISH | EDIT_ANY_POST``) needs all of them.
    """

    COMMENT = 1  # comment, follow, favorite
    WRITE = 2  # write drafts (and submit them for review)
    MODERATE = 4  # approve and delete anyone's comments
    ADMIN = 8  # users, roles, site settings, everything below
    PUBLISH = 16  # make one's own posts visible to readers
    EDIT_ANY_POST = 32  # change, publish, delete anyone's posts; the review queue
    MANAGE_TAGS = 64  # rename and delete tags
    INVITE = 128  # invite people by email (with a role below one's own)


EVERYTHING = Permission(sum(Permission))

# The roles every installation has, from the least to the most trusted;
# ``accounts.services.ensure_roles`` keeps the table in the database equal to this.
ROLE_PERMISSIONS: dict[str, Permission] = {
    "reader": Permission.COMMENT,
    "contributor": Permission.COMMENT | Permission.WRITE,
    "author": Permission.COMMENT | Permission.WRITE | Permission.PUBLISH,
    "moderator": Permission.COMMENT | Permission.WRITE | Permission.PUBLISH | Permission.MODERATE,
    "editor": Permission.COMMENT
    | Permission.WRITE
    | Permission.PUBLISH
    | Permission.MODERATE
    | Permission.EDIT_ANY_POST
    | Permission.MANAGE_TAGS
    | Permission.INVITE,
    "admin": EVERYTHING,
}
ROLE_NAMES = tuple(ROLE_PERMISSIONS)


def may_grant(granter: Permission, role: str) -> bool:
    """Whether someone holding ``granter`` may hand out ``role`` (by invite).

    Administrators may grant any role; anyone else only roles whose permissions are a strict
    subset of their own (an editor may invite an author or a moderator, never an editor).
    """
    wanted = ROLE_PERMISSIONS.get(role)
    if wanted is None:
        return False
    if Permission.ADMIN in granter:
        return True
    return wanted & granter == wanted and wanted != granter


class Actor(Protocol):
    """A signed-in user as the permission checks see it."""

    @property
    def id(self) -> int: ...

    @property
    def active(self) -> bool: ...

    def can(self, permission: Permission) -> bool: ...


A = TypeVar("A", bound=Actor)


def require(actor: A | None, permission: Permission) -> A:
    """``actor`` if it is an active user holding ``permission``; else the domain error.

    ``None`` is the anonymous visitor of every front door: 401. A deactivated account or one
    without the permission: 403.
    """
    if actor is None:
        raise Unauthorized()
    if not actor.active or not actor.can(permission):
        raise Forbidden()
    return actor


def holds(actor: Actor | None, permission: Permission) -> bool:
    """Whether ``actor`` is an active user holding ``permission`` (never raises)."""
    return actor is not None and actor.active and actor.can(permission)
