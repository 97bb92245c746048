"""Jobs are handed over only after the commit, run after the response, retry what may pass."""

from __future__ import annotations

import logging
import smtplib
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import event, select

from penpress.accounts import services, tasks
from penpress.emails import TransientMailError, send_email
from penpress.extensions import db
from penpress.jobs import PUBLISH_PAUSED_UNTIL, Job, celery_settings, pending_jobs, run_jobs
from penpress.outbox import OutboxJob
from tests.factories import DEFAULT_PASSWORD


@pytest.fixture
def jobs_log(caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch) -> Any:
    """Errors logged by the job runner (Alembic's fileConfig disables loggers made before it)."""
    monkeypatch.setattr(logging.getLogger("penpress.jobs"), "disabled", False)
    with caplog.at_level(logging.ERROR, logger="penpress.jobs"):
        yield caplog


def test_registration_queues_a_confirmation_that_is_sent_after_the_commit(
    ctx: None, outbox: list[Any]
) -> None:
    user = services.register_user("newcomer", "newcomer@example.com", "long-enough-password")
    assert [job.task_name for job in pending_jobs()] == [tasks.send_confirmation_email.name]
    assert outbox == []  # nothing leaves before the account exists for others to see
    db.session.commit()
    assert pending_jobs() == []
    assert [m.to for m in outbox] == [[user.email]]


def test_rolled_back_work_sends_nothing(ctx: None, outbox: list[Any]) -> None:
    services.register_user("ghost", "ghost@example.com", "long-enough-password")
    db.session.rollback()
    assert pending_jobs() == []
    db.session.commit()
    assert outbox == []


def test_accounts_made_confirmed_get_no_confirmation_email(ctx: None, outbox: list[Any]) -> None:
    services.create_account("admin1", "admin1@example.com", "long-enough-password", confirmed=True)
    db.session.commit()
    assert outbox == []


def test_an_address_change_emails_the_new_address_and_tells_the_old(
    ctx: None, make: Any, outbox: list[Any]
) -> None:
    user = make.user(email="old@example.com")
    services.request_email_change(user, "new@example.com", DEFAULT_PASSWORD)
    services.update_profile(user, user, bio="unchanged address, no email")
    assert outbox == []  # not before the commit
    db.session.commit()
    assert sorted(m.to for m in outbox) == [["new@example.com"], ["old@example.com"]]


def test_in_process_jobs_wait_until_the_response_is_sent(
    app: Flask, make: Any, outbox: list[Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    make.user(email="late@example.com")
    monkeypatch.setitem(app.config, "JOBS_AFTER_RESPONSE", True)
    client = app.test_client()
    response = client.post("/auth/reset", data={"email": "late@example.com"})
    assert response.status_code == 302
    assert outbox == []  # the client has its answer; the email is not sent yet
    response.close()  # what the WSGI server does once the body is out
    assert [m.to for m in outbox] == [["late@example.com"]]


def test_with_a_broker_jobs_are_published_not_run(
    app: Flask, make: Any, outbox: list[Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    user = make.user(email="queued@example.com")
    task = app.extensions["celery"].tasks[tasks.send_password_reset_email.name]
    published: list[Any] = []
    monkeypatch.setattr(
        task, "apply_async", lambda args, task_id: published.append((args, task_id))
    )
    monkeypatch.setitem(app.config, "CELERY_ALWAYS_EAGER", False)
    response = app.test_client().post("/auth/reset", data={"email": "queued@example.com"})
    assert response.status_code == 302
    with app.app_context():
        row = db.session.scalars(select(OutboxJob)).one()
    # Under its outbox task id, so the worker can mark the row done.
    assert published == [((user.id,), f"outbox-{row.key}")]
    assert outbox == []


def test_an_unreachable_broker_does_not_break_the_request_and_the_job_waits_in_the_outbox(
    app: Flask, make: Any, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    make.user(email="nobroker@example.com")
    make.user(email="second@example.com")
    task = app.extensions["celery"].tasks[tasks.send_password_reset_email.name]
    tries: list[Any] = []

    def refuse(args: Any, task_id: str) -> None:
        tries.append(args)
        raise ConnectionRefusedError("broker down")

    monkeypatch.setattr(logging.getLogger("penpress.jobs"), "disabled", False)
    monkeypatch.setattr(task, "apply_async", refuse)
    monkeypatch.setitem(app.config, "CELERY_ALWAYS_EAGER", False)
    monkeypatch.setitem(app.extensions, PUBLISH_PAUSED_UNTIL, 0.0)  # forgotten after the test
    client = app.test_client()
    with caplog.at_level(logging.INFO, logger="penpress.jobs"):
        assert client.post("/auth/reset", data={"email": "nobroker@example.com"}).status_code == 302
        # The next request does not wait on the broker again: the sweep will send its job.
        assert client.post("/auth/reset", data={"email": "second@example.com"}).status_code == 302
    assert len(tries) == 1
    assert "could not be queued (the outbox sends it again later)" in caplog.text
    assert "left to the sweep" in caplog.text
    with app.app_context():
        rows = db.session.scalars(select(OutboxJob)).all()
    assert [row.state for row in rows] == ["pending", "pending"]


def test_transient_mail_failures_are_retried(
    app: Flask, make: Any, outbox: list[Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    user = make.user()
    from flask_mailman import EmailMultiAlternatives

    real_send = EmailMultiAlternatives.send
    calls: list[int] = []

    def flaky(self: Any, fail_silently: bool = False) -> int:
        calls.append(1)
        if len(calls) < 3:
            raise smtplib.SMTPServerDisconnected("connection dropped")
        return int(real_send(self, fail_silently))

    monkeypatch.setattr(EmailMultiAlternatives, "send", flaky)
    task = app.extensions["celery"].tasks[tasks.send_confirmation_email.name]
    result = task.apply(args=(user.id,))
    assert result.successful()
    assert len(calls) == 3
    assert len(outbox) == 1


def test_permanent_mail_failures_are_not_retried(
    app: Flask, make: Any, monkeypatch: pytest.MonkeyPatch, jobs_log: Any
) -> None:
    user = make.user()
    from flask_mailman import EmailMultiAlternatives

    calls: list[int] = []

    def refused(self: Any, fail_silently: bool = False) -> int:
        calls.append(1)
        raise smtplib.SMTPAuthenticationError(535, b"bad credentials")

    monkeypatch.setattr(EmailMultiAlternatives, "send", refused)
    run_jobs(app, [Job(tasks.send_confirmation_email.name, (user.id,))])
    assert len(calls) == 1
    assert "failed" in jobs_log.text


def test_tasks_do_nothing_when_they_no_longer_apply(
    app: Flask, make: Any, outbox: list[Any]
) -> None:
    from penpress.database import utcnow

    confirmed = make.user(email_confirmed_at=utcnow())
    inactive = make.user(active=False)
    celery = app.extensions["celery"]
    confirm = celery.tasks[tasks.send_confirmation_email.name]
    reset = celery.tasks[tasks.send_password_reset_email.name]
    assert confirm.apply(args=(confirmed.id,)).result is False
    assert confirm.apply(args=(inactive.id,)).result is False
    assert reset.apply(args=(inactive.id,)).result is False
    assert reset.apply(args=(999_999,)).result is False
    assert outbox == []


def test_membership_and_review_emails_skip_what_moved_on(
    app: Flask, make: Any, outbox: list[Any]
) -> None:
    from penpress.accounts import invites
    from penpress.blog import tasks as blog_tasks
    from penpress.extensions import db

    celery = app.extensions["celery"]
    with app.app_context():
        admin = db.session.merge(make.user(role_name="admin"))
        invite = invites.create_invite(admin, "later@example.com", "author")
        invites.revoke_invite(admin, invite.id)
        invite_id = invite.id
        db.session.commit()
    outbox.clear()  # the invitation itself was sent before it was withdrawn
    approved = make.user()  # never waited for approval
    returned = make.post(published=False, status="returned", review_note="Shorter.")
    assert celery.tasks[tasks.send_invite_email.name].apply(args=(invite_id,)).result is False
    request = celery.tasks[tasks.send_approval_request_email.name]
    assert request.apply(args=(approved.id,)).result is False
    announce = celery.tasks[tasks.send_account_approved_email.name]
    assert announce.apply(args=(999_999,)).result is False
    decision = celery.tasks[blog_tasks.notify_writer_of_review.name]
    assert decision.apply(args=(returned.id, "published")).result is False  # not what it is
    assert decision.apply(args=(999_999, "returned")).result is False
    assert outbox == []
    assert decision.apply(args=(returned.id, "returned")).result is True
    assert "Shorter." in outbox[0].body


def test_a_task_commits_once(app: Flask, make: Any, outbox: list[Any]) -> None:
    user = make.user()
    commits: list[int] = []

    def count(_session: Any) -> None:
        commits.append(1)

    task = app.extensions["celery"].tasks[tasks.send_confirmation_email.name]
    event.listen(db.session, "after_commit", count)
    try:
        assert task.apply(args=(user.id,)).result is True
    finally:
        event.remove(db.session, "after_commit", count)
    assert len(commits) == 1


def test_unreachable_smtp_server_is_a_transient_error(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.servers import free_port

    state = app.extensions["mailman"]
    monkeypatch.setattr(state, "backend", "smtp")
    monkeypatch.setattr(state, "server", "127.0.0.1")
    monkeypatch.setattr(state, "port", free_port())  # nothing listens there
    with app.app_context(), pytest.raises(TransientMailError):
        send_email("someone@example.com", "Hello", "confirm_email", user=None, confirm_url="x")


def test_celery_uses_redis_when_configured(app: Flask) -> None:
    from penpress.config import _finalise_jobs_and_mail

    probe = Flask("probe", instance_path=app.instance_path)
    probe.config.update(
        REDIS_URL="redis://127.0.0.1:6379/0",
        CELERY_ALWAYS_EAGER=None,
        MAIL_BACKEND="smtp",
    )
    _finalise_jobs_and_mail(probe)
    settings = celery_settings(probe)
    assert settings["broker_url"] == settings["result_backend"] == "redis://127.0.0.1:6379/0"
    assert settings["task_always_eager"] is False
    assert settings["task_acks_late"] is True
    # The outbox re-sends lost jobs; Redis keeps no delivered messages for redelivery.
    assert settings["broker_transport_options"]["ack_emulation"] is False

    embedded = Flask("embedded", instance_path=app.instance_path)
    embedded.config.update(CELERY_ALWAYS_EAGER=None, MAIL_BACKEND="file")
    _finalise_jobs_and_mail(embedded)
    assert celery_settings(embedded)["task_always_eager"] is True
    assert embedded.config["MAIL_FILE_PATH"].endswith("outbox")


def test_a_failing_task_saves_nothing(app: Flask, make: Any) -> None:
    from penpress.accounts.models import User

    user = make.user()
    celery = app.extensions["celery"]

    @celery.task(name="tests.confirm_then_fail", shared=False)
    def confirm_then_fail(user_id: int) -> None:
        found = db.session.get(User, user_id)
        assert found is not None
        services.mark_email_confirmed(found)  # flushed, not committed
        raise RuntimeError("boom")

    try:
        assert confirm_then_fail.apply(args=(user.id,)).failed()
    finally:
        del celery.tasks["tests.confirm_then_fail"]
    with app.app_context():
        reloaded = db.session.get(User, user.id)
        assert reloaded is not None
        assert reloaded.email_confirmed_at is None


def test_a_job_queued_by_an_older_version_still_sends(
    app: Flask, make: Any, outbox: list[Any]
) -> None:
    # Before links came from SITE_URL alone, jobs carried the base URL as a second argument;
    # such messages may still wait in Redis during an upgrade.
    user = make.user(email="older@example.com")
    task = app.extensions["celery"].tasks[tasks.send_password_reset_email.name]
    assert task.apply(args=(user.id, "http://evil.example/")).result is True
    assert [m.to for m in outbox] == [["older@example.com"]]
    assert "evil.example" not in outbox[0].body
