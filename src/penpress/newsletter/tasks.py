"""Background tasks of the newsletter: confirmation emails, and posts sent in batches.

A batch opens one connection to the mail server and, for each subscriber, claims the
delivery (committed), sends, and records the outcome. What the server says decides what
happens next:

- accepted: the delivery is sent;
- refused for this address (``RCPT`` refused, or the message refused with a 5xx): the refusal
  is recorded against the address (see :func:`penpress.newsletter.sending.record_refusal`), and
  the batch goes on with the next one;
- a failure that is not the address's (connection refused or lost, a 4xx for the whole
  message): the delivery is released and the batch stops; Celery retries it with backoff
  (``EMAIL_TASK_RETRY``), and the deliveries already sent are skipped.
"""

from __future__ import annotations

import logging
import smtplib
from dataclasses import dataclass
from typing import Any

from celery import shared_task
from flask import current_app
from markupsafe import Markup

from penpress.emails import EMAIL_TASK_RETRY, TransientMailError, compose, send_email
from penpress.extensions import mail
from penpress.http import external_url
from penpress.newsletter import rendering, sending, services
from penpress.settings.services import site_title

log = logging.getLogger(__name__)


@shared_task(name=services.CONFIRMATION_TASK, **EMAIL_TASK_RETRY)
def send_confirmation(subscriber_id: int) -> bool:
    """Email the link that confirms a subscription; False when there is nothing to send."""
    email = services.confirmation_to_send(subscriber_id)
    if email is None:
        return False
    send_email(
        email.to,
        f"Confirm your subscription to {site_title()}",
        "newsletter_confirm",
        confirm_url=external_url("newsletter.confirm", token=email.token),
        max_age_days=max(1, int(current_app.config["NEWSLETTER_CONFIRM_MAX_AGE"]) // 86400),
    )
    return True


@shared_task(name=sending.START_TASK, **EMAIL_TASK_RETRY)
def start_send(send_id: int) -> int:
    """Plan a send: its deliveries, and its batches queued at the rate; how many batches."""
    return sending.plan_send(send_id)


@shared_task(name=sending.DUE_TASK)
def start_due_sends() -> int:
    """Periodic: start the sends waiting for posts that have gone live; how many."""
    return len(sending.start_due_sends())


@dataclass(frozen=True)
class PostContent:
    """What every email of a batch shares: rendered once."""

    subject: str
    post_url: str
    html: Markup
    context: dict[str, Any]


@shared_task(name=sending.BATCH_TASK, **EMAIL_TASK_RETRY)
def send_batch(send_id: int, first_id: int, last_id: int) -> int:
    """Email one batch of a post's deliveries over one SMTP connection; how many were sent.

    Raises :class:`TransientMailError` (so Celery retries the batch) when the server fails for
    reasons that are not one address's, refused some addresses for now, or another attempt
    holds some of the deliveries (it may have stopped: its claims are taken over once stale).
    """
    batch = sending.batch_to_send(send_id, first_id, last_id)
    if batch is None or not batch.recipients:
        return 0
    post = batch.post
    post_url = external_url("blog.post", slug=post.slug)
    content = PostContent(
        subject=post.title,
        post_url=post_url,
        html=rendering.absolute_html(post.body_html, post_url),
        context={"post": post, "author": post.author.username},
    )
    connection = mail.get_connection()
    try:
        connection.open()
    except (OSError, smtplib.SMTPException) as error:
        raise TransientMailError(f"cannot reach the mail server: {error}") from error
    sent = 0
    retry_later = False
    try:
        for recipient in batch.recipients:
            claim = sending.claim_delivery(recipient)
            if claim != sending.CLAIMED:
                retry_later = retry_later or claim == sending.BUSY
                continue
            outcome = _send_one(batch, recipient, content, connection)
            if outcome == "sent":
                sent += 1
            retry_later = retry_later or outcome == "later"
    finally:
        connection.close()
    log.info("newsletter send %s: batch %s-%s sent %d emails", send_id, first_id, last_id, sent)
    if retry_later:
        # Refused for now, or held by another attempt that may have stopped: look again later.
        raise TransientMailError("some deliveries of the batch are left for a later attempt")
    return sent


def _send_one(
    batch: sending.Batch, recipient: sending.Recipient, content: PostContent, connection: Any
) -> str:
    """Send one claimed delivery; "sent", "failed" (refused for good), or "later"."""
    unsubscribe = rendering.unsubscribe_url(recipient.subscriber_id, recipient.secret)
    message = compose(
        recipient.email,
        content.subject,
        "newsletter_post",
        headers=rendering.list_headers(batch.send_id, recipient.subscriber_id, unsubscribe),
        from_email=rendering.sender(),
        connection=connection,
        post_html=content.html,
        post_url=content.post_url,
        unsubscribe_url=unsubscribe,
        address=recipient.email,
        **content.context,
    )
    try:
        message.send()
    except smtplib.SMTPRecipientsRefused as error:
        codes = [code for code, _text in error.recipients.values()]
        permanent = not codes or any(code >= 500 for code in codes)
        return _refused(recipient, _describe(error), permanent)
    except smtplib.SMTPDataError as error:
        if error.smtp_code >= 500:  # this message, to this address, refused for good
            return _refused(recipient, _describe(error), permanent=True)
        sending.release_delivery(recipient)
        raise TransientMailError(f"SMTP {error.smtp_code}") from error
    except smtplib.SMTPResponseException as error:
        sending.release_delivery(recipient)
        if error.smtp_code < 500:
            raise TransientMailError(f"SMTP {error.smtp_code}") from error
        raise  # the server refuses us (sender, authentication): no retry helps
    except smtplib.SMTPServerDisconnected as error:
        sending.release_delivery(recipient)
        raise TransientMailError(type(error).__name__) from error
    except smtplib.SMTPException:
        sending.release_delivery(recipient)
        raise  # refused for good (an extension the server lacks): no retry helps
    except OSError as error:  # refused, reset or timed-out connections
        sending.release_delivery(recipient)
        raise TransientMailError(type(error).__name__) from error
    except BaseException:
        sending.release_delivery(recipient)
        raise
    sending.record_sent(recipient)
    return "sent"


def _refused(recipient: sending.Recipient, reason: str, permanent: bool) -> str:
    refusal = sending.record_refusal(recipient, reason, permanent=permanent)
    return "failed" if refusal.failed else "later"


def _describe(error: smtplib.SMTPException) -> str:
    text: bytes | str
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        code, text = next(iter(error.recipients.values()), (0, b""))
    elif isinstance(error, smtplib.SMTPResponseException):
        code, text = error.smtp_code, error.smtp_error
    else:
        return str(error)
    message = text.decode(errors="replace") if isinstance(text, bytes) else text
    return f"{code} {message}".strip()
