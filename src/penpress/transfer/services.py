"""Exports and imports an administrator starts from the console, each run by a background job.

Starting one (administrators only) records a :class:`TransferRun` and queues its job by name
(``penpress.transfer.tasks`` runs it); the console then reads the run's state and, while the
job works, its live progress from the cache. The job uses the same exporter and importer as the
command line: an import is checked whole before anything is written, then written in one
transaction, so a refused file leaves the database as it was.

Files live in ``TRANSFER_FOLDER`` (by default ``instance/transfers``, never served directly)
under generated names: an export there until it is one of more than ``TRANSFER_KEEP_EXPORTS``
newer ones, an upload until its import ends.

A job whose worker dies mid-run (killed, machine restarted) leaves its run "running" with no
one to end it: a job handed over again only claims queued runs. So each progress report also
records when the run last reported (its heartbeat, in the cache beside the live count); a
running run silent for ``TRANSFER_STALL_SECONDS`` shows as stalled, and an administrator may
then mark it as failed (:func:`abandon_run`).
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import time
from collections.abc import Mapping
from pathlib import Path
from typing import IO, Any

from flask import current_app
from sqlalchemy import func, select, update

from penpress import jobs
from penpress.accounts.models import Follow, Role, User
from penpress.audit import services as audit
from penpress.blog.models import Comment, Favorite, Page, Post, Tag
from penpress.database import utcnow
from penpress.errors import Conflict, Invalid, NotFound, TooLarge
from penpress.extensions import cache, db
from penpress.media.models import Media
from penpress.newsletter.models import Subscriber
from penpress.permissions import Permission, require
from penpress.settings.models import SiteSetting
from penpress.transfer import exporter, importer
from penpress.transfer import format as fmt
from penpress.transfer.ghost import read_ghost
from penpress.transfer.importer import ImportReport, Source, TransferError
from penpress.transfer.models import (
    DONE,
    EXPORT,
    FAILED,
    IMPORT,
    QUEUED,
    RUNNING,
    LegacyPath,
    TransferRun,
)
from penpress.transfer.wordpress import read_wordpress

log = logging.getLogger(__name__)

EXPORT_TASK = "penpress.transfer.export"
IMPORT_TASK = "penpress.transfer.import"

# The files an import takes, told apart by their content; the extension their copy gets.
FORMATS: dict[str, str] = {"penpress": ".zip", "wordpress": ".xml", "ghost": ".json"}
FORMAT_NAMES = {
    "penpress": "Penpress export",
    "wordpress": "WordPress export (WXR)",
    "ghost": "Ghost export (JSON)",
}
SNIFF_BYTES = 64 * 1024  # how much of an upload is read to tell its format
RECENT_RUNS = 10
SUMMARY_LIMIT = 200  # skipped records and warnings kept in a run's summary
PROGRESS_TIMEOUT = 24 * 60 * 60
STRAY_UPLOAD_AGE = 24 * 60 * 60  # seconds before an upload no run names is removed
_COPY_CHUNK = 1024 * 1024

# The tables behind each kind of record, to count what an export will write.
_EXPORTED: dict[str, Any] = {
    "settings": SiteSetting,
    "roles": Role,
    "users": User,
    "media": Media,
    "tags": Tag,
    "posts": Post,
    "pages": Page,
    "redirects": LegacyPath,
    "comments": Comment,
    "favorites": Favorite,
    "follows": Follow,
    "subscribers": Subscriber,
}


def transfer_folder() -> Path:
    """``TRANSFER_FOLDER``, created (readable by its owner only) if missing."""
    folder = Path(current_app.config["TRANSFER_FOLDER"])
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    return folder


# --- what administrators do -------------------------------------------------------------------


def start_export(actor: User | None) -> TransferRun:
    """Queue an export of the whole site (administrators only). Password hashes and
    unsubscribe secrets are never in a console export (the command line's ``--with-secrets``
    is for operators)."""
    admin = require(actor, Permission.ADMIN)
    run = TransferRun(kind=EXPORT, format="penpress", started_by_id=admin.id, summary={})
    db.session.add(run)
    db.session.flush()
    audit.record(admin, "transfer.export", audit.Subject("transfer", run.id, f"export {run.id}"))
    jobs.enqueue(EXPORT_TASK, run.id)
    return run


def detect_format(head: bytes) -> str | None:
    """The kind of file that starts with ``head`` (by its content, whatever its name): a zip
    is a Penpress export, XML naming WordPress's export namespace a WXR file, a JSON object a
    Ghost export. None for anything else."""
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        return "penpress"
    text = head.removeprefix(b"\xef\xbb\xbf").lstrip()
    if text.startswith(b"<"):
        return "wordpress" if b"wordpress.org/export/" in head else None
    if text.startswith(b"{"):
        return "ghost"
    return None


def start_import(actor: User | None, stream: IO[bytes], filename: str) -> TransferRun:
    """Keep the uploaded file (under a generated name) and queue its import (administrators
    only). Refused at once: a file over ``TRANSFER_MAX_UPLOAD_BYTES`` (413), an empty one or
    one that is none of the three formats (422, on the field ``file``). The job then checks
    every record before writing any."""
    admin = require(actor, Permission.ADMIN)
    limit = int(current_app.config["TRANSFER_MAX_UPLOAD_BYTES"])
    folder = transfer_folder()
    path = folder / f"upload-{secrets.token_hex(16)}"
    try:
        size = _copy(stream, path, limit)
        if size > limit:
            raise TooLarge(f"The file is larger than {_megabytes(limit)} MB.")
        if size == 0:
            raise Invalid.field("file", "The file is empty.")
        with path.open("rb") as saved:
            kind = detect_format(saved.read(SNIFF_BYTES))
        if kind is None:
            raise Invalid.field(
                "file",
                "This is not a file Penpress imports: choose a Penpress export (.zip), a "
                "WordPress export (WXR .xml) or a Ghost export (.json).",
            )
        final = path.with_suffix(FORMATS[kind])
        path.rename(final)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    shown = Path(filename or "upload").name[:255]
    run = TransferRun(
        kind=IMPORT,
        format=kind,
        file_name=final.name,
        original_name=shown,
        started_by_id=admin.id,
        summary={},
    )
    db.session.add(run)
    db.session.flush()
    audit.record(
        admin,
        "transfer.import",
        audit.Subject("transfer", run.id, shown),
        details={"format": kind, "bytes": size},
    )
    jobs.enqueue(IMPORT_TASK, run.id)
    return run


def _copy(stream: IO[bytes], path: Path, limit: int) -> int:
    """Copy ``stream`` to ``path`` (owner-only), stopping one chunk past ``limit``; bytes read."""
    size = 0
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as target:
        while chunk := stream.read(_COPY_CHUNK):
            size += len(chunk)
            if size > limit:
                break
            target.write(chunk)
    return size


def _megabytes(size: int) -> int:
    return max(1, size // (1024 * 1024))


def get_run(actor: User | None, run_id: int) -> TransferRun:
    """One export or import (administrators only)."""
    require(actor, Permission.ADMIN)
    run = db.session.get(TransferRun, run_id)
    if run is None:
        raise NotFound("There is no such export or import.")
    return run


def recent_runs(actor: User | None) -> list[TransferRun]:
    """The latest exports and imports, newest first (administrators only)."""
    require(actor, Permission.ADMIN)
    statement = select(TransferRun).order_by(TransferRun.id.desc()).limit(RECENT_RUNS)
    return list(db.session.scalars(statement))


def run_status(actor: User | None, run_id: int) -> dict[str, Any]:
    """Where a run is, as the console's progress display reads it (administrators only):
    ``state``, ``step``, ``done`` of ``total`` records, ``message``, whether it is
    ``stalled`` (its job stopped reporting) and whether its export can be downloaded."""
    run = get_run(actor, run_id)
    done, total, step = run.done, run.total, ""
    live = _live_progress(run)
    if live is not None:
        done, total, step = int(live["done"]), int(live["total"]), str(live["step"])
    return {
        "id": run.id,
        "kind": run.kind,
        "state": run.state,
        "step": step,
        "done": done,
        "total": total,
        "message": run.message,
        "finished": run.state in (DONE, FAILED),
        "stalled": _stalled(run, live),
        "downloadable": _export_path(run) is not None,
    }


def abandon_run(actor: User | None, run_id: int) -> TransferRun:
    """Mark a stalled run as failed (administrators only): its job stopped reporting (its
    worker died), and nothing else would ever end it. Refused (409) while the run is not
    stalled, so a live job is never cut off. A job handed over again afterwards does nothing
    (it claims only queued runs); one that was alive after all throws its work away. An
    import's upload and an export's partial file are deleted."""
    admin = require(actor, Permission.ADMIN)
    run = db.session.get(TransferRun, run_id, with_for_update=True, populate_existing=True)
    if run is None:
        raise NotFound("There is no such export or import.")
    if not _stalled(run, _live_progress(run)):
        raise Conflict("This run is not stalled: it is still reporting progress, or it ended.")
    what = "export" if run.kind == EXPORT else "import"
    retry = "imported; upload the file again" if run.kind == IMPORT else "kept; start a new export"
    run.state = FAILED
    run.finished_at = utcnow()
    run.message = (
        f"Marked as failed by {admin.username}: the {what} stopped reporting progress (its "
        f"worker probably stopped), so it never finished. Nothing was {retry}."
    )
    folder = Path(current_app.config["TRANSFER_FOLDER"])
    if run.kind == IMPORT and run.file_name:
        (folder / run.file_name).unlink(missing_ok=True)
        run.file_name = None
    elif run.kind == EXPORT:
        for partial in folder.glob(f"export-{run.id}-*.zip"):
            partial.unlink(missing_ok=True)
    _forget_progress(run.id)
    db.session.flush()
    audit.record(admin, "transfer.abandon", audit.Subject("transfer", run.id, f"{what} {run.id}"))
    return run


def _live_progress(run: TransferRun) -> dict[str, Any] | None:
    """A queued or running run's live count and heartbeat from the cache, if any."""
    if run.state not in (QUEUED, RUNNING):
        return None
    live = cache.get(_progress_key(run.id))
    return live if isinstance(live, dict) else None


def _stalled(run: TransferRun, live: Mapping[str, Any] | None) -> bool:
    """Whether a running run has not reported for ``TRANSFER_STALL_SECONDS``: since its last
    heartbeat, or (none in the cache yet, or the cache was emptied) since it started."""
    if run.state != RUNNING:
        return False
    last = live.get("at") if live is not None else None
    if not isinstance(last, int | float):
        last = (run.started_at or run.created_at).timestamp()
    return time.time() - float(last) > float(current_app.config["TRANSFER_STALL_SECONDS"])


def export_download(actor: User | None, run_id: int) -> tuple[Path, str]:
    """A finished export's file and the name to save it under (administrators only; each
    download is in the audit log). 404 once the file is no longer kept."""
    admin = require(actor, Permission.ADMIN)
    run = get_run(admin, run_id)
    path = _export_path(run)
    if path is None or run.finished_at is None:
        raise NotFound("This export is not ready, or no longer kept: start a new one.")
    audit.record(admin, "transfer.download", audit.Subject("transfer", run.id, f"export {run.id}"))
    return path, f"penpress-export-{run.finished_at:%Y-%m-%d-%H%M%S}.zip"


def _export_path(run: TransferRun) -> Path | None:
    if run.kind != EXPORT or run.state != DONE or not run.file_name:
        return None
    path = Path(current_app.config["TRANSFER_FOLDER"]) / run.file_name
    return path if path.is_file() else None


# --- the jobs (trusted: queued above, after the administrator's check) -------------------------


def claim_run(run_id: int) -> bool:
    """Trusted (the job): mark a queued run running; False if it is not queued (a job handed
    over twice runs once). The caller commits, so the console sees it at once."""
    claimed = db.session.execute(
        update(TransferRun)
        .where(TransferRun.id == run_id, TransferRun.state == QUEUED)
        .values(state=RUNNING, started_at=utcnow())
    )
    return bool(getattr(claimed, "rowcount", 0) == 1)


def perform_export(run_id: int) -> TransferRun:
    """Trusted (the job): write the export of a claimed run into ``TRANSFER_FOLDER``, then
    remove the files of all but the newest ``TRANSFER_KEEP_EXPORTS`` exports. Flushes."""
    total = sum(
        db.session.scalar(select(func.count()).select_from(model)) or 0
        for model in _EXPORTED.values()
    )
    progress = _Progress(run_id, "Exporting", total)
    path = transfer_folder() / f"export-{run_id}-{secrets.token_hex(8)}.zip"
    report = exporter.export_site(path, progress=progress)
    run = _still_running(run_id)
    if run is None:  # marked as failed while it worked: its file is not kept
        path.unlink(missing_ok=True)
        return db.session.get_one(TransferRun, run_id)
    written = sum(report.counts.values())
    run.state, run.done, run.total = DONE, written, written
    run.file_name = path.name
    run.finished_at = utcnow()
    run.summary = {
        "exported": dict(report.counts),
        "files": report.files,
        "missing_files": report.missing_files[:SUMMARY_LIMIT],
    }
    missing = len(report.missing_files)
    run.message = f"Exported {written} records and {report.files} image files." + (
        f" {missing} image files were missing from the media storage." if missing else ""
    )
    _forget_progress(run_id)
    _prune_exports()
    db.session.flush()
    return run


def _prune_exports() -> None:
    """Remove the files of finished exports older than the newest ``TRANSFER_KEEP_EXPORTS``."""
    keep = max(1, int(current_app.config["TRANSFER_KEEP_EXPORTS"]))
    statement = (
        select(TransferRun)
        .where(TransferRun.kind == EXPORT, TransferRun.file_name.is_not(None))
        .order_by(TransferRun.id.desc())
        .offset(keep)
    )
    folder = Path(current_app.config["TRANSFER_FOLDER"])
    for old in db.session.scalars(statement):
        if old.file_name:
            (folder / old.file_name).unlink(missing_ok=True)
        old.file_name = None


def perform_import(run_id: int) -> TransferRun:
    """Trusted (the job): check the claimed run's file whole, then write it into the
    session's transaction (the caller commits, or rolls back on :class:`TransferError`).
    Image files of WordPress and Ghost exports stay links (the console takes no media
    folder)."""
    run = db.session.get_one(TransferRun, run_id)
    path = Path(current_app.config["TRANSFER_FOLDER"]) / (run.file_name or "")
    if not run.file_name or not path.is_file():
        raise TransferError([importer.Problem(run.original_name or "the file", "is gone")])
    if run.format == "penpress":
        archive = importer.open_zip(path)
        try:
            report = _check_and_load(run_id, archive)
        finally:
            archive.close()
    else:
        converted = read_wordpress(path) if run.format == "wordpress" else read_ghost(path)
        try:
            report = _check_and_load(run_id, converted.source())
        finally:
            converted.close()
        report.skipped[:0] = converted.skipped
        report.warnings[:0] = converted.warnings
    if _still_running(run_id) is None:
        raise RunAbandoned(run_id)
    run = db.session.get_one(TransferRun, run_id)
    written = sum(report.imported.values())
    run.state, run.done, run.total = DONE, written, written
    run.finished_at = utcnow()
    run.summary = _summary(report, run.file_name, run.original_name)
    run.message = report.summary_lines(limit=0)[0]  # "Imported: ..."; the page lists the rest
    _forget_progress(run_id)
    db.session.flush()
    return run


class RunAbandoned(Exception):
    """The run was marked as failed while its job still worked: the job's work is rolled
    back, and the run stays as the administrator left it."""


def _still_running(run_id: int) -> TransferRun | None:
    """The run, read afresh and locked (PostgreSQL) against being marked as failed meanwhile;
    None if it is no longer running."""
    run = db.session.get_one(TransferRun, run_id, with_for_update=True, populate_existing=True)
    return run if run.state == RUNNING else None


def _check_and_load(run_id: int, source: Source) -> ImportReport:
    problems = source.check()
    if problems:
        raise TransferError(problems)
    total = sum(source.count(kind.name) or 0 for kind in fmt.KINDS)
    importer.validate(source, _Progress(run_id, "Checking", total))
    return importer.load(source, _Progress(run_id, "Importing", total))


def _summary(report: ImportReport, stored: str | None, shown: str | None) -> dict[str, Any]:
    """The report as the run keeps it; places name the upload as its sender named it."""

    def named(text: str) -> str:
        return text.replace(stored, shown) if stored and shown else text

    return {
        "imported": {kind: n for kind, n in report.imported.items() if n},
        "skipped": [[kind, named(what), why] for kind, what, why in report.skipped[:SUMMARY_LIMIT]],
        "skipped_count": len(report.skipped),
        "warnings": [named(warning) for warning in report.warnings[:SUMMARY_LIMIT]],
        "warnings_count": len(report.warnings),
        "new_authors": [
            [username, email]
            for username, email, role in report.new_accounts
            if role == "contributor"
        ][:SUMMARY_LIMIT],
    }


def fail_run(run_id: int, error: BaseException) -> None:
    """Trusted (the job, after rolling back its work): mark the run failed with what went
    wrong. A refused file names each problem's place; anything else is logged in full. A run
    that no longer runs (an administrator marked it as failed) is left as it is."""
    run = db.session.get_one(TransferRun, run_id)
    if run.state != RUNNING:
        return
    if isinstance(error, TransferError):
        lines = [str(problem) for problem in error.problems]
        if run.file_name and run.original_name:
            lines = [line.replace(run.file_name, run.original_name) for line in lines]
        run.message = "The file was refused; nothing was imported:\n" + "\n".join(lines)
    else:
        what = "export" if run.kind == EXPORT else "import"
        run.message = (
            f"The {what} failed ({type(error).__name__}); nothing was changed. "
            "The server's log has the details."
        )
    run.state = FAILED
    run.finished_at = utcnow()
    _forget_progress(run_id)
    db.session.flush()


def remove_upload(run_id: int) -> None:
    """Trusted (the job, when its import ended either way): delete the uploaded file, and
    any upload a day old that no waiting run names (its request failed after the file was
    kept)."""
    folder = Path(current_app.config["TRANSFER_FOLDER"])
    run = db.session.get(TransferRun, run_id)
    if run is not None and run.kind == IMPORT and run.file_name:
        (folder / run.file_name).unlink(missing_ok=True)
        run.file_name = None
        db.session.flush()
    waiting = set(
        db.session.scalars(
            select(TransferRun.file_name).where(
                TransferRun.kind == IMPORT, TransferRun.state.in_((QUEUED, RUNNING))
            )
        )
    )
    day_ago = time.time() - STRAY_UPLOAD_AGE
    for path in folder.glob("upload-*"):
        with contextlib.suppress(OSError):
            if path.name not in waiting and path.stat().st_mtime < day_ago:
                path.unlink()


# --- live progress ------------------------------------------------------------------------------


def _progress_key(run_id: int) -> str:
    return f"transfer-progress:{run_id}"


def _forget_progress(run_id: int) -> None:
    cache.delete(_progress_key(run_id))


class _Progress:
    """The exporter's and importer's progress callback: records done so far, summed over the
    kinds, kept in the cache for the console to read, with the time of this report (the
    run's heartbeat, which tells a live job from a dead one).

    The heartbeat is in the cache, not on the ``transfer_runs`` row: an import writes in one
    open transaction, so the job's own session cannot commit a heartbeat, and on SQLite (one
    writer) a second connection could not write beside it either; the cache works on both."""

    def __init__(self, run_id: int, step: str, total: int) -> None:
        self.key = _progress_key(run_id)
        self.step = step
        self.total = total
        self.per_kind: dict[str, int] = {}
        self._publish()

    def __call__(self, kind: str, done: int) -> None:
        self.per_kind[kind] = done
        self._publish()

    def _publish(self) -> None:
        done = sum(self.per_kind.values())
        value: Mapping[str, object] = {
            "step": self.step,
            "done": min(done, self.total) if self.total else done,
            "total": max(self.total, done),
            "at": time.time(),
        }
        cache.set(self.key, dict(value), timeout=PROGRESS_TIMEOUT)
