"""Subscribers: subscribing with double opt-in, confirming, unsubscribing, and the owner's view
(the list, counts, growth, CSV import and export).

Anyone may ask for a subscription, and the answer never says whether the address was known:
the confirmation link emailed to the address is the protection (nothing is sent to an address
until its owner follows that link), and confirmation emails per address are capped silently
(``RATELIMIT_SUBSCRIBE_EMAIL``). Addresses are shown to administrators only. Like every service
these functions ``flush()`` but never commit; the emails go out from
:mod:`penpress.newsletter.tasks` once the transaction has committed.
"""

from __future__ import annotations

import csv
import io
import logging
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from flask_sqlalchemy.pagination import Pagination
from sqlalchemy import ColumnElement, Select, delete, func, select, update
from sqlalchemy.orm import QueryableAttribute

from penpress import jobs
from penpress.accounts.models import User
from penpress.accounts.services import normalize_email
from penpress.database import insert_ignoring_duplicates, paginate, utcnow
from penpress.errors import Invalid, NotFound, RateLimited
from penpress.extensions import db
from penpress.newsletter import tokens
from penpress.newsletter.models import (
    CONFIRMED,
    PAUSED,
    PENDING,
    QUEUED,
    SKIPPED,
    STATUSES,
    UNSUBSCRIBED,
    Delivery,
    Subscriber,
)
from penpress.permissions import Permission, require
from penpress.ratelimits import Budget

log = logging.getLogger(__name__)

# Queued by name, so this module does not import the task that sends it.
CONFIRMATION_TASK = "penpress.newsletter.send_confirmation"

# The limit scope of RATELIMIT_SUBSCRIBE: the site's form and POST /api/v1/subscribers share
# one budget per client address.
SUBSCRIBE_SCOPE = "newsletter-subscribe"
# Confirmation emails per address, whoever asks: more requests are answered the same and send
# nothing, so a stranger cannot flood someone's inbox through the form.
CONFIRMATIONS = Budget(
    "RATELIMIT_SUBSCRIBE_EMAIL", "newsletter-confirmations", "Too many confirmation emails."
)

SEARCH_MAX_LENGTH = 200
IMPORT_MAX_ROWS = 100_000
IMPORT_CHUNK = 500  # addresses looked up and inserted per statement
IMPORT_ERRORS_SHOWN = 100
# A cell a spreadsheet would read as a formula; the export prefixes it with a quote.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
EXPORT_HEADER = ["email", "status", "source", "subscribed_at", "confirmed_at", "unsubscribed_at"]


# --- subscribing ----------------------------------------------------------------------------


def request_subscription(email: str, *, source: str = "form") -> None:
    """Anyone may ask for new posts at ``email``: a confirmation link is emailed unless the
    address is confirmed already. Says nothing either way, so the caller answers the same for
    every address; :class:`Invalid` only for an address that cannot exist."""
    address = normalize_email(email)
    try:
        CONFIRMATIONS.spend(address)
    except RateLimited:
        log.info("newsletter: confirmation budget of an address spent; nothing sent")
        return
    subscriber = _find(address) or _add(address, PENDING, source)
    if subscriber.status == CONFIRMED:
        return
    if subscriber.confirm_nonce is None:
        subscriber.confirm_nonce = secrets.token_hex(16)
    db.session.flush()
    jobs.enqueue(CONFIRMATION_TASK, subscriber.id)


def subscribe_account(actor: User | None) -> str:
    """The signed-in reader subscribes their account's address with one click.

    An address the account has confirmed needs no second confirmation (``CONFIRMED`` is
    returned); otherwise a confirmation link is emailed as for anyone (``PENDING``).
    """
    user = require(actor, Permission.COMMENT)
    if user.email_confirmed_at is None:
        request_subscription(user.email, source="account")
        return PENDING
    subscriber = _find(user.email) or _add(user.email, PENDING, "account")
    _confirm(subscriber)
    return CONFIRMED


def account_subscription(actor: User | None) -> Subscriber | None:
    """The signed-in reader's own subscription (by their account's address), if any."""
    user = require(actor, Permission.COMMENT)
    return _find(user.email)


def unsubscribe_account(actor: User | None) -> bool:
    """The signed-in reader stops the emails to their account's address; False if none went."""
    subscriber = account_subscription(actor)
    if subscriber is None or subscriber.status == UNSUBSCRIBED:
        return False
    _unsubscribe(subscriber)
    return True


def check_confirmation_token(token: str) -> Subscriber:
    """The subscriber a confirmation link is for, while it is unused and fresh."""
    return tokens.subscriber_to_confirm(token)


def confirm_with_token(token: str) -> Subscriber:
    """Confirm the subscription a link was emailed for; the link then stops working."""
    subscriber = tokens.subscriber_to_confirm(token)
    _confirm(subscriber)
    return subscriber


def check_unsubscribe_token(token: str) -> Subscriber:
    """The subscriber an unsubscribe link belongs to."""
    return tokens.subscriber_to_unsubscribe(token)


def unsubscribe_with_token(token: str) -> Subscriber:
    """Unsubscribe the address an unsubscribe link was sent to (again: nothing changes)."""
    subscriber = tokens.subscriber_to_unsubscribe(token)
    if subscriber.status != UNSUBSCRIBED:
        _unsubscribe(subscriber)
    return subscriber


@dataclass(frozen=True)
class ConfirmationEmail:
    to: str
    token: str


def confirmation_to_send(subscriber_id: int) -> ConfirmationEmail | None:
    """Trusted (the confirmation email's job): the link still to send, or None when the address
    was confirmed (or removed) meanwhile."""
    subscriber = db.session.get(Subscriber, subscriber_id)
    if subscriber is None or subscriber.confirm_nonce is None or subscriber.status == CONFIRMED:
        return None
    return ConfirmationEmail(subscriber.email, tokens.make_confirmation_token(subscriber))


def _find(address: str) -> Subscriber | None:
    return db.session.scalar(select(Subscriber).where(Subscriber.email == address))


def _add(address: str, status: str, source: str) -> Subscriber:
    """The subscriber of ``address``, added with ``status`` unless a concurrent request added
    it first (then that one, as it is)."""
    db.session.execute(
        insert_ignoring_duplicates(Subscriber, db.session.get_bind().dialect).values(
            email=address,
            status=status,
            source=source,
            secret=secrets.token_hex(16),
            failures=0,
            created_at=utcnow(),
        )
    )
    found = _find(address)
    assert found is not None
    return found


def _confirm(subscriber: Subscriber) -> None:
    if subscriber.status != CONFIRMED:
        subscriber.status = CONFIRMED
        subscriber.confirmed_at = utcnow()
        subscriber.unsubscribed_at = None
    subscriber.confirm_nonce = None
    subscriber.failures = 0
    db.session.flush()


def _unsubscribe(subscriber: Subscriber) -> None:
    """No further email at all: not the next post, nor the rest of a send under way."""
    subscriber.status = UNSUBSCRIBED
    subscriber.unsubscribed_at = utcnow()
    subscriber.confirm_nonce = None
    db.session.execute(
        update(Delivery)
        .where(Delivery.subscriber_id == subscriber.id, Delivery.state == QUEUED)
        .values(state=SKIPPED),
        execution_options={"synchronize_session": False},
    )
    db.session.flush()


# --- the owner's view -----------------------------------------------------------------------


def subscriber_counts(actor: User | None) -> dict[str, int]:
    """How many addresses have each status (administrators)."""
    require(actor, Permission.ADMIN)
    found = dict(
        db.session.execute(
            select(Subscriber.status, func.count()).group_by(Subscriber.status)
        ).all()
    )
    return {status: int(found.get(status, 0)) for status in STATUSES}


def list_subscribers(
    actor: User | None, q: str = "", status: str = "", page: int = 1, per_page: int = 50
) -> Pagination:
    """Subscribers, newest first; ``q`` searches the addresses, ``status`` narrows (admins)."""
    require(actor, Permission.ADMIN)
    stmt: Select[tuple[Subscriber]] = select(Subscriber)
    words = (q or "").strip()[:SEARCH_MAX_LENGTH].replace("\x00", "").split()
    for word in words[:5]:
        stmt = stmt.where(Subscriber.email.icontains(word.lower(), autoescape=True))
    if status in STATUSES:
        stmt = stmt.where(Subscriber.status == status)
    return paginate(stmt.order_by(Subscriber.id.desc()), page, per_page)


@dataclass(frozen=True)
class MonthGrowth:
    """One month of the list's history: addresses that asked, confirmed, unsubscribed."""

    month: str  # "2026-11"
    subscribed: int
    confirmed: int
    unsubscribed: int

    @property
    def net(self) -> int:
        return self.confirmed - self.unsubscribed


def growth(actor: User | None, months: int = 12, now: datetime | None = None) -> list[MonthGrowth]:
    """The last ``months`` calendar months, oldest first (administrators)."""
    require(actor, Permission.ADMIN)
    now = now or utcnow()
    names = _month_names(now, months)
    since = datetime(int(names[0][:4]), int(names[0][5:]), 1, tzinfo=now.tzinfo)
    counted = {
        column.key: _per_month(column, since)
        for column in (Subscriber.created_at, Subscriber.confirmed_at, Subscriber.unsubscribed_at)
    }
    return [
        MonthGrowth(
            month,
            counted["created_at"].get(month, 0),
            counted["confirmed_at"].get(month, 0),
            counted["unsubscribed_at"].get(month, 0),
        )
        for month in names
    ]


def _month_names(now: datetime, months: int) -> list[str]:
    year, month = now.year, now.month
    names = []
    for _ in range(max(months, 1)):
        names.append(f"{year:04d}-{month:02d}")
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return names[::-1]


def _per_month(column: QueryableAttribute[datetime | None], since: datetime) -> dict[str, int]:
    month = _month_of(column)
    rows = db.session.execute(
        select(month, func.count()).where(column >= since).group_by(month)
    ).all()
    return {str(name): int(count) for name, count in rows}


def _month_of(column: QueryableAttribute[datetime | None]) -> ColumnElement[str]:
    """``YYYY-MM`` of a UTC timestamp, in the database's own dialect."""
    if db.session.get_bind().dialect.name == "postgresql":
        return func.to_char(func.timezone("UTC", column), "YYYY-MM")
    return func.strftime("%Y-%m", column)  # SQLite keeps naive UTC text


def resume_subscriber(actor: User | None, subscriber_id: int) -> Subscriber:
    """Mail a paused address again, its refusals forgotten (administrators): after the owner
    fixed their mailbox, say."""
    require(actor, Permission.ADMIN)
    subscriber = _get(subscriber_id)
    if subscriber.status == PAUSED:
        subscriber.status = CONFIRMED
    subscriber.failures = 0
    db.session.flush()
    return subscriber


def unsubscribe_subscriber(actor: User | None, subscriber_id: int) -> Subscriber:
    """Stop all email to an address, as its own unsubscribe link would (administrators)."""
    require(actor, Permission.ADMIN)
    subscriber = _get(subscriber_id)
    if subscriber.status != UNSUBSCRIBED:
        _unsubscribe(subscriber)
    return subscriber


def remove_subscriber(actor: User | None, subscriber_id: int) -> None:
    """Forget an address and its deliveries entirely, e.g. when its owner asks to be erased
    (administrators). Unlike unsubscribing, nothing stops a later import adding it again."""
    require(actor, Permission.ADMIN)
    subscriber = _get(subscriber_id)
    db.session.execute(delete(Delivery).where(Delivery.subscriber_id == subscriber.id))
    db.session.delete(subscriber)
    db.session.flush()


def _get(subscriber_id: int) -> Subscriber:
    subscriber = db.session.get(Subscriber, subscriber_id)
    if subscriber is None:
        raise NotFound("No such subscriber.")
    return subscriber


# --- CSV export and import ------------------------------------------------------------------


def export_csv(actor: User | None) -> str:
    """Every subscriber as CSV (:data:`EXPORT_HEADER`), oldest first (administrators).

    A cell a spreadsheet would run as a formula starts with a ``'``; the import removes it.
    """
    require(actor, Permission.ADMIN)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(EXPORT_HEADER)
    rows = db.session.execute(
        select(
            Subscriber.email,
            Subscriber.status,
            Subscriber.source,
            Subscriber.created_at,
            Subscriber.confirmed_at,
            Subscriber.unsubscribed_at,
        )
        .order_by(Subscriber.id)
        .execution_options(yield_per=1000)
    )
    for email, status, source, created, confirmed, unsubscribed in rows:
        writer.writerow(
            [
                _cell(email),
                status,
                source,
                *(_iso(when) for when in (created, confirmed, unsubscribed)),
            ]
        )
    return out.getvalue()


def _cell(value: str) -> str:
    return f"'{value}" if value.startswith(FORMULA_STARTS) else value


def _iso(when: datetime | None) -> str:
    return when.isoformat() if when is not None else ""


@dataclass(frozen=True)
class BadRow:
    line: int
    value: str
    reason: str


# Statuses a CSV row may carry that the import keeps whatever the administrator vouches for:
# someone who opted out, never confirmed, or whose mail server refused us stays that way.
KEPT_STATUSES = (PENDING, PAUSED, UNSUBSCRIBED)


@dataclass
class ParsedCsv:
    """Addresses read from a CSV file, each once, with the status its row named when that is
    one of :data:`KEPT_STATUSES` (else None)."""

    addresses: dict[str, str | None] = field(default_factory=dict)
    repeated: int = 0
    bad: list[BadRow] = field(default_factory=list)


def parse_subscriber_csv(data: bytes) -> ParsedCsv:
    """Read a UTF-8 CSV of addresses: with a header row, its ``email`` column (and its
    ``status`` column, if any: see :data:`KEPT_STATUSES`); without one, the first column, as
    the export writes them. Rows that are not an address are reported with their line number."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise Invalid.field("file", "The file must be UTF-8 text (CSV).") from None
    if "\x00" in text:
        raise Invalid.field("file", "The file must be CSV text.")
    reader = csv.reader(io.StringIO(text, newline=""))
    parsed = ParsedCsv()
    email_at, status_at = 0, None
    try:
        for number, row in enumerate(reader):
            cells = [cell.strip() for cell in row]
            if number == 0 and "email" in (names := [c.lower() for c in cells]):
                email_at = names.index("email")
                status_at = names.index("status") if "status" in names else None
                continue
            if not any(cells):
                continue
            if number > IMPORT_MAX_ROWS:
                raise Invalid.field(
                    "file", f"The file has more than {IMPORT_MAX_ROWS:,} rows: split it."
                )
            _read_row(parsed, reader.line_num, cells, email_at, status_at)
    except csv.Error as error:
        raise Invalid.field("file", f"Line {reader.line_num}: {error}") from None
    return parsed


def _read_row(
    parsed: ParsedCsv, line: int, cells: list[str], email_at: int, status_at: int | None
) -> None:
    value = cells[email_at] if email_at < len(cells) else ""
    if value.startswith("'") and value[1:].startswith(FORMULA_STARTS):
        value = value[1:]  # as the export wrote it
    try:
        address = normalize_email(value)
    except Invalid as error:
        parsed.bad.append(BadRow(line, value[:100], error.message if value else "No address."))
        return
    named = cells[status_at].lower() if status_at is not None and status_at < len(cells) else ""
    status = named if named in KEPT_STATUSES else None
    if address in parsed.addresses:
        parsed.repeated += 1
        status = parsed.addresses[address] or status  # the first row that named one wins
    parsed.addresses[address] = status


@dataclass(frozen=True)
class ImportReport:
    added: dict[str, int]  # new addresses by the status they were given
    already: int  # on the list before: left exactly as they were
    repeated: int  # rows repeating an address of an earlier row
    bad: Sequence[BadRow]  # the first IMPORT_ERRORS_SHOWN rows that were not an address
    bad_count: int
    consent: bool  # the administrator vouched for the addresses' consent

    @property
    def added_total(self) -> int:
        return sum(self.added.values())


def import_subscribers(actor: User | None, data: bytes, *, consent: bool) -> ImportReport:
    """Add the addresses of a CSV file (administrators).

    With ``consent`` the administrator vouches that these people agreed to get the newsletter,
    and they are mailed from the next post on; without it they are added unconfirmed and get
    nothing (not even a confirmation email) until they subscribe on the site themselves. A row
    whose ``status`` is pending, paused or unsubscribed keeps it either way. Addresses already
    on the list are left as they are, so nobody who unsubscribed is added back. Looked up and
    inserted :data:`IMPORT_CHUNK` at a time, in the caller's transaction.
    """
    admin = require(actor, Permission.ADMIN)
    parsed = parse_subscriber_csv(data)
    now = utcnow()
    added = dict.fromkeys(STATUSES, 0)
    already = 0
    addresses = list(parsed.addresses.items())
    for start in range(0, len(addresses), IMPORT_CHUNK):
        chunk = dict(addresses[start : start + IMPORT_CHUNK])
        known = set(db.session.scalars(select(Subscriber.email).where(Subscriber.email.in_(chunk))))
        already += len(known)
        rows = [
            _imported(address, status or (CONFIRMED if consent else PENDING), now)
            for address, status in chunk.items()
            if address not in known
        ]
        if rows:
            db.session.execute(
                insert_ignoring_duplicates(Subscriber, db.session.get_bind().dialect), rows
            )
        for row in rows:
            added[str(row["status"])] += 1
    db.session.flush()
    report = ImportReport(
        added=added,
        already=already,
        repeated=parsed.repeated,
        bad=parsed.bad[:IMPORT_ERRORS_SHOWN],
        bad_count=len(parsed.bad),
        consent=consent,
    )
    log.info(
        "newsletter: admin %s imported %d addresses (%d bad rows)",
        admin.id,
        report.added_total,
        report.bad_count,
    )
    return report


def _imported(address: str, status: str, now: datetime) -> dict[str, object]:
    return {
        "email": address,
        "status": status,
        "source": "import",
        "secret": secrets.token_hex(16),
        "failures": 0,
        "created_at": now,
        "confirmed_at": now if status in (CONFIRMED, PAUSED) else None,
        "unsubscribed_at": now if status == UNSUBSCRIBED else None,
    }


def confirmed_count() -> int:
    """How many addresses a post would go to now (a number, no address: shown to writers)."""
    return int(
        db.session.scalar(
            select(func.count()).select_from(Subscriber).where(Subscriber.status == CONFIRMED)
        )
        or 0
    )
