"""Signed tokens for the links the newsletter emails: confirm a subscription, unsubscribe.

Both are itsdangerous signatures keyed with ``SECRET_KEY`` and a salt of their own. A
confirmation token names the confirmation asked for (the subscriber's nonce), so it works once,
and expires after ``NEWSLETTER_CONFIRM_MAX_AGE``. An unsubscribe token never expires (an old
email's link must still work) and names the subscriber's secret, so it only ever unsubscribes
the address it was sent to.
"""

from __future__ import annotations

import hmac
from typing import Any

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeSerializer, URLSafeTimedSerializer

from penpress.errors import Invalid
from penpress.extensions import db
from penpress.newsletter.models import Subscriber

CONFIRM_SALT = "penpress.newsletter.confirm"
UNSUBSCRIBE_SALT = "penpress.newsletter.unsubscribe"
MAX_TOKEN_LENGTH = 500

EXPIRED_CONFIRMATION = "This confirmation link has expired. Subscribe again to get a new one."
INVALID_CONFIRMATION = (
    "This confirmation link is not valid, or it has been used already. Subscribe again to get "
    "a new one."
)
INVALID_UNSUBSCRIBE = "This unsubscribe link is not valid."


def make_confirmation_token(subscriber: Subscriber) -> str:
    """The token of the link that confirms ``subscriber`` (who must be waiting for one)."""
    assert subscriber.confirm_nonce is not None
    serializer = URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=CONFIRM_SALT)
    return str(serializer.dumps({"sid": subscriber.id, "n": subscriber.confirm_nonce}))


def subscriber_to_confirm(token: str) -> Subscriber:
    """The subscriber whose pending confirmation ``token`` is for; :class:`Invalid` when it is
    malformed, expired, used or replaced."""
    serializer = URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=CONFIRM_SALT)
    try:
        payload = serializer.loads(
            _bounded(token, INVALID_CONFIRMATION),
            max_age=int(current_app.config["NEWSLETTER_CONFIRM_MAX_AGE"]),
        )
    except SignatureExpired:
        raise Invalid.field("token", EXPIRED_CONFIRMATION) from None
    except BadSignature:
        raise Invalid.field("token", INVALID_CONFIRMATION) from None
    subscriber = _subscriber(payload, INVALID_CONFIRMATION)
    if subscriber.confirm_nonce is None or not _same(payload.get("n"), subscriber.confirm_nonce):
        raise Invalid.field("token", INVALID_CONFIRMATION)
    return subscriber


def make_unsubscribe_token(subscriber_id: int, secret: str) -> str:
    """The token of ``subscriber_id``'s unsubscribe links (in every email it is sent)."""
    serializer = URLSafeSerializer(current_app.config["SECRET_KEY"], salt=UNSUBSCRIBE_SALT)
    return str(serializer.dumps([subscriber_id, secret]))


def subscriber_to_unsubscribe(token: str) -> Subscriber:
    """The subscriber an unsubscribe link was made for; :class:`Invalid` otherwise."""
    serializer = URLSafeSerializer(current_app.config["SECRET_KEY"], salt=UNSUBSCRIBE_SALT)
    try:
        payload = serializer.loads(_bounded(token, INVALID_UNSUBSCRIBE))
    except BadSignature:
        raise Invalid.field("token", INVALID_UNSUBSCRIBE) from None
    if not isinstance(payload, list) or len(payload) != 2:
        raise Invalid.field("token", INVALID_UNSUBSCRIBE)
    subscriber = _subscriber({"sid": payload[0]}, INVALID_UNSUBSCRIBE)
    if not _same(payload[1], subscriber.secret):
        raise Invalid.field("token", INVALID_UNSUBSCRIBE)
    return subscriber


def _bounded(token: str, invalid: str) -> str:
    if not token or len(token) > MAX_TOKEN_LENGTH:
        raise Invalid.field("token", invalid)
    return token


def _subscriber(payload: Any, invalid: str) -> Subscriber:
    subscriber_id = payload.get("sid") if isinstance(payload, dict) else None
    found = (
        db.session.get(Subscriber, subscriber_id)
        if isinstance(subscriber_id, int) and not isinstance(subscriber_id, bool)
        else None
    )
    if found is None:
        raise Invalid.field("token", invalid)
    return found


def _same(given: Any, expected: str) -> bool:
    return isinstance(given, str) and hmac.compare_digest(given.encode(), expected.encode())
