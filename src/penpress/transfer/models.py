"""The transfer package's tables: old addresses of imported posts and pages, and the runs of
the exports and imports an administrator starts from the console."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from penpress.database import Base, UTCDateTime, created_at, int_pk


class LegacyPath(Base):
    """``path`` (as WordPress served it: ``/?p=123``, ``/2019/03/04/hello-world/``,
    ``/?page_id=7``, ``/about/``) answers with a permanent redirect to the post ``post_id`` or
    the page ``page_id`` (exactly one of them)."""

    __tablename__ = "legacy_paths"

    path: Mapped[str] = mapped_column(String(500), primary_key=True)
    post_id: Mapped[int | None] = mapped_column(
        ForeignKey("posts.id", ondelete="CASCADE"), index=True
    )
    page_id: Mapped[int | None] = mapped_column(
        ForeignKey("pages.id", ondelete="CASCADE"), index=True
    )

    __table_args__ = (
        CheckConstraint("(post_id IS NULL) <> (page_id IS NULL)", name="post_or_page"),
    )

    def __repr__(self) -> str:
        target = f"post {self.post_id}" if self.post_id else f"page {self.page_id}"
        return f"<LegacyPath {self.path} -> {target}>"


# What a run is, and the states it goes through.
EXPORT = "export"
IMPORT = "import"
QUEUED, RUNNING, DONE, FAILED = "queued", "running", "done", "failed"
STATES = (QUEUED, RUNNING, DONE, FAILED)


class TransferRun(Base):
    """One export or import started from the console, run by a background job.

    The row says where the run is (``state``) and, once it ends, what came of it: the counts
    (``done`` of ``total`` records), the importer's summary or the reason it failed. While it
    runs, the live count is kept in the cache (an import writes in one transaction, which
    another connection could not see, and on SQLite could not write beside).
    """

    __tablename__ = "transfer_runs"

    id: Mapped[int_pk]
    kind: Mapped[str] = mapped_column(String(10))  # EXPORT or IMPORT
    # The file's kind: "penpress" (an export zip), "wordpress" or "ghost".
    format: Mapped[str] = mapped_column(String(20), default="penpress")
    state: Mapped[str] = mapped_column(String(10), default=QUEUED, index=True)
    done: Mapped[int] = mapped_column(Integer, default=0)
    total: Mapped[int] = mapped_column(Integer, default=0)
    message: Mapped[str] = mapped_column(Text, default="")
    # The importer's summary: {"imported": {...}, "skipped": [[kind, what, why]], "warnings": []}
    summary: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # The file in TRANSFER_FOLDER (generated name): the export written, or the upload to read;
    # None once it is removed.
    file_name: Mapped[str | None] = mapped_column(String(100))
    original_name: Mapped[str | None] = mapped_column(String(255))  # the upload's own name
    started_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    created_at: Mapped[created_at]
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (
        CheckConstraint("kind IN ('export', 'import')", name="kind"),
        CheckConstraint("state IN ('queued', 'running', 'done', 'failed')", name="state"),
    )

    def __repr__(self) -> str:
        return f"<TransferRun {self.id} {self.kind} {self.state}>"
