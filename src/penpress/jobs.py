"""Background jobs: Celery wired the Flask way, with an in-process runner as the default.

Services call :func:`enqueue` while they work. The job is written to the outbox table
(:mod:`penpress.outbox`) in the same transaction, and handed over only once that transaction
commits, so a worker never looks for rows that are not there yet and a rolled-back change
leaves no job. Tasks take ids and plain values, run inside an app context and commit once at
the end, marking their outbox row done in that same commit (:class:`FlaskTask`). A job that is
not done in time (the broker was down, the worker died or lost its database) is handed over
again by the periodic sweep (:func:`sweep_outbox`), so no job is lost to a fault.

Where a job runs is configuration, not code:

- with a broker (``CELERY_BROKER_URL``, by default ``REDIS_URL``) it is published to Celery
  and run by ``celery -A penpress.celery_app worker``;
- without one (``CELERY_ALWAYS_EAGER``) it runs in this process: after the response has been
  sent when ``JOBS_AFTER_RESPONSE`` is on (the default; a request never waits on SMTP), at the
  end of the request otherwise (tests), and right after the commit outside a request (CLI).

In a request, publishing also waits until the response has been sent, so a slow or
unreachable broker never delays a page; a job that cannot be published is sent by the sweep.

Periodic jobs (``PERIODIC_JOBS``: task name → seconds) run from Celery beat when there is a
broker (``celery -A penpress.celery_app beat``), and otherwise from a thread in each web
process, started by its first request (:func:`start_periodic_runner`). Either way every
periodic task must be safe to run twice or at once in two processes.
"""

from __future__ import annotations

import importlib
import logging
import os
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from celery import Celery, Task, shared_task
from celery.exceptions import Retry
from flask import Flask, Response, current_app, g, has_request_context
from sqlalchemy import delete, event
from sqlalchemy.orm import Session, SessionTransaction

from penpress import emails, outbox
from penpress.database import utcnow
from penpress.extensions import db

log = logging.getLogger(__name__)

_PENDING = "penpress_pending_jobs"  # key in Session.info: jobs waiting for the commit
_AFTER_RESPONSE = "penpress_jobs_after_response"  # key in g: committed jobs of this request
_DEFERRED = "penpress_jobs_deferred"  # key in g: they run when the response is closed

SWEEP_TASK = "penpress.outbox.sweep"  # periodic: hand over again the jobs not done in time
PRUNE_TASK = "penpress.outbox.prune"  # periodic: forget old done jobs and sent emails
PUBLISH_PAUSE = 5.0  # seconds this process leaves jobs to the sweep after a failed publish
PUBLISH_PAUSED_UNTIL = "penpress_publish_paused_until"  # key in app.extensions: time.monotonic()


@dataclass(frozen=True)
class Job:
    """A task to run, by name, with plain JSON-serialisable arguments."""

    task_name: str
    args: tuple[Any, ...]
    key: str | None = None  # its outbox row; None for periodic jobs, which have none
    eta: datetime | None = None  # not to run before (a broker holds it until then)


def celery_init_app(app: Flask, task_modules: Iterable[str] = ()) -> Celery:
    """Create the app's Celery instance; its tasks run in an app context, one commit each.

    ``task_modules`` are imported by workers when they start (Celery's ``include``); the web
    app imports them through the services that queue their tasks.
    """

    class FlaskTask(Task):  # type: ignore[type-arg]
        def __call__(self, *args: Any, **kwargs: Any) -> Any:
            key = outbox.key_of(self.request.id)
            with app.app_context():
                outbox.begin_job(key)
                try:
                    result = self.run(*args, **kwargs)
                    if key is not None:
                        outbox.mark_done(key)  # in the task's commit: done exactly when it is
                except BaseException as error:
                    db.session.rollback()
                    if key is not None:
                        outbox.note_failure(key, error, _retry_in(error))
                    raise
                db.session.commit()  # the task's one commit, like the request's
                return result

    celery: Celery = Celery(app.import_name, task_cls=FlaskTask, include=list(task_modules))
    celery.config_from_object(celery_settings(app))
    celery.set_default()
    app.extensions["celery"] = celery
    for module in task_modules:
        importlib.import_module(module)  # registers its tasks with this app (by name)
    _install_session_listeners()
    return celery


def celery_settings(app: Flask) -> dict[str, Any]:
    """Celery's settings, derived from the Flask config."""
    config = app.config
    return {
        "broker_url": config.get("CELERY_BROKER_URL"),
        "result_backend": config.get("CELERY_RESULT_BACKEND"),
        "task_always_eager": bool(config["CELERY_ALWAYS_EAGER"]),
        "task_ignore_result": True,
        # Acknowledge after the task ran, for brokers that redeliver what a dead worker held;
        # either way the outbox sweep sends a job again if it is not done in time, which is
        # safe because every task is idempotent.
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        "worker_prefetch_multiplier": 1,
        "worker_hijack_root_logger": False,
        "broker_connection_retry_on_startup": True,
        # Publishing happens after the response; still, give up on a dead broker quickly.
        "broker_connection_timeout": 3,
        "task_publish_retry_policy": {
            "max_retries": 2,
            "interval_start": 0,
            "interval_step": 0.5,
            "interval_max": 1,
        },
        "broker_transport_options": _transport_options(config.get("CELERY_BROKER_URL")),
        "timezone": "UTC",
        "enable_utc": True,
        "beat_schedule": {
            name: {"task": name, "schedule": float(seconds)}
            for name, seconds in periodic_jobs(app).items()
        },
    }


def _retry_in(error: BaseException) -> float | None:
    """Seconds until Celery runs a task again, when ``error`` is its retry; else None."""
    if not isinstance(error, Retry):
        return None
    when: Any = error.when
    if isinstance(when, int | float):
        return float(when)
    if when is not None and hasattr(when, "timestamp"):
        return max(0.0, float(when.timestamp()) - utcnow().timestamp())
    return 0.0


def _transport_options(broker_url: str | None) -> dict[str, Any]:
    options: dict[str, Any] = {"socket_connect_timeout": 3, "socket_timeout": 5}
    if (broker_url or "").startswith(("redis://", "rediss://", "unix://")):
        # No ack emulation on Redis: the outbox, not Redis, sends again what a lost worker
        # never finished. With it, a worker that loses Redis while holding delivered messages
        # exits (celery 5.7, kombu 5.7: "Unrecoverable error: AttributeError ... 'hostname'"),
        # because putting those messages back needs the connection that is gone.
        options["ack_emulation"] = False
    return options


def enqueue(task_name: str, *args: Any, eta: datetime | None = None) -> None:
    """Run the task ``task_name`` with ``args`` once the current transaction commits; nothing
    if it rolls back. By name, so services need not import the tasks that call them.

    The job is written to the outbox in this transaction, so it survives a broker or worker
    that is down when the transaction commits. With ``eta`` a broker holds the job until then
    (the sweep leaves it alone until a lease after ``eta``); jobs run in process (no broker)
    run at once.
    """
    row = outbox.add(task_name, args, not_before=eta)
    pending: list[Job] = db.session.info.setdefault(_PENDING, [])
    pending.append(Job(task_name, args, row.key, eta))


def drop_pending() -> None:
    """Forget the jobs queued so far in this transaction (the demo seed sends no email)."""
    jobs: list[Job] = db.session.info.pop(_PENDING, None) or []
    keys = [job.key for job in jobs if job.key is not None]
    if keys:
        db.session.execute(delete(outbox.OutboxJob).where(outbox.OutboxJob.key.in_(keys)))


def pending_jobs() -> list[Job]:
    """Jobs queued in the current transaction (for tests and debugging)."""
    return list(db.session.info.get(_PENDING, []))


def _install_session_listeners() -> None:
    """Hand jobs over when a transaction commits, drop them when it rolls back (once per
    process: the listeners are on the Session class, which every app's session uses)."""
    if not event.contains(Session, "after_commit", _hand_over_committed_jobs):
        event.listen(Session, "after_commit", _hand_over_committed_jobs)
        event.listen(Session, "after_soft_rollback", _drop_rolled_back_jobs)


def _hand_over_committed_jobs(session: Session) -> None:
    if session.in_nested_transaction():
        return  # a savepoint: the outer transaction may still roll back
    jobs: list[Job] | None = session.info.pop(_PENDING, None)
    if not jobs:
        return
    if has_request_context() and _AFTER_RESPONSE in g:
        g.get(_AFTER_RESPONSE).extend(jobs)
    else:
        run_jobs(current_app._get_current_object(), jobs)  # type: ignore[attr-defined]


def _drop_rolled_back_jobs(session: Session, previous: SessionTransaction) -> None:
    if previous.parent is None:
        session.info.pop(_PENDING, None)


# --- in a request: run (or publish) the committed jobs once the response is out ----------------


def collect_request_jobs() -> None:
    """Start collecting the jobs this request commits (a before-request step)."""
    g.setdefault(_AFTER_RESPONSE, [])


def hand_over_request_jobs(app: Flask, response: Response) -> Response:
    """Run the request's committed jobs when the response has been sent (an after-request
    step, after the commit)."""
    jobs: list[Job] | None = g.get(_AFTER_RESPONSE)
    if jobs is not None and app.config["JOBS_AFTER_RESPONSE"]:
        # The list itself, not a copy: jobs committed later in this request run too.
        response.call_on_close(lambda: run_jobs(app, jobs))
        g.setdefault(_DEFERRED, True)
    return response


def run_leftover_request_jobs(_error: BaseException | None) -> None:
    """Run jobs no closed response will run (tests, errors): a teardown step."""
    jobs: list[Job] | None = g.pop(_AFTER_RESPONSE, None)
    if jobs and not g.pop(_DEFERRED, False):
        run_jobs(current_app._get_current_object(), jobs)  # type: ignore[attr-defined]


def run_jobs(app: Flask, jobs: Iterable[Job]) -> None:
    """Publish ``jobs`` to the broker or run them here; a failure is logged, never raised.

    A job from the outbox goes under its outbox task id, so the worker can mark it done; if it
    fails or cannot be published, the sweep hands it over again once its lease runs out. After
    a failed publish this process leaves outbox jobs to the sweep for ``PUBLISH_PAUSE``
    seconds, so an unreachable broker does not hold up every request's worker in turn.
    """
    jobs = list(jobs)
    if not jobs:
        return
    celery: Celery = app.extensions["celery"]
    eager = bool(app.config["CELERY_ALWAYS_EAGER"])
    for job in jobs:
        task = celery.tasks[job.task_name]
        task_id = outbox.task_id(job.key) if job.key else None
        later = " (the outbox sends it again later)" if job.key else ""
        if not eager and job.key and time.monotonic() < _publish_paused_until(app):
            log.info(
                "job %s%r left to the sweep: the broker is unreachable", job.task_name, job.args
            )
            continue
        try:
            if eager:
                result = task.apply(args=job.args, task_id=task_id)
                if result.failed():
                    log.error(
                        "job %s%r failed: %r%s", job.task_name, job.args, result.result, later
                    )
            else:
                if job.eta is not None:
                    task.apply_async(args=job.args, task_id=task_id, eta=job.eta)
                else:
                    task.apply_async(args=job.args, task_id=task_id)
        except Exception:
            if not eager:
                app.extensions[PUBLISH_PAUSED_UNTIL] = time.monotonic() + PUBLISH_PAUSE
            log.log(
                logging.WARNING if job.key else logging.ERROR,
                "job %s%r could not be %s%s",
                job.task_name,
                job.args,
                "run" if eager else "queued",
                later,
                exc_info=True,
            )


def _publish_paused_until(app: Flask) -> float:
    return float(app.extensions.get(PUBLISH_PAUSED_UNTIL, 0.0))


# --- the outbox's periodic jobs -----------------------------------------------------------------


@shared_task(name=SWEEP_TASK)
def sweep_outbox() -> int:
    """Hand over again the outbox jobs whose lease ran out; how many were claimed.

    The claims commit with this task, and the claimed jobs are handed over after that commit,
    like the jobs a request queues.
    """
    due = outbox.claim_due()
    pending: list[Job] = db.session.info.setdefault(_PENDING, [])
    pending.extend(Job(job.task_name, job.args, job.key) for job in due)
    return len(due)


@shared_task(name=PRUNE_TASK)
def prune_outbox() -> int:
    """Forget done jobs and sent emails older than ``OUTBOX_KEEP_DONE``; how many jobs went."""
    pruned = outbox.prune()
    emails.prune_deliveries()
    return pruned


# --- periodic jobs ----------------------------------------------------------------------------


def periodic_jobs(app: Flask) -> dict[str, float]:
    """Task name → how often it runs, in seconds (``PERIODIC_JOBS``)."""
    return {name: float(seconds) for name, seconds in app.config.get("PERIODIC_JOBS", {}).items()}


def runs_periodic_jobs_in_process(app: Flask) -> bool:
    """Without a broker there is no beat: each web process runs the periodic jobs itself."""
    setting = app.config.get("PERIODIC_JOBS_IN_PROCESS")
    if setting is None:
        return bool(app.config["CELERY_ALWAYS_EAGER"]) and not app.testing
    return bool(setting)


THREAD_NAME = "penpress-periodic-jobs"


class PeriodicRunner(threading.Thread):
    """A daemon thread running each periodic job when it is due, in this process."""

    def __init__(self, app: Flask, schedule: dict[str, float], tick: float = 1.0) -> None:
        super().__init__(name=THREAD_NAME, daemon=True)
        self.app = app
        self.schedule = schedule
        self.tick = tick
        self.stopping = threading.Event()
        start = time.monotonic()
        self.due = {name: start + seconds for name, seconds in schedule.items()}

    def run(self) -> None:
        while not self.stopping.wait(self.tick):
            self.run_due(time.monotonic())

    def run_due(self, now: float) -> list[str]:
        """Run the jobs due at ``now``; returns their names."""
        ran = [name for name, at in self.due.items() if at <= now]
        for name in ran:
            self.due[name] = now + self.schedule[name]
            with self.app.app_context():
                run_jobs(self.app, [Job(name, ())])
        return ran

    def stop(self) -> None:
        self.stopping.set()


_runners: dict[int, PeriodicRunner] = {}  # id(app) → its runner in this process
_runners_lock = threading.Lock()
_runners_pid = os.getpid()


def start_periodic_runner(app: Flask) -> PeriodicRunner | None:
    """Start this process's runner for ``app`` if it runs periodic jobs in process (once).

    Called by each request: gunicorn forks its workers after the app is built, and threads do
    not survive a fork, so each worker starts its own on its first request.
    """
    global _runners_pid
    if not runs_periodic_jobs_in_process(app) or not periodic_jobs(app):
        return None
    runner = _runners.get(id(app))
    if runner is not None and _runners_pid == os.getpid():
        return runner
    with _runners_lock:
        if _runners_pid != os.getpid():  # a forked child: its parent's threads are gone
            _runners.clear()
            _runners_pid = os.getpid()
        runner = _runners.get(id(app))
        if runner is None:
            runner = PeriodicRunner(app, periodic_jobs(app))
            runner.start()
            _runners[id(app)] = runner
            log.info("running %d periodic jobs in this process", len(runner.schedule))
    return runner


def stop_periodic_runner(app: Flask, timeout: float = 5.0) -> None:
    """Stop ``app``'s runner in this process, if it has one, and wait for its current job."""
    with _runners_lock:
        runner = _runners.pop(id(app), None)
    if runner is not None:
        runner.stop()
        runner.join(timeout)
