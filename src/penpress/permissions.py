"""What an acting user may do: permission flags and the one check every service makes.

Core, so that any package (settings, accounts, blog ...) can check an actor without importing
the accounts package; :class:`penpress.accounts.models.User` satisfies :class:`Actor`.
"""

from __future__ import annotations

import enum
from typing import Protocol, TypeVar

from penpress.errors import Forbidden, Unauthorized


class Permission(enum.IntFlag):
    """What a role allows; stored as a bit mask on the role."""

    COMMENT = 1
    WRITE = 2
    MODERATE = 4
    ADMIN = 8


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
