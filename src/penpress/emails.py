"""Sending email: messages rendered from templates (text and HTML) through Flask-Mailman.

The backend is configuration: ``file`` (``instance/outbox``) by default, ``smtp`` in
production, ``locmem`` in tests. Tasks call :func:`send_email`; a failure that may go away
(the server is down, busy or answers 4xx) raises :class:`TransientMailError` so the task is
retried, anything else is permanent.

Every email an outbox job sends has an idempotency key: the job's key and the email's number
within the job. Its :class:`EmailDelivery` row is claimed as ``sending`` (committed) before the
SMTP conversation and marked ``sent`` right after the server accepted the message, so a retried
or re-sent job skips what was sent. The one gap: a process that stops after the server accepted
the message and before ``sent`` is recorded (it keeps trying for ``SENT_RECORD_PATIENCE``
seconds) leaves ``sending``; once that claim is older than the sending lease, the email is sent
again, with the same ``Message-ID``. Delivery is at least once in that case, exactly once
otherwise.
"""

from __future__ import annotations

import logging
import smtplib
import time
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from flask import current_app, g, render_template
from flask_mailman import EmailMultiAlternatives
from sqlalchemy import String, and_, delete, or_, select, update
from sqlalchemy.exc import InterfaceError, OperationalError, SQLAlchemyError
from sqlalchemy.orm import Mapped, mapped_column

from penpress import outbox
from penpress.database import Base, UTCDateTime, insert_ignoring_duplicates, utcnow
from penpress.extensions import db, mail

log = logging.getLogger(__name__)

SENDING = "sending"  # an attempt holds the email: the SMTP conversation may be under way
SENT = "sent"  # the SMTP server accepted it: never again
UNSENT = "unsent"  # an attempt failed before the server accepted it: the next one may send
SENT_RECORD_PATIENCE = (0.0, 0.5, 1.0, 2.0, 4.0, 8.0)  # pauses before each try to record "sent"
_COUNTER = "penpress_emails_in_job"  # key in g: emails this job has sent so far
_accepted_unrecorded: set[str] = set()  # keys SMTP accepted whose "sent" could not be recorded


class EmailDelivery(Base):
    """Where one email of an outbox job stands, by its idempotency key."""

    __tablename__ = "email_deliveries"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    state: Mapped[str] = mapped_column(String(16))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)  # when the last claim was made
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)


class TransientMailError(Exception):
    """Sending failed in a way that may work when tried again later."""


# How every email task retries: transient mail and database errors (a server that went away,
# a connection it closed) are tried again after 5 s, 10 s, 20 s ... (with jitter, at most 10
# minutes apart), six times at most. After that, the outbox's sweep sends the job again.
EMAIL_TASK_RETRY: dict[str, Any] = {
    "autoretry_for": (TransientMailError, OperationalError, InterfaceError),
    "retry_backoff": 5,
    "retry_backoff_max": 600,
    "max_retries": 6,
}


def send_email(to: str, subject: str, template: str, **context: Any) -> None:
    """Send ``email/<template>.txt`` with ``email/<template>.html`` as its HTML alternative.

    The templates see the app's context processors (the site's name among them). Sent by an
    outbox job, the email is sent at most once however often the job runs (but see the module's
    note on the one gap).
    """
    key = _next_key()
    headers = {"Message-ID": message_id(key)} if key else {}
    message = compose(to, subject, template, headers=headers, **context)
    if key is not None and not _claim(key):
        log.info("%r email %s was sent before; not sending it again", template, key)
        return
    try:
        _deliver(message)
    except BaseException:
        if key is not None:
            _release(key)
        raise
    if key is not None:
        _record_sent(key)
    log.info("sent %r email via the %s backend", template, mail_backend())
    _announce_outbox()


def compose(
    to: str,
    subject: str,
    template: str,
    *,
    headers: dict[str, str] | None = None,
    from_email: str | None = None,
    connection: Any = None,
    **context: Any,
) -> EmailMultiAlternatives:
    """The message of ``email/<template>.txt`` with ``email/<template>.html`` as its HTML
    alternative, from ``MAIL_DEFAULT_SENDER`` unless ``from_email`` says otherwise; sent through
    ``connection`` (an open one, for many messages) or a new connection of the configured
    backend."""
    message = EmailMultiAlternatives(
        subject=" ".join(subject.split()),  # a header is one line
        body=render_template(f"email/{template}.txt", **context),
        from_email=from_email or current_app.config["MAIL_DEFAULT_SENDER"],
        to=[to],
        connection=connection if connection is not None else mail.get_connection(),
        headers=headers or {},
    )
    message.attach_alternative(render_template(f"email/{template}.html", **context), "text/html")
    return message


def _deliver(message: EmailMultiAlternatives) -> None:
    """Hand ``message`` to the backend; failures that may pass become TransientMailError."""
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


# --- idempotency: one delivery per key ----------------------------------------------------------


def _next_key() -> str | None:
    """The key of the email about to be sent: its outbox job's key and its number in the job."""
    job_key = outbox.current_key()
    if job_key is None:
        return None
    number = int(g.get(_COUNTER, 0)) + 1
    setattr(g, _COUNTER, number)
    return f"{job_key}.{number}"


def message_id(key: str) -> str:
    """The same Message-ID on every attempt, so a copy sent twice in the gap reads as one."""
    host = urlsplit(str(current_app.config.get("SITE_URL") or "")).hostname or "penpress"
    return f"<{key}@{host}>"


def sending_lease() -> timedelta:
    """How long a ``sending`` claim holds off other attempts: an SMTP conversation is a few
    exchanges, each bounded by ``MAIL_TIMEOUT``."""
    return timedelta(seconds=6 * int(current_app.config["MAIL_TIMEOUT"]))


def _claim(key: str) -> bool:
    """Claim the email for this attempt (committed at once); False when it was sent already.

    Raises TransientMailError (so the task is retried) while another attempt holds a fresh
    claim. A claim older than the sending lease belonged to a process that stopped, perhaps
    after the server accepted the email: it is taken over and the email sent again.
    """
    if key in _accepted_unrecorded:  # this process sent it; the database missed the news
        _record_sent(key)
        return False
    now = utcnow()
    stale = now - sending_lease()
    with db.engine.begin() as connection:
        inserted = connection.execute(
            insert_ignoring_duplicates(EmailDelivery, connection.dialect)
            .values(key=key, state=SENDING, started_at=now)
            .returning(EmailDelivery.key)  # a row exactly when it was inserted
        ).first()
        if inserted is not None:
            return True
        state = connection.scalar(select(EmailDelivery.state).where(EmailDelivery.key == key))
        if state == SENT:
            return False
        # The conditions make the claim safe against another attempt claiming at once.
        taken = connection.execute(
            update(EmailDelivery)
            .where(
                EmailDelivery.key == key,
                or_(
                    EmailDelivery.state == UNSENT,
                    and_(EmailDelivery.state == SENDING, EmailDelivery.started_at < stale),
                ),
            )
            .values(state=SENDING, started_at=now)
            .returning(EmailDelivery.key)
        ).first()
    if taken is None:
        raise TransientMailError(f"email {key} is being sent by another attempt")
    if state == SENDING:
        log.warning(
            "email %s: an earlier attempt stopped while sending it; sending it again "
            "(the recipient may get it twice, with the same Message-ID)",
            key,
        )
    return True


def _release(key: str) -> None:
    """Best effort: the server did not accept the email, so the next attempt may send it."""
    try:
        with db.engine.begin() as connection:
            connection.execute(
                update(EmailDelivery)
                .where(EmailDelivery.key == key, EmailDelivery.state == SENDING)
                .values(state=UNSENT)
            )
    except SQLAlchemyError:
        log.debug("could not release email %s; its claim runs out instead", key, exc_info=True)


def _record_sent(key: str) -> None:
    """Record that the server accepted the email, trying through a short database outage.

    If the database stays away, the key is remembered in this process and the error raised, so
    the task is retried and a retry in this process sends nothing twice.
    """
    _accepted_unrecorded.add(key)
    for attempt, pause in enumerate(SENT_RECORD_PATIENCE):
        time.sleep(pause)
        try:
            with db.engine.begin() as connection:
                connection.execute(
                    update(EmailDelivery)
                    .where(EmailDelivery.key == key)
                    .values(state=SENT, sent_at=utcnow())
                )
        except SQLAlchemyError:
            if attempt == len(SENT_RECORD_PATIENCE) - 1:
                log.error("email %s was sent but could not be recorded as sent", key)
                raise
            log.warning("recording email %s as sent failed; trying again", key, exc_info=True)
            continue
        _accepted_unrecorded.discard(key)
        return


def prune_deliveries() -> None:
    """Forget sent emails older than ``OUTBOX_KEEP_DONE`` (their jobs are pruned with them)."""
    cutoff = utcnow() - timedelta(seconds=float(current_app.config["OUTBOX_KEEP_DONE"]))
    db.session.execute(
        delete(EmailDelivery).where(EmailDelivery.state == SENT, EmailDelivery.sent_at < cutoff),
        execution_options={"synchronize_session": False},
    )


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
