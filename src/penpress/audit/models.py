"""The audit log's one table.

Rows are written once and never changed: the application has no path that updates or deletes
them (:mod:`penpress.audit.services` refuses both at the ORM level, and on PostgreSQL a trigger
refuses them in the database). No column is a foreign key, so deleting an account or a post
never touches the entries about it: each entry keeps the names it was written with.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from penpress.database import Base, UTCDateTime, int_pk, utcnow


class AuditEntry(Base):
    __tablename__ = "audit_log"

    id: Mapped[int_pk]
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    # Who: the account's id and username at the time (None: the command line or a job).
    actor_id: Mapped[int | None] = mapped_column(Integer)
    actor_name: Mapped[str | None] = mapped_column(String(64))
    # What: a name from ``services.ACTIONS``, e.g. ``user.role``.
    action: Mapped[str] = mapped_column(String(40))
    # To what: its kind, its id (a setting's key for settings) and its name at the time.
    object_type: Mapped[str] = mapped_column(String(20))
    object_id: Mapped[str | None] = mapped_column(String(64))
    object_label: Mapped[str | None] = mapped_column(String(200))
    # Changed fields as ``{"field": [before, after]}``, and other facts of the action.
    changes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # From where: the client address as ProxyFix resolved it, and the front door.
    address: Mapped[str | None] = mapped_column(String(45))
    source: Mapped[str] = mapped_column(String(10))

    __table_args__ = (
        # The console lists newest first, a page at a time (keyset on created_at, id), and
        # filters by actor, action or kind of object.
        Index("ix_audit_log_created_at_id", "created_at", "id"),
        Index("ix_audit_log_actor_name_created_at_id", "actor_name", "created_at", "id"),
        Index("ix_audit_log_action_created_at_id", "action", "created_at", "id"),
        Index("ix_audit_log_object_type_created_at_id", "object_type", "created_at", "id"),
    )

    def __repr__(self) -> str:
        return f"<AuditEntry {self.id} {self.action} by {self.actor_name}>"
