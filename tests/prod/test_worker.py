"""End to end through the production stack: a real Celery worker on Redis and a real SMTP server.

The test starts ``celery -A penpress.celery_app worker`` as a separate process, configured
only through environment variables like a deployed worker: the test's database, a throwaway
Redis as broker, and an aiosmtpd server on 127.0.0.1 as its SMTP server. What the worker sends
is read from that server, and the link in it is followed with the test client.
"""

from __future__ import annotations

import email
import email.policy
import os
import re
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest
from aiosmtpd.controller import Controller
from flask import Flask
from werkzeug.security import check_password_hash

from penpress import create_app
from penpress.accounts import services
from penpress.accounts.models import User
from penpress.extensions import db
from tests import conftest as shared
from tests.servers import free_port

pytestmark = [pytest.mark.redis, pytest.mark.timeout(180)]

MAIL_WAIT = 60.0  # seconds for the worker to start and deliver; normally a few
SITE_URL = "http://penpress.test"
LINK = re.compile(r"http://penpress\.test/[^\s\"'<>]+")


@dataclass
class Inbox:
    """aiosmtpd handler keeping every delivered message."""

    messages: list[EmailMessage] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        self.messages.append(parsed)
        return "250 Message accepted for delivery"

    def wait_for(self, count: int, worker_log: Path) -> EmailMessage:
        deadline = time.monotonic() + MAIL_WAIT
        while len(self.messages) < count:
            if time.monotonic() > deadline:
                log = worker_log.read_text(errors="replace")[-4000:]
                pytest.fail(f"no email #{count} within {MAIL_WAIT:.0f}s; worker log:\n{log}")
            time.sleep(0.1)
        return self.messages[count - 1]


@pytest.fixture
def smtp_inbox() -> Iterator[tuple[Inbox, int]]:
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


@pytest.fixture
def broker_url(redis_url: str) -> str:
    """A Redis database of its own on the test Redis, so no other test sees the queue."""
    parts = urlsplit(redis_url)
    return urlunsplit(parts._replace(path=f"/{11}"))


@pytest.fixture
def producer(app: Flask, broker_url: str, tmp_path: Path) -> Iterator[Flask]:
    """A web app like production's: same database and secret, jobs published to Redis."""
    web = create_app(
        shared.test_settings(
            tmp_path,
            SQLALCHEMY_DATABASE_URI=app.config["SQLALCHEMY_DATABASE_URI"],
            SECRET_KEY=app.config["SECRET_KEY"],
            REDIS_URL=broker_url,
            CACHE_TYPE="NullCache",
            CELERY_ALWAYS_EAGER=False,
            SITE_URL=SITE_URL,
        )
    )
    yield web
    with web.app_context():
        db.session.remove()
        db.engine.dispose()
    app.extensions["celery"].set_default()  # later tests use the session app's Celery again


@pytest.fixture
def worker(
    app: Flask, broker_url: str, smtp_inbox: tuple[Inbox, int], tmp_path: Path
) -> Iterator[Path]:
    """``celery -A penpress.celery_app worker`` configured by environment only; yields its log."""
    _, smtp_port = smtp_inbox
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("PENPRESS_", "MAIL_", "CELERY_")) and key not in {"SITE_URL"}
    }
    env.update(
        PENPRESS_CONFIG="development",
        DATABASE_URL=app.config["SQLALCHEMY_DATABASE_URI"],
        SECRET_KEY=app.config["SECRET_KEY"],
        REDIS_URL=broker_url,
        SITE_URL=SITE_URL,
        MAIL_BACKEND="smtp",
        MAIL_SERVER="127.0.0.1",
        MAIL_PORT=str(smtp_port),
        MAIL_USE_TLS="false",
        MAIL_TIMEOUT="10",
    )
    log_path = tmp_path / "worker.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(  # noqa: S603  (fixed argv)
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "penpress.celery_app",
                "worker",
                "--pool=solo",
                "--loglevel=INFO",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
                f"--hostname=e2e-{uuid.uuid4().hex[:8]}@localhost",
            ],
            env=env,
            cwd=tmp_path,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        yield log_path
    finally:
        process.send_signal(signal.SIGTERM)  # warm shutdown
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def text_and_html(message: EmailMessage) -> tuple[str, str]:
    text = message.get_body(preferencelist=("plain",))
    html = message.get_body(preferencelist=("html",))
    assert text is not None, "the email needs a text part"
    assert html is not None, "the email needs an HTML part"
    return str(text.get_content()), str(html.get_content())


def test_registration_email_confirms_the_account_through_a_worker_and_smtp(
    producer: Flask, worker: Path, smtp_inbox: tuple[Inbox, int]
) -> None:
    inbox, _ = smtp_inbox
    with producer.test_request_context():
        user = services.register_user("celery-fan", "fan@example.com", "long-enough-password")
        user_id = user.id
        db.session.commit()  # the job is published to Redis now, not before

    message = inbox.wait_for(1, worker)
    assert message["To"] == "fan@example.com"
    assert message["Subject"] == "Confirm your email address"
    text, html = text_and_html(message)
    (link,) = LINK.findall(text)
    assert f'href="{link}"' in html
    assert link.startswith(f"{SITE_URL}/auth/confirm/")

    client = producer.test_client()
    response = client.get(urlsplit(link).path)
    assert response.status_code == 302
    with producer.app_context():
        confirmed = db.session.get(User, user_id)
        assert confirmed is not None
        assert confirmed.email_confirmed_at is not None

    # A reset requested through a page goes the same way: request, worker, SMTP, link.
    assert client.post("/auth/reset", data={"email": "fan@example.com"}).status_code == 302
    reset = inbox.wait_for(2, worker)
    assert reset["Subject"] == "Reset your password"
    (reset_link,) = LINK.findall(text_and_html(reset)[0])
    new_password = "chosen-after-reset"
    response = client.post(
        urlsplit(reset_link).path,
        data={"password": new_password, "password_confirm": new_password},
    )
    assert response.status_code == 302
    with producer.app_context():
        changed = db.session.get(User, user_id)
        assert changed is not None
        assert check_password_hash(changed.password_hash, new_password)
