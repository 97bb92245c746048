"""The transactional outbox: jobs are rows of the transaction that causes them, a sweep hands
over again what was not done within its lease, and every email goes out once per key.

These run on the suite's database (SQLite, then PostgreSQL); the tests with real outages of
Redis, PostgreSQL and SMTP are in ``tests/prod/test_outbox_faults.py``.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from prometheus_client import REGISTRY
from sqlalchemy import select, update

from penpress import jobs
from penpress.accounts import services
from penpress.accounts.models import User
from penpress.database import utcnow
from penpress.emails import EmailDelivery, TransientMailError, send_email
from penpress.extensions import db
from penpress.outbox import (
    DONE,
    FAILED,
    PENDING,
    OutboxJob,
    add,
    begin_job,
    claim_due,
    counts,
    task_id,
)
from tests.factories import UserFactory

CONFIRM = services.CONFIRMATION_EMAIL_TASK


@pytest.fixture
def outbox_log(caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch) -> Any:
    """What the outbox and the email module log (Alembic's fileConfig disables old loggers)."""
    for name in ("penpress.outbox", "penpress.emails", "penpress.jobs"):
        monkeypatch.setattr(logging.getLogger(name), "disabled", False)
    with caplog.at_level(logging.INFO):
        yield caplog


def rows() -> list[OutboxJob]:
    return list(db.session.scalars(select(OutboxJob).order_by(OutboxJob.id)))


def orphan_job(app: Flask, user_id: int) -> str:
    """A committed job that was never handed over (its process died after the commit)."""
    with app.app_context():
        key = add(CONFIRM, (user_id,)).key
        db.session.commit()
    return key


def expire_leases(app: Flask) -> None:
    """Time passes: every pending job's lease runs out."""
    with app.app_context():
        db.session.execute(
            update(OutboxJob)
            .where(OutboxJob.state == PENDING)
            .values(available_at=utcnow() - timedelta(seconds=1))
        )
        db.session.commit()


def sweep(app: Flask) -> Any:
    """Run the periodic sweep as beat would (in-process here: the test app is eager)."""
    return app.extensions["celery"].tasks[jobs.SWEEP_TASK].apply().result


def test_a_queued_job_is_written_in_the_same_transaction(ctx: None, outbox: list[Any]) -> None:
    user = services.register_user("writer", "writer@example.com", "long-enough-password")
    (row,) = rows()
    assert (row.task_name, row.args, row.state, row.attempts) == (CONFIRM, [user.id], PENDING, 1)
    # Its lease starts now: the sweep leaves it alone while it is being handed over.
    assert row.available_at > utcnow() + timedelta(seconds=50)
    db.session.rollback()
    assert rows() == []
    assert outbox == []


def test_the_task_marks_its_job_done_in_its_own_commit(ctx: None, outbox: list[Any]) -> None:
    user = services.register_user("done", "done@example.com", "long-enough-password")
    db.session.commit()  # handed over after the commit; the test app runs it here and now
    assert [m.to for m in outbox] == [[user.email]]
    (row,) = rows()
    db.session.refresh(row)
    assert row.state == DONE
    assert row.done_at is not None
    # The email carries a Message-ID made from its key: the same on every attempt.
    assert outbox[0].extra_headers["Message-ID"] == f"<{row.key}.1@localhost>"


def test_the_demo_seed_drops_its_jobs_with_their_rows(ctx: None, outbox: list[Any]) -> None:
    services.register_user("seeded", "seeded@example.com", "long-enough-password")
    jobs.drop_pending()
    db.session.commit()
    assert rows() == []
    assert outbox == []


def test_the_sweep_sends_a_job_whose_lease_ran_out_and_only_then(
    app: Flask, make: Any, outbox: list[Any], outbox_log: Any
) -> None:
    user = make.user(email="orphan@example.com", email_confirmed_at=None)
    orphan_job(app, user.id)
    assert sweep(app) == 0  # merely slow: its lease has not run out
    assert outbox == []

    expire_leases(app)
    assert sweep(app) == 1
    assert [m.to for m in outbox] == [["orphan@example.com"]]
    assert "was not done in time: sending it again (attempt 2)" in outbox_log.text
    with app.app_context():
        (row,) = rows()
        assert (row.state, row.attempts) == (DONE, 2)
    assert sweep(app) == 0  # done is done
    assert len(outbox) == 1


def test_without_a_broker_each_web_process_sweeps_by_itself(
    build_app: Callable[..., Flask],
) -> None:
    # The embedded default: no beat, so the periodic runner thread of the web process sweeps.
    app = build_app(
        PERIODIC_JOBS_IN_PROCESS=True, PERIODIC_JOBS={jobs.SWEEP_TASK: 0.2}, OUTBOX_LEASE=0
    )
    mail = app.extensions["mailman"]
    mail.outbox = []
    with app.app_context():
        user = UserFactory(email="embedded@example.com", email_confirmed_at=None)
        add(CONFIRM, (user.id,))  # committed, never handed over: its process died
        db.session.commit()
    runner = jobs.start_periodic_runner(app)
    assert runner is not None
    try:
        deadline = time.monotonic() + 20
        while not mail.outbox and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        runner.stop()
        runner.join(5)
    assert [m.to for m in mail.outbox] == [["embedded@example.com"]]
    with app.app_context():
        assert [row.state for row in rows()] == [DONE]


def test_each_hand_over_gets_a_longer_lease(app: Flask, make: Any) -> None:
    user = make.user()
    orphan_job(app, user.id)
    lease = app.config["OUTBOX_LEASE"]
    with app.app_context():
        now = utcnow() + timedelta(seconds=lease + 1)
        assert len(claim_due(now)) == 1
        db.session.commit()
        assert claim_due(now + timedelta(seconds=2 * lease - 1)) == []  # not yet
        later = now + timedelta(seconds=2 * lease + 1)
        assert len(claim_due(later)) == 1  # attempt 3
        db.session.commit()
        (row,) = rows()
        assert row.attempts == 3
        assert row.available_at == later + timedelta(seconds=4 * lease)


def test_a_job_out_of_attempts_is_marked_failed_logged_and_counted(
    app: Flask, make: Any, outbox: list[Any], outbox_log: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    user = make.user()
    monkeypatch.setitem(app.config, "OUTBOX_MAX_ATTEMPTS", 1)
    key = orphan_job(app, user.id)
    with app.app_context():
        db.session.execute(update(OutboxJob).values(last_error="SMTPServerDisconnected: gone"))
        db.session.commit()
    before = REGISTRY.get_sample_value("penpress_outbox_jobs_given_up_total", {"task": CONFIRM})
    expire_leases(app)
    assert sweep(app) == 0
    assert outbox == []
    after = REGISTRY.get_sample_value("penpress_outbox_jobs_given_up_total", {"task": CONFIRM})
    assert (after or 0) - (before or 0) == 1
    assert f"(key {key}) gave up after 1 attempts" in outbox_log.text
    assert "SMTPServerDisconnected: gone" in outbox_log.text
    with app.app_context():
        assert [row.state for row in rows()] == [FAILED]
        assert counts() == {PENDING: 0, DONE: 0, FAILED: 1}
    metrics = app.test_client().get("/metrics").get_data(as_text=True)
    assert 'penpress_outbox_jobs{state="failed"} 1.0' in metrics


def test_the_admin_console_shows_jobs_given_up(
    app: Flask, make: Any, login: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    user = make.user()
    monkeypatch.setitem(app.config, "OUTBOX_MAX_ATTEMPTS", 1)
    orphan_job(app, user.id)
    expire_leases(app)
    sweep(app)
    client = app.test_client()
    login(client, make.user(role_name="admin"))
    page = client.get("/admin/settings").get_data(as_text=True)
    assert "Given up after their last attempt: <strong>1</strong>" in page


def test_sweepers_running_at_once_hand_each_job_over_once(app: Flask, make: Any) -> None:
    user = make.user()
    keys = {orphan_job(app, user.id) for _ in range(30)}
    expire_leases(app)
    start = threading.Barrier(3)
    claimed: list[list[str]] = []

    def sweeper() -> None:
        with app.app_context():
            start.wait()
            mine = [job.key for job in claim_due()]
            db.session.commit()
            claimed.append(mine)

    threads = [threading.Thread(target=sweeper) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    everything = [key for mine in claimed for key in mine]
    assert len(claimed) == 3
    assert sorted(everything) == sorted(keys)  # each once, none twice


@pytest.mark.postgres
def test_on_postgresql_a_sweeper_skips_rows_another_one_holds(app: Flask, make: Any) -> None:
    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("SKIP LOCKED is PostgreSQL's; SQLite claims with conditional updates")
    user = make.user()
    for _ in range(3):
        orphan_job(app, user.id)
    expire_leases(app)
    holding = app.app_context()
    holding.push()
    try:
        first = claim_due()  # locked until this transaction ends
        assert len(first) == 3
        result: list[Any] = []

        def other() -> None:
            with app.app_context():
                result.append(claim_due())  # must not wait for the locks
                db.session.rollback()

        thread = threading.Thread(target=other)
        thread.start()
        thread.join(10)
        assert result == [[]]
        db.session.commit()
    finally:
        holding.pop()


def test_pruning_forgets_old_done_jobs_and_sent_emails_only(
    app: Flask, make: Any, outbox: list[Any]
) -> None:
    user = make.user()
    old = utcnow() - timedelta(seconds=app.config["OUTBOX_KEEP_DONE"] + 60)
    with app.app_context():
        keys = [orphan_job(app, user.id) for _ in range(4)]
        db.session.execute(
            update(OutboxJob).where(OutboxJob.key == keys[0]).values(state=DONE, done_at=old)
        )
        db.session.execute(
            update(OutboxJob).where(OutboxJob.key == keys[1]).values(state=DONE, done_at=utcnow())
        )
        db.session.execute(update(OutboxJob).where(OutboxJob.key == keys[2]).values(state=FAILED))
        db.session.add_all(
            [
                EmailDelivery(key="old.1", state="sent", started_at=old, sent_at=old),
                EmailDelivery(key="new.1", state="sent", started_at=old, sent_at=utcnow()),
            ]
        )
        db.session.commit()
    assert app.extensions["celery"].tasks[jobs.PRUNE_TASK].apply().result == 1
    with app.app_context():
        assert {row.key for row in rows()} == set(keys[1:])
        assert set(db.session.scalars(select(EmailDelivery.key))) == {"new.1"}


# --- one email per key ----------------------------------------------------------------------


@pytest.fixture
def in_job(app: Flask) -> Iterator[str]:
    """An app context working for an outbox job (as a task's is); yields the job's key."""
    with app.app_context():
        begin_job("k" * 32)
        yield "k" * 32


def send_one(user: User | None = None) -> None:
    send_email("someone@example.com", "Hello", "confirm_email", user=user, confirm_url="x")


def deliveries() -> dict[str, str]:
    return dict(db.session.execute(select(EmailDelivery.key, EmailDelivery.state)).all())


def test_a_job_run_again_does_not_send_its_email_again(
    app: Flask, make: Any, outbox: list[Any]
) -> None:
    user = make.user(email="once@example.com", email_confirmed_at=None)
    key = orphan_job(app, user.id)
    confirm = app.extensions["celery"].tasks[CONFIRM]
    for _ in range(3):  # a redelivered message, a re-sent job, a retry
        assert confirm.apply(args=(user.id,), task_id=task_id(key)).successful()
    assert [m.to for m in outbox] == [["once@example.com"]]
    with app.app_context():
        assert deliveries() == {f"{key}.1": "sent"}


def test_an_email_another_attempt_is_sending_waits_for_a_retry(
    in_job: str, outbox: list[Any]
) -> None:
    db.session.add(EmailDelivery(key=f"{in_job}.1", state="sending", started_at=utcnow()))
    db.session.commit()
    with pytest.raises(TransientMailError, match="being sent by another attempt"):
        send_one()
    assert outbox == []


def test_a_claim_left_by_a_stopped_process_is_taken_over_and_said_so(
    in_job: str, outbox: list[Any], outbox_log: Any, app: Flask
) -> None:
    # The gap: a process stopped after SMTP accepted, before it recorded "sent". Once its
    # claim is older than the sending lease the email goes again, with the same Message-ID.
    long_ago = utcnow() - timedelta(seconds=6 * app.config["MAIL_TIMEOUT"] + 1)
    db.session.add(EmailDelivery(key=f"{in_job}.1", state="sending", started_at=long_ago))
    db.session.commit()
    send_one()
    assert len(outbox) == 1
    assert outbox[0].extra_headers["Message-ID"] == f"<{in_job}.1@localhost>"
    assert "may get it twice" in outbox_log.text
    assert deliveries() == {f"{in_job}.1": "sent"}


def test_a_refused_email_is_released_for_the_next_attempt(
    in_job: str, outbox: list[Any], app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.servers import free_port

    state = app.extensions["mailman"]
    monkeypatch.setattr(state, "backend", "smtp")
    monkeypatch.setattr(state, "server", "127.0.0.1")
    monkeypatch.setattr(state, "port", free_port())  # nothing listens: refused
    with pytest.raises(TransientMailError):
        send_one()
    assert deliveries() == {f"{in_job}.1": "unsent"}
    monkeypatch.undo()
    state.outbox = outbox
    begin_job(in_job)
    from flask import g

    g.pop("penpress_emails_in_job")  # the retry counts its emails from one again
    send_one()
    assert len(outbox) == 1
    assert deliveries() == {f"{in_job}.1": "sent"}


def test_each_email_of_a_job_has_its_own_key(in_job: str, outbox: list[Any]) -> None:
    send_one()
    send_one()
    assert deliveries() == {f"{in_job}.1": "sent", f"{in_job}.2": "sent"}
    assert len(outbox) == 2


def test_email_outside_a_job_is_sent_without_a_key(app: Flask, outbox: list[Any]) -> None:
    with app.app_context():
        send_one()
        assert deliveries() == {}
    assert "Message-ID" not in outbox[0].extra_headers
