"""Subscribers, the sends of posts to them, and one delivery per post and subscriber."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from penpress.database import Base, UTCDateTime, created_at, int_pk

# A subscriber's status. Only CONFIRMED addresses are ever sent a post.
PENDING = "pending"  # asked (or was imported) and has not confirmed: gets nothing
CONFIRMED = "confirmed"  # followed the confirmation link (or an admin vouched for consent)
UNSUBSCRIBED = "unsubscribed"  # opted out: kept so that an import never adds them back
PAUSED = "paused"  # the mail server refused it too often in a row: gets nothing
STATUSES = (PENDING, CONFIRMED, PAUSED, UNSUBSCRIBED)

# Where a subscription came from.
SOURCES = ("form", "api", "account", "import")

# A send's state: WAITING for its post to go live, then STARTED (deliveries planned).
WAITING = "waiting"
STARTED = "started"

# A delivery's state.
QUEUED = "queued"  # planned, not tried yet (or released after a failure that may pass)
SENDING = "sending"  # claimed by an attempt: the SMTP conversation may be under way
SENT = "sent"  # the mail server accepted it: never again
FAILED = "failed"  # refused for good
SKIPPED = "skipped"  # the address stopped being confirmed before its turn came
DELIVERY_STATES = (SENT, FAILED, QUEUED, SENDING, SKIPPED)

ERROR_LENGTH = 300


class Subscriber(Base):
    """An email address that asked for new posts (no account needed)."""

    __tablename__ = "newsletter_subscribers"

    id: Mapped[int_pk]
    email: Mapped[str] = mapped_column(String(254), unique=True)  # lower case, as accounts
    status: Mapped[str] = mapped_column(String(16), default=PENDING)
    source: Mapped[str] = mapped_column(String(16), default="form")
    created_at: Mapped[created_at]
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    unsubscribed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Names the confirmation asked for: the emailed link carries it, confirming clears it, so
    # each link works once.
    confirm_nonce: Mapped[str | None] = mapped_column(String(32))
    # Part of every unsubscribe link (signed with SECRET_KEY): a row that replaces a deleted
    # one under the same id is not unsubscribed by the old row's links.
    secret: Mapped[str] = mapped_column(String(32))
    # Refusals by the mail server in a row (reset by a delivery); NEWSLETTER_MAX_FAILURES
    # pauses the address.
    failures: Mapped[int] = mapped_column(Integer, default=0)
    last_failure: Mapped[str | None] = mapped_column(String(ERROR_LENGTH))
    last_failure_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (
        # The sender's scan of confirmed addresses, and the counts by status.
        Index("ix_newsletter_subscribers_status_id", "status", "id"),
    )

    def __repr__(self) -> str:
        return f"<Subscriber {self.id} {self.status}>"


class NewsletterSend(Base):
    """A post to be emailed (or being, or already emailed) to the subscribers; one per post."""

    __tablename__ = "newsletter_sends"

    id: Mapped[int_pk]
    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id", ondelete="CASCADE"), unique=True)
    requested_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    state: Mapped[str] = mapped_column(String(16), default=WAITING)
    created_at: Mapped[created_at]
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # When its last batch is due: the next send's batches start after it, so several sends
    # together keep to NEWSLETTER_RATE_PER_MINUTE.
    scheduled_until: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (Index("ix_newsletter_sends_state", "state"),)

    def __repr__(self) -> str:
        return f"<NewsletterSend post={self.post_id} {self.state}>"


class Delivery(Base):
    """One post to one subscriber. The unique constraint is the promise that nobody gets a
    post twice: an attempt claims the row (``sending``, committed) before talking to the mail
    server and marks it ``sent`` right after."""

    __tablename__ = "newsletter_deliveries"

    id: Mapped[int_pk]
    send_id: Mapped[int] = mapped_column(ForeignKey("newsletter_sends.id", ondelete="CASCADE"))
    subscriber_id: Mapped[int] = mapped_column(
        ForeignKey("newsletter_subscribers.id", ondelete="CASCADE"), index=True
    )
    state: Mapped[str] = mapped_column(String(16), default=QUEUED)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    error: Mapped[str | None] = mapped_column(String(ERROR_LENGTH))

    __table_args__ = (
        UniqueConstraint("send_id", "subscriber_id"),
        Index("ix_newsletter_deliveries_send_id_state", "send_id", "state"),
    )

    def __repr__(self) -> str:
        return f"<Delivery send={self.send_id} subscriber={self.subscriber_id} {self.state}>"
