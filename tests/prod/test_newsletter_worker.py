"""A post emailed to 2,000 subscribers by a real Celery worker, which is killed midway.

The web app queues the send; ``celery -A penpress.celery_app worker`` (configured by environment
only, like a deployed one) plans it into batch tasks due one after another at
``NEWSLETTER_RATE_PER_MINUTE`` and sends them through a real SMTP server (aiosmtpd on
127.0.0.1); ``celery beat`` runs the outbox sweep. The worker is killed (SIGKILL) in the middle
of a batch, while the mail server has not yet taken the email in flight, and started again: the
sweep hands the lost batches over again once their lease has run out, the email in flight is
sent once its claim is stale, and every confirmed subscriber gets the post exactly once; nobody
else gets anything. (A kill in the instant after the server took an email and before the worker
recorded it would send that one twice, with the same Message-ID: see docs/email-and-jobs.md.)
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
from flask import Flask
from sqlalchemy import func, select

from penpress import create_app
from penpress.extensions import db
from penpress.newsletter import sending
from penpress.newsletter.models import PAUSED, PENDING, SENDING, SENT, UNSUBSCRIBED, Delivery
from penpress.outbox import DONE, OutboxJob
from tests import stack
from tests.conftest import test_settings as settings_for
from tests.factories import PostFactory, UserFactory
from tests.newsletter.conftest import add_many, add_subscriber
from tests.smtp_sink import SmtpSink, duplicates, smtp_sink

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.slow, pytest.mark.timeout(300)]

SUBSCRIBERS = 2000
BATCH = 250
RATE = 6000  # per minute: a batch of 250 every 2.5 s, 8 batches in 20 s
INTERVAL = 60 * BATCH / RATE
LEASE = 4  # seconds before the sweep hands a lost batch over again (production: 60)
MAIL_TIMEOUT = 2  # a claim is taken over after 6 times this (production: 60 s)
SITE_URL = "https://penpress.test"
SECRET_KEY = "newsletter-worker-test-secret-0123456789-abcdefgh"
WAIT = 120.0


@pytest.fixture
def sink() -> Iterator[SmtpSink]:
    with smtp_sink() as started:
        yield started


@pytest.fixture
def broker_url(redis_url: str) -> str:
    """A Redis database of its own, so no other test sees the queue."""
    return urlunsplit(urlsplit(redis_url)._replace(path="/12"))


@pytest.fixture
def web(app: Flask, broker_url: str, tmp_path: Path) -> Iterator[Flask]:
    """The web side: the test database, jobs published to Redis."""
    producer = create_app(
        settings_for(
            tmp_path,
            SQLALCHEMY_DATABASE_URI=app.config["SQLALCHEMY_DATABASE_URI"],
            SECRET_KEY=SECRET_KEY,
            REDIS_URL=broker_url,
            CACHE_TYPE="NullCache",
            CELERY_ALWAYS_EAGER=False,
            SITE_URL=SITE_URL,
            OUTBOX_LEASE=LEASE,
        )
    )
    yield producer
    with producer.app_context():
        db.session.remove()
        db.engine.dispose()
    app.extensions["celery"].set_default()  # later tests use the session app's Celery again


def worker_environment(app: Flask, broker_url: str, sink: SmtpSink, folder: Path) -> dict[str, str]:
    return stack.environment(
        folder / "instance",
        config=f'OUTBOX_LEASE = {LEASE}\nPERIODIC_JOBS = {{"penpress.outbox.sweep": 1}}\n',
        PENPRESS_CONFIG="production",
        DATABASE_URL=app.config["SQLALCHEMY_DATABASE_URI"],
        REDIS_URL=broker_url,
        SECRET_KEY=SECRET_KEY,
        SITE_URL=SITE_URL,
        MAIL_SERVER="127.0.0.1",
        MAIL_PORT=str(sink.port),
        MAIL_TIMEOUT=str(MAIL_TIMEOUT),
        NEWSLETTER_RATE_PER_MINUTE=str(RATE),
        NEWSLETTER_BATCH_SIZE=str(BATCH),
        LOG_LEVEL="INFO",
    )


def scalar(web: Flask, statement: object) -> object:
    with web.app_context():
        value = db.session.scalar(statement)  # type: ignore[call-overload]
        db.session.rollback()
        return value


def wait_for(condition: object, why: str, log: Path, timeout: float = WAIT) -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        if time.monotonic() > deadline:
            tail = log.read_text(errors="replace")[-6000:]
            raise AssertionError(f"{why}: not within {timeout:.0f}s\n--- worker log ---\n{tail}")
        time.sleep(0.05)


def test_2000_subscribers_at_the_rate_through_a_worker_restart(
    app: Flask, web: Flask, broker_url: str, sink: SmtpSink, tmp_path: Path
) -> None:
    addresses = [f"reader{n:04d}@example.com" for n in range(SUBSCRIBERS)]
    add_many(web, addresses)
    others = {
        "pending@example.com": PENDING,
        "paused@example.com": PAUSED,
        "left@example.com": UNSUBSCRIBED,
    }
    for address, status in others.items():
        add_subscriber(web, address, status)
    with web.app_context():
        author = UserFactory(email="author@example.com")
        post = PostFactory(author=author, title="To two thousand readers")
        post_id = post.id

    env = worker_environment(app, broker_url, sink, tmp_path)
    log = tmp_path / "worker.log"
    beat = stack.celery_beat(env, tmp_path / "beat.log", tmp_path / "beat-schedule")
    worker = stack.celery_worker(env, log)
    try:
        with web.app_context():
            sending.send_post_to_subscribers(db.session.merge(author), db.session.merge(post))
            db.session.commit()  # the start job goes to Redis now

        # The plan: one task per 250 deliveries, each due INTERVAL after the one before.
        batches = select(func.count()).where(OutboxJob.task_name == sending.BATCH_TASK)
        wait_for(lambda: scalar(web, batches) == SUBSCRIBERS // BATCH, "the batches planned", log)
        with web.app_context():
            due = list(
                db.session.scalars(
                    select(OutboxJob.available_at)
                    .where(OutboxJob.task_name == sending.BATCH_TASK)
                    .order_by(OutboxJob.id)
                )
            )
        # (The first is due at once: its lease counts from when it was queued, a moment later.)
        gaps = [later - earlier for earlier, later in zip(due, due[1:], strict=False)]
        assert gaps[0] <= timedelta(seconds=INTERVAL)
        assert all(
            abs(gap - timedelta(seconds=INTERVAL)) < timedelta(milliseconds=5) for gap in gaps[1:]
        )

        # Kill the worker outright (SIGKILL) in the middle of a batch, while it waits for the
        # mail server to take a recipient: that email is claimed but not sent, and the batches
        # the worker was holding for later die with it.
        wait_for(lambda: len(sink.received()) >= 3 * BATCH, "three batches sent", log)
        sink.holding = True
        try:
            wait_for(lambda: sink.held > 0, "an email in flight", log)
            worker.kill()
            worker.wait(timeout=10)
        finally:
            sink.holding = False
        at_kill = len(sink.received())
        assert at_kill < SUBSCRIBERS
        in_flight = select(func.count()).select_from(Delivery).where(Delivery.state == SENDING)
        assert scalar(web, in_flight) >= 1  # (two, when two batches overlap)

        worker = stack.celery_worker(env, log)  # as a supervisor would
        wait_for(lambda: len(sink.received()) >= SUBSCRIBERS, "every email after the restart", log)
        all_done = select(func.count()).where(OutboxJob.state != DONE)
        wait_for(lambda: scalar(web, all_done) == 0, "every outbox job done", log, timeout=30)
        time.sleep(2)  # room for a late duplicate to show up
    finally:
        stack.stop(worker)
        stack.stop(beat)

    received = sink.received()
    assert duplicates(received) == {}
    per_address = Counter(str(message["To"]) for message in received)
    assert per_address == Counter(addresses)  # each confirmed subscriber exactly once, no one else
    with web.app_context():
        states = dict(
            db.session.execute(select(Delivery.state, func.count()).group_by(Delivery.state)).all()
        )
        resent = db.session.scalar(
            select(func.count()).where(
                OutboxJob.task_name == sending.BATCH_TASK, OutboxJob.attempts > 1
            )
        )
    assert states == {SENT: SUBSCRIBERS}
    assert resent >= 1  # the batches the killed worker held came back through the sweep
    assert "an earlier attempt stopped while sending it" in log.read_text()  # the claim, taken over
    assert post_id
