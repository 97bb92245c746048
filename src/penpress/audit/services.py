"""Recording and reading the audit log.

Services call :func:`record` in the transaction of the change they make, so an entry exists
exactly when the change was committed, whichever front door (site, ``/api/v1``, Conduit, the
command line, a job) asked for it. What is recorded: every action of an administrator, editor
or moderator on others' things (role and account changes, reviews, moderation, tags; a bulk
action is an entry per object), invitations and site settings; never what users do with their
own content.

The log is append-only: there is no function here that changes or removes an entry, and
:func:`install_guards` makes the ORM refuse to update or delete one (on PostgreSQL a trigger
refuses it in the database as well).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Protocol

import click
from flask import has_request_context, request
from sqlalchemy import event, literal, select, tuple_
from sqlalchemy.orm import ORMExecuteState, Session

from penpress.audit.models import AuditEntry
from penpress.database import UTCDateTime, utcnow
from penpress.errors import Invalid
from penpress.extensions import db
from penpress.keyset import Position
from penpress.permissions import Actor, Permission, require
from penpress.ratelimits import client_address

# Every action the log knows, with how the console names it. ``record`` refuses any other name,
# so the console's filter always lists every action there can be.
ACTIONS: dict[str, str] = {
    "user.update": "Profile changed by an administrator",
    "user.role": "Role changed",
    "user.deactivate": "Account deactivated",
    "user.reactivate": "Account reactivated",
    "user.approve": "Account approved",
    "user.reject": "Account turned down",
    "user.delete": "Account deleted",
    "user.password_reset": "Password reset link sent",
    "invite.create": "Invitation sent",
    "invite.revoke": "Invitation withdrawn",
    "post.update": "Post changed by an editor",
    "post.publish": "Post published by an editor",
    "post.unpublish": "Post unpublished by an editor",
    "post.delete": "Post deleted by an editor",
    "review.publish": "Submission published",
    "review.return": "Submission sent back",
    "review.reject": "Submission rejected",
    "comment.approve": "Comment approved",
    "comment.delete": "Comment deleted by a moderator",
    "comment.spam": "Comment marked as spam",
    "comment.not_spam": "Comment restored from spam",
    "tag.rename": "Tag renamed",
    "tag.merge": "Tag merged into another",
    "tag.delete": "Tag deleted",
    "setting.change": "Site setting changed",
    "subscriber.resume": "Newsletter address resumed",
    "subscriber.unsubscribe": "Newsletter address unsubscribed by an administrator",
    "subscriber.remove": "Newsletter address erased",
    "subscriber.import": "Newsletter addresses imported",
    "newsletter.send": "Someone else's post emailed to subscribers",
    "transfer.export": "Site export started",
    "transfer.download": "Site export downloaded",
    "transfer.import": "Site import started",
    "transfer.abandon": "Stalled export or import marked as failed",
}
OBJECT_TYPES = ("user", "invite", "post", "comment", "tag", "setting", "subscriber", "transfer")
SOURCES = ("site", "api", "conduit", "cli", "job")
VALUE_MAX_LENGTH = 300  # longer text (a post's body) is kept as its first characters
PER_PAGE = 50
APPEND_ONLY = "The audit log is append-only: its entries cannot be changed or deleted."


class Named(Actor, Protocol):
    """An acting user as the log names them."""

    @property
    def username(self) -> str: ...


@dataclass(frozen=True)
class Subject:
    """What an action was done to: its kind (one of :data:`OBJECT_TYPES`), its id and its name
    at the time (kept, since the object may be renamed or deleted later)."""

    type: str
    id: int | str | None
    label: str | None = None


def record(
    actor: Named | None,
    action: str,
    subject: Subject,
    *,
    changes: Mapping[str, Sequence[Any]] | None = None,
    details: Mapping[str, Any] | None = None,
) -> AuditEntry:
    """Trusted (the services, after their own checks): add an entry for ``action``, done by
    ``actor`` (``None``: the command line or a job) to ``subject``, in this transaction.

    ``changes`` maps each changed field to ``(before, after)``; ``details`` holds other facts
    (the posts of a deleted account went to whom, the ids of a bulk action...). Values are
    stored as JSON; long text is clipped to :data:`VALUE_MAX_LENGTH` characters.
    """
    if action not in ACTIONS:
        raise ValueError(f"unknown audit action {action!r}: add it to audit.services.ACTIONS")
    if subject.type not in OBJECT_TYPES:
        raise ValueError(f"unknown audit object type {subject.type!r}")
    entry = AuditEntry(
        created_at=utcnow(),
        actor_id=actor.id if actor is not None else None,
        actor_name=actor.username if actor is not None else None,
        action=action,
        object_type=subject.type,
        object_id=None if subject.id is None else str(subject.id),
        object_label=_clip(subject.label) if subject.label is not None else None,
        changes={
            field: [_plain(before), _plain(after)]
            for field, (before, after) in (changes or {}).items()
        },
        details={key: _plain(value) for key, value in (details or {}).items()},
        address=client_address() if has_request_context() else None,
        source=_source(),
    )
    db.session.add(entry)
    db.session.flush()
    return entry


def changed(before: Mapping[str, Any], after: Mapping[str, Any]) -> dict[str, tuple[Any, Any]]:
    """The fields whose values differ between two snapshots, as ``(before, after)``."""
    return {
        field: (before.get(field), value)
        for field, value in after.items()
        if before.get(field) != value
    }


def _source() -> str:
    """The front door the action came through."""
    if has_request_context():
        blueprint = request.blueprint or ""
        if blueprint.startswith("api_v1"):
            return "api"
        if blueprint.startswith("realworld"):
            return "conduit"
        return "site"
    if click.get_current_context(silent=True) is not None:
        return "cli"
    return "job"


def _clip(text: str) -> str:
    return text if len(text) <= VALUE_MAX_LENGTH else text[: VALUE_MAX_LENGTH - 1] + "…"


def _plain(value: Any) -> Any:
    """``value`` as JSON can hold it."""
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, str):
        return _clip(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, list | tuple | set | frozenset):
        items = sorted(value, key=str) if isinstance(value, set | frozenset) else value
        return [_plain(item) for item in items]
    if isinstance(value, Mapping):
        return {str(key): _plain(item) for key, item in value.items()}
    return _clip(str(value))


# --- reading the log ------------------------------------------------------------------------


@dataclass(frozen=True)
class AuditFilter:
    """Which entries to list; every field narrows the list."""

    actor: str | None = None  # username at the time of the action
    action: str | None = None  # one of ACTIONS
    object_type: str | None = None  # one of OBJECT_TYPES
    object_id: str | None = None
    text: str | None = None  # words in the object's name at the time (a post's title...)
    since: datetime | None = None  # inclusive
    until: datetime | None = None  # exclusive


@dataclass(frozen=True)
class AuditPage:
    """A page of entries, newest first, and where the next (older) page starts."""

    items: Sequence[AuditEntry]
    older: Position | None


def entries(
    actor: Actor | None,
    filters: AuditFilter,
    *,
    after: Position | None = None,
    limit: int = PER_PAGE,
) -> AuditPage:
    """Entries newest first, ``limit`` at a time after the position ``after`` (administrators).

    Each filter reads along an index on (filter, created_at, id), so a page costs the same
    however long the log is. An unknown action or object type is ``Invalid``.
    """
    require(actor, Permission.ADMIN)
    if filters.action and filters.action not in ACTIONS:
        raise Invalid.field("action", "Choose one of the listed actions.")
    if filters.object_type and filters.object_type not in OBJECT_TYPES:
        raise Invalid.field("object_type", "Choose one of the listed kinds of object.")
    if filters.since and filters.until and filters.since >= filters.until:
        raise Invalid.field("until", "The end of the range must come after its start.")
    limit = min(max(limit, 1), PER_PAGE)
    stmt = select(AuditEntry)
    if filters.actor:
        stmt = stmt.where(AuditEntry.actor_name == filters.actor.strip())
    if filters.action:
        stmt = stmt.where(AuditEntry.action == filters.action)
    if filters.object_type:
        stmt = stmt.where(AuditEntry.object_type == filters.object_type)
    if filters.object_id:
        stmt = stmt.where(AuditEntry.object_id == filters.object_id.strip())
    if filters.text and filters.text.strip():
        stmt = stmt.where(AuditEntry.object_label.icontains(filters.text.strip(), autoescape=True))
    if filters.since:
        stmt = stmt.where(AuditEntry.created_at >= filters.since)
    if filters.until:
        stmt = stmt.where(AuditEntry.created_at < filters.until)
    if after is not None and after.at is not None:
        stmt = stmt.where(
            tuple_(AuditEntry.created_at, AuditEntry.id)
            < tuple_(literal(after.at, UTCDateTime()), literal(after.id))
        )
    stmt = stmt.order_by(AuditEntry.created_at.desc(), AuditEntry.id.desc()).limit(limit + 1)
    rows = db.session.scalars(stmt).all()
    items = rows[:limit]
    older = Position(items[-1].created_at, items[-1].id) if len(rows) > limit else None
    return AuditPage(items=items, older=older)


# --- append-only --------------------------------------------------------------------------


class AppendOnlyError(RuntimeError):
    """Code tried to change or delete an audit entry (a bug: nothing may)."""


def _refuse_change(*_args: Any) -> None:
    raise AppendOnlyError(APPEND_ONLY)


def _refuse_bulk(state: ORMExecuteState) -> None:
    if not (state.is_update or state.is_delete):
        return
    mapper = state.bind_mapper
    if mapper is not None and mapper.class_ is AuditEntry:
        raise AppendOnlyError(APPEND_ONLY)


def install_guards() -> None:
    """Make the ORM refuse to update or delete an audit entry, by unit of work or by an
    ``update()``/``delete()`` statement (once per process; ``create_app`` calls it)."""
    for name in ("before_update", "before_delete"):
        if not event.contains(AuditEntry, name, _refuse_change):
            event.listen(AuditEntry, name, _refuse_change)
    if not event.contains(Session, "do_orm_execute", _refuse_bulk):
        event.listen(Session, "do_orm_execute", _refuse_bulk)
