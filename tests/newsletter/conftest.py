"""Helpers of the newsletter tests: subscribers in any state, their rows, the links we email."""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

from flask import Flask
from sqlalchemy import func, insert, select

from penpress.database import utcnow
from penpress.extensions import db
from penpress.newsletter.models import CONFIRMED, Delivery, NewsletterSend, Subscriber
from tests.mailbox import links_in

FORM = "/newsletter/subscribe"


def add_subscriber(app: Flask, email: str, status: str = CONFIRMED, **values: Any) -> Subscriber:
    """A committed subscriber row, as if it had got to ``status`` the usual way."""
    with app.app_context():
        now = utcnow()
        subscriber = Subscriber(
            email=email,
            status=status,
            source=values.pop("source", "form"),
            secret=secrets.token_hex(16),
            failures=values.pop("failures", 0),
            confirmed_at=now if status == CONFIRMED else None,
            **values,
        )
        db.session.add(subscriber)
        db.session.commit()
        return subscriber


def add_many(app: Flask, emails: Iterable[str], status: str = CONFIRMED) -> None:
    """Many committed subscribers in one statement."""
    now = utcnow()
    rows = [
        {
            "email": email,
            "status": status,
            "source": "import",
            "secret": secrets.token_hex(16),
            "failures": 0,
            "created_at": now,
            "confirmed_at": now,
        }
        for email in emails
    ]
    with app.app_context():
        db.session.execute(insert(Subscriber), rows)
        db.session.commit()


def subscriber_of(app: Flask, email: str) -> Subscriber | None:
    with app.app_context():
        return db.session.scalar(select(Subscriber).where(Subscriber.email == email))


def send_of(app: Flask, post_id: int) -> NewsletterSend | None:
    with app.app_context():
        return db.session.scalar(select(NewsletterSend).where(NewsletterSend.post_id == post_id))


def deliveries_by_state(app: Flask, post_id: int) -> dict[str, int]:
    with app.app_context():
        rows = db.session.execute(
            select(Delivery.state, func.count())
            .join(NewsletterSend, NewsletterSend.id == Delivery.send_id)
            .where(NewsletterSend.post_id == post_id)
            .group_by(Delivery.state)
        ).all()
        return {str(state): int(count) for state, count in rows}


def path_of(url: str) -> str:
    return urlsplit(url).path


def link_to(message: Any, prefix: str) -> str:
    """The path of the one link in ``message``'s text that starts with ``prefix``."""
    found = [path_of(link) for link in links_in(message) if path_of(link).startswith(prefix)]
    assert len(found) == 1, links_in(message)
    return found[0]


def to(outbox: list[Any], address: str) -> list[Any]:
    """The messages of a locmem outbox sent to ``address``."""
    return [message for message in outbox if message.to == [address]]
