"""Emailing a post to the subscribers: who may, when a send starts, how it is planned in
batches at a rate, and how each delivery is claimed and recorded so nobody gets a post twice.

A send is asked for with :func:`send_post_to_subscribers` (the editor's "Email this post to
subscribers"). While the post is not live the send waits; it starts when the post goes live
(:func:`post_went_live`, and the periodic :func:`start_due_sends` for any post that went live
without that call: published through an API, or a scheduled post whose time came).

Starting queues one job (:data:`START_TASK`) that gives every confirmed subscriber a
:class:`~penpress.newsletter.models.Delivery` row and queues one task per
``NEWSLETTER_BATCH_SIZE`` rows (:data:`BATCH_TASK`), each due ``batch size / rate`` minutes
after the one before, so no more than ``NEWSLETTER_RATE_PER_MINUTE`` leave per minute, all
sends together. A batch claims each row (committed) before the mail server is asked and marks
it sent right after, so running a batch again, or a lost one sent again by the outbox sweep,
never emails anyone twice; the one gap (a worker that stops between the server's acceptance
and the record) is the same as for every email, see docs/email-and-jobs.md.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import and_, case, exists, func, literal, or_, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import selectinload

from penpress import jobs
from penpress.accounts.models import User
from penpress.blog.models import Post
from penpress.database import insert_ignoring_duplicates, utcnow
from penpress.emails import sending_lease
from penpress.errors import Forbidden, Unauthorized
from penpress.extensions import db
from penpress.newsletter.models import (
    CONFIRMED,
    ERROR_LENGTH,
    FAILED,
    PAUSED,
    QUEUED,
    SENDING,
    SENT,
    SKIPPED,
    STARTED,
    WAITING,
    Delivery,
    NewsletterSend,
    Subscriber,
)
from penpress.newsletter.services import confirmed_count
from penpress.permissions import Permission, holds, require

log = logging.getLogger(__name__)

# Queued by name, so this module does not import the tasks that run them.
START_TASK = "penpress.newsletter.start_send"
BATCH_TASK = "penpress.newsletter.send_batch"
DUE_TASK = "penpress.newsletter.start_due_sends"  # periodic (PERIODIC_JOBS)
DUE_BATCH = 100  # waiting sends one run of the periodic job starts at most
RECORD_PATIENCE = (0.0, 0.5, 1.0, 2.0, 4.0)  # pauses before each try to record "sent"
_accepted_unrecorded: set[int] = set()  # deliveries the server accepted, not yet recorded


# --- who may ------------------------------------------------------------------------------


def may_send(actor: User | None, post: Post | None) -> bool:
    """Whether ``actor`` may email ``post`` to the subscribers (``None``: a post of their own
    still being written). The one place this rule lives: today a post's author or an
    administrator; finer roles (editors) belong here."""
    if actor is None or not holds(actor, Permission.WRITE):
        return False
    return post is None or actor.id == post.author_id or holds(actor, Permission.ADMIN)


def _require_send(actor: User | None, post: Post) -> User:
    if actor is None:
        raise Unauthorized()
    if not may_send(actor, post):
        raise Forbidden("Only the post's author or an administrator can email it to subscribers.")
    return actor


def is_live(post: Post, now: datetime | None = None) -> bool:
    """Readers see the post: published, and its publication time has come (the blog's own
    rule, :meth:`Post.is_visible_at`)."""
    return post.is_visible_at(now or utcnow())


# --- asking for a send --------------------------------------------------------------------


def send_post_to_subscribers(actor: User | None, post: Post) -> NewsletterSend:
    """Email ``post`` to the confirmed subscribers: at once if it is live, else as soon as it
    goes live. Asked again for a post already sent, it goes to the confirmed subscribers it has
    not reached yet, and to no one twice."""
    user = _require_send(actor, post)
    send = _send_of(post.id)
    if send is None:
        send = NewsletterSend(post_id=post.id, requested_by_id=user.id, state=WAITING)
        db.session.add(send)
        db.session.flush()
    if is_live(post):
        _start(send)
    return send


def cancel_send(actor: User | None, post: Post) -> bool:
    """Take back the choice to email a post that is not live yet; False when there is nothing
    to take back (none chosen, or its emails already went out)."""
    _require_send(actor, post)
    send = _send_of(post.id)
    if send is None or send.state != WAITING:
        return False
    db.session.delete(send)
    db.session.flush()
    return True


@dataclass(frozen=True)
class DeliveryFigures:
    sent: int = 0
    failed: int = 0
    queued: int = 0  # not tried yet, or being tried
    skipped: int = 0  # unsubscribed or paused before their turn

    @property
    def total(self) -> int:
        return self.sent + self.failed + self.queued + self.skipped


@dataclass(frozen=True)
class EditorOption:
    """What the editor shows next to "Email this post to subscribers"."""

    subscribers: int  # confirmed addresses now
    send: NewsletterSend | None
    figures: DeliveryFigures | None

    @property
    def waiting(self) -> bool:
        return self.send is not None and self.send.state == WAITING

    @property
    def started(self) -> bool:
        return self.send is not None and self.send.state == STARTED


def editor_option(actor: User | None, post: Post | None) -> EditorOption | None:
    """The editor's newsletter option for ``post`` (``None``: a new post), or ``None`` when
    ``actor`` may not email it."""
    if not may_send(actor, post):
        return None
    send = _send_of(post.id) if post is not None and post.id is not None else None
    figures = _figures([send.id]).get(send.id, DeliveryFigures()) if send is not None else None
    return EditorOption(confirmed_count(), send, figures)


@dataclass(frozen=True)
class SendReport:
    send: NewsletterSend
    title: str
    slug: str
    figures: DeliveryFigures


def send_reports(actor: User | None, limit: int = 20) -> list[SendReport]:
    """The newest sends with their delivery figures (administrators)."""
    require(actor, Permission.ADMIN)
    rows = db.session.execute(
        select(NewsletterSend, Post.title, Post.slug)
        .join(Post, Post.id == NewsletterSend.post_id)
        .order_by(NewsletterSend.created_at.desc(), NewsletterSend.id.desc())
        .limit(max(limit, 1))
    ).all()
    figures = _figures([send.id for send, _title, _slug in rows])
    return [
        SendReport(send, title, slug, figures.get(send.id, DeliveryFigures()))
        for send, title, slug in rows
    ]


def _figures(send_ids: Sequence[int]) -> dict[int, DeliveryFigures]:
    """Delivery counts by state of each send: one query."""
    if not send_ids:
        return {}
    counts: dict[int, dict[str, int]] = {}
    for send_id, state, count in db.session.execute(
        select(Delivery.send_id, Delivery.state, func.count())
        .where(Delivery.send_id.in_(send_ids))
        .group_by(Delivery.send_id, Delivery.state)
    ):
        counts.setdefault(send_id, {})[state] = int(count)
    return {
        send_id: DeliveryFigures(
            sent=by_state.get(SENT, 0),
            failed=by_state.get(FAILED, 0),
            queued=by_state.get(QUEUED, 0) + by_state.get(SENDING, 0),
            skipped=by_state.get(SKIPPED, 0),
        )
        for send_id, by_state in counts.items()
    }


def _send_of(post_id: int) -> NewsletterSend | None:
    return db.session.scalar(select(NewsletterSend).where(NewsletterSend.post_id == post_id))


def _start(send: NewsletterSend) -> None:
    send.state = STARTED
    send.started_at = send.started_at or utcnow()
    db.session.flush()
    jobs.enqueue(START_TASK, send.id)


# --- going live ---------------------------------------------------------------------------


def post_went_live(post_id: int) -> bool:
    """Trusted (the moment a post goes live, e.g. a scheduled post's "went live" job): start
    its waiting send now; False when it has none, or it is not live. Safe to call twice."""
    post = db.session.get(Post, post_id)
    send = _send_of(post_id)
    if post is None or send is None or not is_live(post):
        return False
    return _start_waiting(send.id)


def start_due_sends(now: datetime | None = None) -> list[int]:
    """Trusted (the periodic job :data:`DUE_TASK`): start the waiting sends whose post has gone
    live since (published through an API, or a scheduled post whose time came); the ids of
    the sends started. Safe to run twice, or in two processes at once."""
    now = now or utcnow()
    due = db.session.scalars(
        select(NewsletterSend.id)
        .join(Post, Post.id == NewsletterSend.post_id)
        .where(
            NewsletterSend.state == WAITING,
            Post.visible_at(now),
        )
        .order_by(NewsletterSend.id)
        .limit(DUE_BATCH)
    ).all()
    return [send_id for send_id in due if _start_waiting(send_id)]


def _start_waiting(send_id: int) -> bool:
    """Start a waiting send, once: of two processes, only one sees it waiting."""
    won = db.session.execute(
        update(NewsletterSend)
        .where(NewsletterSend.id == send_id, NewsletterSend.state == WAITING)
        .values(state=STARTED, started_at=utcnow())
        .returning(NewsletterSend.id),
        execution_options={"synchronize_session": False},
    ).first()
    if won is None:
        return False
    jobs.enqueue(START_TASK, send_id)
    return True


# --- planning -----------------------------------------------------------------------------


def batch_interval() -> timedelta:
    """Time between two batches: a batch of ``NEWSLETTER_BATCH_SIZE`` per that many minutes'
    worth of ``NEWSLETTER_RATE_PER_MINUTE``."""
    config = current_app.config
    size = max(int(config["NEWSLETTER_BATCH_SIZE"]), 1)
    rate = max(int(config["NEWSLETTER_RATE_PER_MINUTE"]), 1)
    return timedelta(seconds=60 * size / rate)


def plan_send(send_id: int, now: datetime | None = None) -> int:
    """Trusted (the start job): give every confirmed subscriber the post has not reached a
    delivery, and queue a batch task per ``NEWSLETTER_BATCH_SIZE`` waiting deliveries, each
    :func:`batch_interval` after the one before, starting after the last batch any send has
    scheduled. Returns how many batches it queued."""
    now = now or utcnow()
    send = db.session.get(NewsletterSend, send_id)
    if send is None or send.state != STARTED:
        return 0
    post = db.session.get(Post, send.post_id)
    if post is None or not is_live(post, now):
        log.info("newsletter send %s: its post is not live; nothing sent", send_id)
        return 0
    recipients = select(literal(send.id), Subscriber.id, literal(QUEUED), literal(0)).where(
        Subscriber.status == CONFIRMED
    )
    db.session.execute(
        insert_ignoring_duplicates(Delivery, db.session.get_bind().dialect).from_select(
            ["send_id", "subscriber_id", "state", "attempts"], recipients
        )
    )
    queued = db.session.scalars(
        select(Delivery.id)
        .where(Delivery.send_id == send.id, Delivery.state == QUEUED)
        .order_by(Delivery.id)
    ).all()
    size = max(int(current_app.config["NEWSLETTER_BATCH_SIZE"]), 1)
    interval = batch_interval()
    busy_until = db.session.scalar(select(func.max(NewsletterSend.scheduled_until)))
    start = max(now, busy_until) if busy_until is not None else now
    batches = [queued[at : at + size] for at in range(0, len(queued), size)]
    for number, batch in enumerate(batches):
        jobs.enqueue(BATCH_TASK, send.id, batch[0], batch[-1], eta=start + number * interval)
    send.scheduled_until = start + len(batches) * interval
    db.session.flush()
    log.info(
        "newsletter send %s: %d deliveries in %d batches, one every %.1f s",
        send.id,
        len(queued),
        len(batches),
        interval.total_seconds(),
    )
    return len(batches)


# --- a batch ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Recipient:
    delivery_id: int
    subscriber_id: int
    email: str
    secret: str
    state: str


@dataclass(frozen=True)
class Batch:
    send_id: int
    post: Post
    recipients: Sequence[Recipient]


def batch_to_send(send_id: int, first_id: int, last_id: int) -> Batch | None:
    """Trusted (a batch job): the post and the deliveries from ``first_id`` to ``last_id``
    still to make, to addresses still confirmed; None when the send or its post is gone or
    hidden again (the deliveries wait; asking for the send again resumes them)."""
    send = db.session.get(NewsletterSend, send_id)
    post = (
        db.session.scalar(
            select(Post).where(Post.id == send.post_id).options(selectinload(Post.author))
        )
        if send is not None
        else None
    )
    if post is None or not is_live(post):
        return None
    rows = db.session.execute(
        select(
            Delivery.id, Delivery.subscriber_id, Subscriber.email, Subscriber.secret, Delivery.state
        )
        .join(Subscriber, Subscriber.id == Delivery.subscriber_id)
        .where(
            Delivery.send_id == send_id,
            Delivery.id.between(first_id, last_id),
            Delivery.state.in_((QUEUED, SENDING)),
            Subscriber.status == CONFIRMED,
        )
        .order_by(Delivery.id)
    ).all()
    return Batch(send_id, post, [Recipient(*row) for row in rows])


CLAIMED = "claimed"  # this attempt sends it
BUSY = "busy"  # another attempt holds a fresh claim: try again later
DONE = "done"  # sent, failed or skipped meanwhile: nothing to do


def claim_delivery(recipient: Recipient) -> str:
    """Trusted (a batch job): claim one delivery for this attempt, committed at once, before
    the mail server is asked: :data:`CLAIMED`, :data:`BUSY` while another attempt holds a fresh
    claim, or :data:`DONE`. A claim older than the sending lease belonged to a worker that
    stopped, and is taken over."""
    if recipient.delivery_id in _accepted_unrecorded:  # sent by this process: record it now
        _record(recipient.delivery_id, recipient.subscriber_id)
        return DONE
    now = utcnow()
    confirmed = exists().where(
        Subscriber.id == Delivery.subscriber_id, Subscriber.status == CONFIRMED
    )
    with db.engine.begin() as connection:
        won = connection.execute(
            update(Delivery)
            .where(
                Delivery.id == recipient.delivery_id,
                or_(
                    Delivery.state == QUEUED,
                    and_(Delivery.state == SENDING, Delivery.claimed_at < now - sending_lease()),
                ),
                confirmed,
            )
            .values(state=SENDING, claimed_at=now, attempts=Delivery.attempts + 1)
            .returning(Delivery.id)
        ).first()
        state = (
            None
            if won is not None
            else connection.scalar(
                select(Delivery.state).where(Delivery.id == recipient.delivery_id)
            )
        )
    if won is None:
        return BUSY if state == SENDING else DONE
    if recipient.state == SENDING:
        log.warning(
            "newsletter delivery %s: an earlier attempt stopped while sending it; sending it "
            "again (the subscriber may get it twice, with the same Message-ID)",
            recipient.delivery_id,
        )
    return CLAIMED


def record_sent(recipient: Recipient) -> None:
    """Trusted (a batch job): the mail server accepted the message. Tried through a short
    database outage; if the database stays away, remembered in this process (so a retry here
    sends nothing twice) and the error raised."""
    _accepted_unrecorded.add(recipient.delivery_id)
    for attempt, pause in enumerate(RECORD_PATIENCE):
        if pause:
            time.sleep(pause)
        try:
            _record(recipient.delivery_id, recipient.subscriber_id)
        except SQLAlchemyError:
            if attempt == len(RECORD_PATIENCE) - 1:
                log.error("newsletter delivery %s was sent but not recorded", recipient.delivery_id)
                raise
            log.warning(
                "recording newsletter delivery %s failed; trying again", recipient.delivery_id
            )
            continue
        return


def _record(delivery_id: int, subscriber_id: int) -> None:
    with db.engine.begin() as connection:
        connection.execute(
            update(Delivery)
            .where(Delivery.id == delivery_id)
            .values(state=SENT, sent_at=utcnow(), error=None)
        )
        connection.execute(  # refusals count in a row: a delivery ends the row
            update(Subscriber)
            .where(Subscriber.id == subscriber_id, Subscriber.failures > 0)
            .values(failures=0)
        )
    _accepted_unrecorded.discard(delivery_id)


@dataclass(frozen=True)
class Refusal:
    failed: bool  # the delivery failed for good (else it waits for a later attempt)
    paused: bool  # the address is paused now


def record_refusal(recipient: Recipient, error: str, *, permanent: bool) -> Refusal:
    """Trusted (a batch job): the mail server refused the message for this address.

    A permanent refusal (5xx), or the last of ``NEWSLETTER_DELIVERY_ATTEMPTS`` temporary ones
    (4xx), fails the delivery and counts against the address: ``NEWSLETTER_MAX_FAILURES`` in a
    row pause it (it gets nothing more until an administrator resumes it or its owner
    subscribes and confirms again). A temporary refusal before that releases the delivery for
    a later attempt.
    """
    config = current_app.config
    reason = error[:ERROR_LENGTH]
    now = utcnow()
    with db.engine.begin() as connection:
        attempts = connection.scalar(
            select(Delivery.attempts).where(Delivery.id == recipient.delivery_id)
        )
        final = permanent or int(attempts or 0) >= int(config["NEWSLETTER_DELIVERY_ATTEMPTS"])
        connection.execute(
            update(Delivery)
            .where(Delivery.id == recipient.delivery_id)
            .values(state=FAILED if final else QUEUED, error=reason)
        )
        if not final:
            return Refusal(failed=False, paused=False)
        failures = connection.scalar(
            update(Subscriber)
            .where(Subscriber.id == recipient.subscriber_id)
            .values(failures=Subscriber.failures + 1, last_failure=reason, last_failure_at=now)
            .returning(Subscriber.failures)
        )
        paused = int(failures or 0) >= int(config["NEWSLETTER_MAX_FAILURES"])
        if paused:
            connection.execute(
                update(Subscriber)
                .where(Subscriber.id == recipient.subscriber_id, Subscriber.status == CONFIRMED)
                .values(status=PAUSED)
            )
            connection.execute(  # nothing more to it, from any send under way either
                update(Delivery)
                .where(Delivery.subscriber_id == recipient.subscriber_id, Delivery.state == QUEUED)
                .values(state=SKIPPED)
            )
    if paused:
        log.warning(
            "newsletter subscriber %s paused after %d refusals in a row",
            recipient.subscriber_id,
            failures,
        )
    return Refusal(failed=True, paused=paused)


def release_delivery(recipient: Recipient) -> None:
    """Trusted (a batch job): the message did not go out for a reason that is not the
    address's (the server is down or busy): the next attempt sends it, and this one does not
    count against the address."""
    with db.engine.begin() as connection:
        connection.execute(
            update(Delivery)
            .where(Delivery.id == recipient.delivery_id, Delivery.state == SENDING)
            .values(
                state=QUEUED, attempts=case((Delivery.attempts > 0, Delivery.attempts - 1), else_=0)
            )
        )
