"""Rendering and delivery of emails, and the absolute links inside them."""

from __future__ import annotations

import smtplib
from pathlib import Path
from typing import Any

import pytest
from flask import Flask, render_template
from flask_login import login_user
from flask_mailman import EmailMultiAlternatives

from penpress.accounts.auth import attach_login_secret
from penpress.database import utcnow
from penpress.emails import TransientMailError, send_email
from penpress.extensions import db
from penpress.http import external_url


def test_links_keep_the_path_of_the_site_url(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    with app.app_context():
        monkeypatch.setitem(app.config, "SITE_URL", "https://example.org/blog/")
        assert (
            external_url("recovery.confirm_email", token="abc")
            == "https://example.org/blog/auth/confirm/abc"
        )
        monkeypatch.setitem(app.config, "SITE_URL", "http://127.0.0.1:8080")
        assert (
            external_url("recovery.reset_password", token="t")
            == "http://127.0.0.1:8080/auth/reset/t"
        )


def test_the_file_backend_writes_the_outbox_folder(
    app: Flask, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    state = app.extensions["mailman"]
    monkeypatch.setattr(state, "backend", "file")
    monkeypatch.setattr(state, "file_path", str(tmp_path / "outbox"))
    with app.app_context():
        send_email(
            "reader@example.com",
            "Confirm your email address",
            "confirm_email",
            user={"username": "reader"},
            confirm_url="http://localhost/auth/confirm/token",
        )
    (saved,) = (tmp_path / "outbox").iterdir()
    content = saved.read_text()
    assert "Subject: Confirm your email address" in content
    assert "To: reader@example.com" in content
    assert "http://localhost/auth/confirm/token" in content
    assert "text/html" in content


def test_subjects_stay_on_one_line(app: Flask, outbox: list[Any]) -> None:
    with app.app_context():
        send_email(
            "a@example.com",
            "Two\r\nBcc: victim@example.com",
            "confirm_email",
            user={"username": "a"},
            confirm_url="x",
        )
    (message,) = outbox
    assert message.subject == "Two Bcc: victim@example.com"
    assert message.bcc == []


@pytest.mark.parametrize(("confirmed", "shown"), [(False, True), (True, False)])
def test_resend_partial_shows_only_to_unconfirmed_users(
    app: Flask, make: Any, confirmed: bool, shown: bool
) -> None:
    user = make.user(email_confirmed_at=utcnow() if confirmed else None)
    with app.test_request_context("/"):
        user = db.session.merge(user)
        attach_login_secret(user, "not-a-real-session")
        login_user(user)
        html = render_template("recovery/_resend_confirmation.html")
    assert ('action="/auth/confirm/resend"' in html) is shown
    assert ('name="csrf_token"' in html) is shown


@pytest.mark.parametrize(
    ("error", "transient"),
    [
        (smtplib.SMTPRecipientsRefused({"a@example.com": (450, b"mailbox busy")}), True),
        (smtplib.SMTPRecipientsRefused({"a@example.com": (550, b"no such user")}), False),
        (smtplib.SMTPDataError(451, b"try again later"), True),
        (smtplib.SMTPDataError(554, b"rejected as spam"), False),
        (smtplib.SMTPConnectError(421, b"too busy"), True),
        (smtplib.SMTPNotSupportedError("no STARTTLS"), False),
        (TimeoutError("timed out"), True),
    ],
)
def test_mail_failures_are_sorted_into_transient_and_permanent(
    app: Flask, monkeypatch: pytest.MonkeyPatch, error: Exception, transient: bool
) -> None:
    def fail(self: Any, fail_silently: bool = False) -> int:
        raise error

    monkeypatch.setattr(EmailMultiAlternatives, "send", fail)
    expected = TransientMailError if transient else type(error)
    with app.app_context(), pytest.raises(expected) as raised:
        send_email("a@example.com", "Hi", "confirm_email", user={"username": "a"}, confirm_url="x")
    assert isinstance(raised.value, TransientMailError) is transient
