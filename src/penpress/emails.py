"""Sending email: messages rendered from templates (text and HTML) through Flask-Mailman.

The backend is configuration: ``file`` (``instance/outbox``) by default, ``smtp`` in
production, ``locmem`` in tests. Tasks call :func:`send_email`; a failure that may go away
(the server is down, busy or answers 4xx) raises :class:`TransientMailError` so the task is
retried, anything else is permanent.
"""

from __future__ import annotations

import logging
import smtplib
from typing import Any

from flask import current_app, render_template
from flask_mailman import EmailMultiAlternatives
from sqlalchemy.exc import OperationalError

from penpress.extensions import mail

log = logging.getLogger(__name__)


class TransientMailError(Exception):
    """Sending failed in a way that may work when tried again later."""


# How every email task retries: transient mail and database errors are tried again after
# 5 s, 10 s, 20 s ... (with jitter, at most 10 minutes apart), six times at most.
EMAIL_TASK_RETRY: dict[str, Any] = {
    "autoretry_for": (TransientMailError, OperationalError),
    "retry_backoff": 5,
    "retry_backoff_max": 600,
    "max_retries": 6,
}


def send_email(to: str, subject: str, template: str, **context: Any) -> None:
    """Send ``email/<template>.txt`` with ``email/<template>.html`` as its HTML alternative.

    The templates see the app's context processors (the site's name among them).
    """
    message = EmailMultiAlternatives(
        subject=" ".join(subject.split()),  # a header is one line
        body=render_template(f"email/{template}.txt", **context),
        from_email=current_app.config["MAIL_DEFAULT_SENDER"],
        to=[to],
        connection=mail.get_connection(),
    )
    message.attach_alternative(render_template(f"email/{template}.html", **context), "text/html")
    try:
        message.send()
    except smtplib.SMTPRecipientsRefused as error:
        codes = [code for code, _ in error.recipients.values()]
        if codes and all(400 <= code < 500 for code in codes):
            raise TransientMailError("recipient refused for now") from error
        raise
    except (smtplib.SMTPConnectError, smtplib.SMTPServerDisconnected) as error:
        raise TransientMailError(type(error).__name__) from error
    except smtplib.SMTPResponseException as error:
        if 400 <= error.smtp_code < 500:
            raise TransientMailError(f"SMTP {error.smtp_code}") from error
        raise
    except smtplib.SMTPException:
        raise  # refused for good (authentication, unsupported): retrying will not help
    except OSError as error:  # refused, reset or timed-out connections
        raise TransientMailError(type(error).__name__) from error
    log.info("sent %r email via the %s backend", template, mail_backend())
    _announce_outbox()


_announced_outboxes: set[str] = set()


def _announce_outbox() -> None:
    """Say once per process where the ``file`` backend writes, so a developer finds the mail."""
    config = current_app.config
    if config.get("MAIL_BACKEND") != "file" or not config.get("MAIL_FILE_PATH"):
        return
    path = str(config["MAIL_FILE_PATH"])
    if path not in _announced_outboxes:
        _announced_outboxes.add(path)
        log.warning("email is not sent in this mode: it is written to files in %s", path)


def mail_backend() -> str:
    return str(current_app.extensions["mailman"].backend)
