"""No email is lost to a fault: Redis, PostgreSQL or the SMTP server going away while jobs run.

A web app publishes to a Redis of this module's own; a real ``celery -A penpress.celery_app
worker -B`` (Celery beat inside it, sweeping the outbox every second) sends through a real SMTP
server on 127.0.0.1 (aiosmtpd). Each test breaks one part while emails are on their way, puts
it back, and checks that every email arrived exactly once and every outbox job is done.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import select

from penpress.blog.services import comments
from penpress.extensions import db
from penpress.outbox import DONE, OutboxJob
from tests import stack
from tests.conftest import test_settings as settings_for
from tests.factories import PostFactory, UserFactory
from tests.prod.conftest import migrated_app
from tests.servers import PostgresServer, RedisServer
from tests.smtp_sink import SmtpSink, duplicates, smtp_sink

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.slow, pytest.mark.timeout(240)]

LEASE = 4  # seconds before the sweep sends a job again (production: 60)
SITE_URL = "http://penpress.test"
SECRET_KEY = "outbox-fault-tests-secret-0123456789-abcdefghijkl"
DELIVERY_WAIT = 90.0  # seconds for every email to arrive once the fault is over; usually ~10


@dataclass
class JobsStack:
    web: Flask
    sink: SmtpSink
    worker_log: Path


@pytest.fixture(scope="module")
def sink() -> Iterator[SmtpSink]:
    with smtp_sink() as started:
        yield started


@pytest.fixture(scope="module")
def jobs(
    app: Flask,
    own_postgres: PostgresServer,
    own_redis: RedisServer,
    sink: SmtpSink,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[JobsStack]:
    """The web app (jobs to Redis) and a worker with beat, both on this module's servers."""
    folder = tmp_path_factory.mktemp("outbox-faults")
    database = own_postgres.create_database("penpress_outbox")
    web = migrated_app(
        settings_for(
            folder,
            SQLALCHEMY_DATABASE_URI=database,
            REDIS_URL=own_redis.url(),
            CACHE_TYPE="NullCache",
            CELERY_ALWAYS_EAGER=False,
            SITE_URL=SITE_URL,
            SECRET_KEY=SECRET_KEY,
            OUTBOX_LEASE=LEASE,
        )
    )
    env = stack.environment(
        folder / "instance",
        config=f'OUTBOX_LEASE = {LEASE}\nPERIODIC_JOBS = {{"penpress.outbox.sweep": 1}}\n',
        PENPRESS_CONFIG="production",
        DATABASE_URL=database,
        REDIS_URL=own_redis.url(),
        SECRET_KEY=SECRET_KEY,
        SITE_URL=SITE_URL,
        MAIL_SERVER="127.0.0.1",
        MAIL_PORT=str(sink.port),
        MAIL_TIMEOUT="5",
        LOG_LEVEL="INFO",
    )
    log = folder / "worker.log"
    # Supervised like a deployed worker: celery 5.7 with kombu 5.7 exits ("Unrecoverable
    # error: AttributeError ... 'hostname'") when Redis goes away while it holds unacknowledged
    # messages, and production's supervisor starts it again.
    worker = stack.Supervised(
        lambda: stack.celery_worker(env, log, beat_schedule=folder / "beat-schedule")
    )
    try:
        yield JobsStack(web, sink, log)
    finally:
        worker.stop()
        with web.app_context():
            db.session.remove()
            db.engine.dispose()
        app.extensions["celery"].set_default()  # later tests use the session app's Celery


def register(jobs: JobsStack, name: str) -> str:
    """Sign up through the site's form; the address the confirmation goes to."""
    email = f"{name}@example.com"
    form = {
        "username": name,
        "email": email,
        "password": "long-enough-password",
        "password_confirm": "long-enough-password",
    }
    response = jobs.web.test_client().post("/auth/register", data=form)
    assert response.status_code == 303, response.get_data(as_text=True)  # registered
    return email


def pause_until(moment: float) -> None:
    time.sleep(max(0.0, moment - time.monotonic()))


def assert_each_arrives_once(jobs: JobsStack, expected: dict[str, int], why: str) -> None:
    """``expected``: address → how many emails; all arrive, none twice, every job done."""

    def arrived(messages: list[object]) -> bool:
        return all(len(jobs.sink.to(address)) >= n for address, n in expected.items())

    try:
        jobs.sink.wait_until(arrived, DELIVERY_WAIT, why)
        deadline = time.monotonic() + DELIVERY_WAIT
        while (undone := not_done(jobs.web)) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert undone == [], f"outbox jobs not done: {undone}"
    except AssertionError as failure:
        tail = jobs.worker_log.read_text(errors="replace")[-6000:]
        raise AssertionError(f"{failure}\n--- worker log ---\n{tail}") from None
    time.sleep(2)  # room for a late duplicate to show up
    mine = [m for m in jobs.sink.received() if m["To"] in expected]
    assert {address: len(jobs.sink.to(address)) for address in expected} == expected
    assert duplicates(mine) == {}


def not_done(web: Flask) -> list[tuple[str, str]]:
    with web.app_context():
        rows = db.session.execute(
            select(OutboxJob.task_name, OutboxJob.state).where(OutboxJob.state != DONE)
        ).all()
        db.session.rollback()
        return [tuple(row) for row in rows]


def attempts_of(web: Flask) -> list[int]:
    with web.app_context():
        return list(db.session.scalars(select(OutboxJob.attempts)))


def test_registrations_while_redis_is_down_are_all_confirmed_once(
    jobs: JobsStack, own_redis: RedisServer
) -> None:
    expected = {register(jobs, "before-redis"): 1}
    own_redis.stop()
    down_at = time.monotonic()
    try:
        for n in range(4):  # registrations keep working through a 10-second outage
            pause_until(down_at + 2.5 * n)
            expected[register(jobs, f"during-redis-{n}")] = 1
        pause_until(down_at + 10)
    finally:
        own_redis.start()
    expected[register(jobs, "after-redis")] = 1
    assert_each_arrives_once(jobs, expected, "confirmations queued while Redis was down")
    assert max(attempts_of(jobs.web)) > 1  # the sweep sent the ones Redis never saw


def test_comment_notifications_survive_a_postgresql_restart(
    jobs: JobsStack, own_postgres: PostgresServer
) -> None:
    with jobs.web.app_context():
        author = UserFactory(username="pg-author", email="pg-author@example.com")
        post = PostFactory(author=author, published=True, title="Restart proof")
        readers = [UserFactory(username=f"pg-reader-{n}") for n in range(6)]
        db.session.commit()
    jobs.sink.delay = 1.0  # slow enough that the restart lands while emails are in flight
    try:
        with jobs.web.app_context():
            for n, reader in enumerate(readers):
                comments.add_comment(
                    db.session.merge(reader), db.session.merge(post), f"Comment number {n}."
                )
                db.session.commit()  # each handed to the worker as it commits
        jobs.sink.wait_until(lambda got: bool(jobs.sink.to(author.email)), 30, "a first one")
        own_postgres.stop()
        assert len(jobs.sink.to(author.email)) < 6  # the restart lands while they are sent
        time.sleep(3)
        own_postgres.start()
    finally:
        jobs.sink.delay = 0.0
    assert_each_arrives_once(jobs, {author.email: 6}, "notifications around the restart")
    bodies = sorted(str(m.get_body(("plain",)).get_content()) for m in jobs.sink.to(author.email))
    for n in range(6):
        assert sum(f"Comment number {n}." in body for body in bodies) == 1


def test_registrations_while_smtp_refuses_are_sent_once_it_accepts(jobs: JobsStack) -> None:
    refused_before = jobs.sink.refused
    jobs.sink.refusing = True
    try:
        expected = {register(jobs, f"smtp-busy-{n}"): 1 for n in range(3)}
        deadline = time.monotonic() + 30
        while jobs.sink.refused < refused_before + 3 and time.monotonic() < deadline:
            time.sleep(0.1)  # each email was tried and answered 451
        assert jobs.sink.refused >= refused_before + 3
        time.sleep(3)
    finally:
        jobs.sink.refusing = False
    assert_each_arrives_once(jobs, expected, "confirmations refused with 451 for a while")
