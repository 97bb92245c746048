"""The transactional outbox: every job is a row, written in the transaction that causes it.

:func:`penpress.jobs.enqueue` adds an :class:`OutboxJob` to the current transaction, so a job
exists exactly when the change that caused it was committed. After the commit the job is handed
to Celery (or run here); the worker marks its row done in the task's own commit. A row whose
lease runs out before it is done (the broker was down, the worker died, the database went away
under it) is handed over again by the periodic sweep, with a longer lease each time, and after
``OUTBOX_MAX_ATTEMPTS`` hand-overs it is marked failed: logged, counted in
``penpress_outbox_jobs_given_up_total`` and shown by ``penpress_outbox_jobs{state="failed"}``.

Several processes may sweep at once: PostgreSQL claims rows with ``FOR UPDATE SKIP LOCKED``,
SQLite with a conditional ``UPDATE`` per row. A job may still run twice (a lease ran out while
it was merely slow, a redelivered message), so every task is idempotent; emails carry a key
derived from their job's (see :mod:`penpress.emails`).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask import current_app, g
from prometheus_client import Counter
from sqlalchemy import JSON, Index, Integer, String, delete, func, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Mapped, mapped_column

from penpress.database import Base, UTCDateTime, created_at, int_pk, utcnow
from penpress.extensions import db

log = logging.getLogger(__name__)

PENDING = "pending"  # waiting to be done; handed over again when its lease runs out
DONE = "done"  # a worker finished it (pruned after OUTBOX_KEEP_DONE seconds)
FAILED = "failed"  # given up after OUTBOX_MAX_ATTEMPTS hand-overs; kept for a person to see
STATES = (PENDING, DONE, FAILED)

TASK_ID_PREFIX = "outbox-"  # Celery task id of a job: the prefix and the row's key
MAX_LEASE = 3600.0  # the lease doubles with every hand-over, up to an hour
SWEEP_BATCH = 100  # rows one sweep hands over at most
ERROR_LENGTH = 500

GIVEN_UP = Counter(
    "penpress_outbox_jobs_given_up_total",
    "Outbox jobs marked failed after their last allowed attempt, by task.",
    ["task"],
)
RESENT = Counter(
    "penpress_outbox_jobs_resent_total",
    "Outbox jobs handed over again by the sweep because their lease ran out, by task.",
    ["task"],
)

_CURRENT_KEY = "penpress_outbox_key"  # key in g: the outbox job the running task works for


class OutboxJob(Base):
    """A job to run by task name, and how far it got."""

    __tablename__ = "outbox_jobs"
    __table_args__ = (Index("ix_outbox_jobs_state_available_at", "state", "available_at"),)

    id: Mapped[int_pk]
    key: Mapped[str] = mapped_column(String(32), unique=True)  # also names emails it sends
    task_name: Mapped[str] = mapped_column(String(200))
    args: Mapped[list[Any]] = mapped_column(JSON)
    state: Mapped[str] = mapped_column(String(16), default=PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=1)  # hand-overs so far
    available_at: Mapped[datetime] = mapped_column(UTCDateTime)  # not handed over again before
    created_at: Mapped[created_at]
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(String(ERROR_LENGTH))

    def __repr__(self) -> str:
        return f"<OutboxJob {self.task_name}{tuple(self.args)!r} {self.state}>"


@dataclass(frozen=True)
class DueJob:
    """A job the sweep claimed: hand it over again under this key."""

    key: str
    task_name: str
    args: tuple[Any, ...]


def lease_seconds(attempt: int) -> float:
    """How long hand-over number ``attempt`` has before the sweep sends the job again."""
    base = float(current_app.config["OUTBOX_LEASE"])
    return float(min(base * 2 ** max(attempt - 1, 0), max(MAX_LEASE, base)))


def add(task_name: str, args: tuple[Any, ...], not_before: datetime | None = None) -> OutboxJob:
    """Add a job to the current transaction (it exists only if the transaction commits).

    A job due later (``not_before``) gets its first lease from then on.
    """
    start = max(utcnow(), not_before) if not_before is not None else utcnow()
    row = OutboxJob(
        key=uuid.uuid4().hex,
        task_name=task_name,
        args=list(args),
        state=PENDING,
        attempts=1,
        available_at=start + timedelta(seconds=lease_seconds(1)),
    )
    db.session.add(row)
    return row


def task_id(key: str) -> str:
    """The Celery task id a job is handed over with (the same on every hand-over)."""
    return TASK_ID_PREFIX + key


def key_of(celery_task_id: str | None) -> str | None:
    """The outbox key inside a Celery task id, or None for tasks not sent from the outbox."""
    if celery_task_id and celery_task_id.startswith(TASK_ID_PREFIX):
        return celery_task_id[len(TASK_ID_PREFIX) :]
    return None


def begin_job(key: str | None) -> None:
    """Note which outbox job the task running in this app context works for."""
    setattr(g, _CURRENT_KEY, key)


def current_key() -> str | None:
    """The outbox key of the job running in this app context, if any (emails use it)."""
    key: str | None = g.get(_CURRENT_KEY)
    return key


def mark_done(key: str) -> None:
    """Record that the job is done, in the task's own transaction (committed with its work)."""
    db.session.execute(
        update(OutboxJob)
        .where(OutboxJob.key == key, OutboxJob.state != DONE)
        .values(state=DONE, done_at=utcnow(), last_error=None)
    )


def note_failure(key: str, error: BaseException, retry_in: float | None) -> None:
    """Best effort, in a transaction of its own: keep the error, and when Celery will retry the
    task in ``retry_in`` seconds, keep the sweep away until then (plus a lease)."""
    message = f"{type(error).__name__}: {error}"[:ERROR_LENGTH]
    pending = (OutboxJob.key == key, OutboxJob.state == PENDING)
    try:
        with db.engine.begin() as connection:
            connection.execute(update(OutboxJob).where(*pending).values(last_error=message))
            if retry_in is not None:
                later = utcnow() + timedelta(seconds=retry_in + lease_seconds(1))
                connection.execute(  # never shortens a longer lease the sweep gave
                    update(OutboxJob)
                    .where(*pending, OutboxJob.available_at < later)
                    .values(available_at=later)
                )
    except SQLAlchemyError:
        log.debug("could not record the failure of outbox job %s", key, exc_info=True)


def claim_due(now: datetime | None = None, limit: int = SWEEP_BATCH) -> list[DueJob]:
    """Claim the pending jobs whose lease ran out: each gets a new, longer lease and one more
    attempt; jobs out of attempts are marked failed instead. The caller hands the claimed
    jobs over once its transaction commits."""
    now = now or utcnow()
    due = (
        select(OutboxJob.id, OutboxJob.attempts)
        .where(OutboxJob.state == PENDING, OutboxJob.available_at <= now)
        .order_by(OutboxJob.available_at)
        .limit(limit)
    )
    postgres = db.session.get_bind().dialect.name == "postgresql"
    if postgres:
        # Rows another sweeper holds are skipped, not waited for; the lock lasts to the commit.
        due = due.with_for_update(skip_locked=True)
    claimed: list[DueJob] = []
    max_attempts = int(current_app.config["OUTBOX_MAX_ATTEMPTS"])
    for row_id, attempts in db.session.execute(due).all():
        give_up = attempts >= max_attempts
        values: dict[str, Any] = (
            {"state": FAILED}
            if give_up
            else {
                "attempts": attempts + 1,
                "available_at": now + timedelta(seconds=lease_seconds(attempts + 1)),
            }
        )
        # The condition makes the claim safe without row locks (SQLite): another sweeper that
        # read the same row first has changed ``attempts`` or the lease, and this matches nothing.
        claim = (
            update(OutboxJob)
            .where(
                OutboxJob.id == row_id,
                OutboxJob.state == PENDING,
                OutboxJob.attempts == attempts,
                OutboxJob.available_at <= now,
            )
            .values(**values)
            .returning(OutboxJob.key, OutboxJob.task_name, OutboxJob.args, OutboxJob.last_error)
        )
        won = db.session.execute(claim, execution_options={"synchronize_session": False}).first()
        if won is None:
            continue
        key, task_name, args, last_error = won
        if give_up:
            GIVEN_UP.labels(task=task_name).inc()
            log.error(
                "outbox job %s%r (key %s) gave up after %d attempts; last error: %s",
                task_name,
                tuple(args),
                key,
                attempts,
                last_error or "none recorded (its lease ran out)",
            )
            continue
        RESENT.labels(task=task_name).inc()
        log.warning(
            "outbox job %s%r (key %s) was not done in time: sending it again (attempt %d)",
            task_name,
            tuple(args),
            key,
            attempts + 1,
        )
        claimed.append(DueJob(key, task_name, tuple(args)))
    return claimed


def prune(now: datetime | None = None) -> int:
    """Delete done jobs older than ``OUTBOX_KEEP_DONE`` seconds; failed ones stay."""
    cutoff = (now or utcnow()) - timedelta(seconds=float(current_app.config["OUTBOX_KEEP_DONE"]))
    result = db.session.execute(
        delete(OutboxJob).where(OutboxJob.state == DONE, OutboxJob.done_at < cutoff),
        execution_options={"synchronize_session": False},
    )
    return int(getattr(result, "rowcount", 0) or 0)


def counts() -> Mapping[str, int]:
    """How many jobs are in each state (for /metrics and the admin console)."""
    found = dict(
        db.session.execute(select(OutboxJob.state, func.count()).group_by(OutboxJob.state)).all()
    )
    return {state: int(found.get(state, 0)) for state in STATES}
