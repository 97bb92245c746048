"""The console's dashboard: counts and the series its charts draw, in a few grouped queries
whatever the size of the site (no row is loaded to be counted in Python).

Days and months are the site's (its default time zone setting), not UTC's: a comment written
at 23:30 in Auckland counts on that Auckland day. PostgreSQL converts with its own zone data;
SQLite, which has none, adds each period's UTC offset (:func:`timezones.offset_periods`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import String, case, cast, func, literal, select
from sqlalchemy.sql.elements import ColumnElement

from penpress.accounts.models import User
from penpress.blog.models import Comment, Post, PostStatus, PostViewDay
from penpress.database import UTCDateTime, utcnow
from penpress.extensions import db
from penpress.permissions import Permission, holds, require
from penpress.settings import services as settings
from penpress.timezones import local_to_utc, offset_periods, utc_to_local

MONTHS = 12
DAYS = 30
TOP_POSTS = 10


@dataclass(frozen=True)
class Dashboard:
    """What the dashboard shows its viewer; a part their role does not reach is ``None``
    (posts for editors, comments for moderators, accounts for administrators)."""

    counts: dict[str, int] = field(default_factory=dict)
    posts_per_month: list[tuple[str, int]] | None = None  # "2026-11", oldest first
    comments_per_day: list[tuple[date, int]] | None = None  # oldest first
    top_posts: list[tuple[str, str, int]] | None = None  # title, slug, views in DAYS days
    time_zone: str = "UTC"  # the zone whose days and months the charts count in


@dataclass(frozen=True)
class _Local:
    """How to write a timestamp column as text in the site's zone, from ``start`` on."""

    dialect: str
    zone: str
    start: datetime
    end: datetime

    def text(self, column: Any, sqlite_format: str, pg_format: str) -> ColumnElement[str]:
        """``column`` as local ``YYYY-MM`` or ``YYYY-MM-DD``, for grouping."""
        if self.dialect == "postgresql":
            return func.to_char(func.timezone(self.zone, column), pg_format)
        # Stored as naive UTC: shift by the offset of the period the value falls in.
        periods = offset_periods(self.zone, self.start, self.end)
        shifts = [f"{int(offset.total_seconds()):+d} seconds" for _at, offset in periods]
        shift: Any = literal(shifts[-1])
        if len(periods) > 1:
            shift = case(
                *(
                    (column < literal(at, UTCDateTime()), before)
                    for (at, _), before in zip(periods[1:], shifts, strict=False)
                ),
                else_=shifts[-1],
            )
        return cast(func.strftime(sqlite_format, column, shift), String)


def dashboard(actor: User | None) -> Dashboard:
    """Counts and chart series for the console's front page (moderators, editors and
    administrators, each seeing their part), by the days and months of the site's time zone.
    At most four queries."""
    viewer = require(actor, Permission.MODERATE)
    dialect = db.session.get_bind().dialect.name
    zone = settings.default_time_zone()
    now = utcnow()
    today = utc_to_local(now, zone).date()
    sees_posts = holds(viewer, Permission.EDIT_ANY_POST)
    sees_users = holds(viewer, Permission.ADMIN)
    counters: dict[str, Any] = {
        "comments_waiting": select(func.count())
        .select_from(Comment)
        .where(Comment.approved.is_(False), Comment.spam.is_(False))
        .scalar_subquery()
    }
    if sees_posts:
        counters["posts"] = (
            select(func.count()).select_from(Post).where(Post.published.is_(True))
        ).scalar_subquery()
        # By the status alone (the services keep ``published`` in step with it), which its
        # index counts without reading the rows: 137 ms a count at 1,000,000 posts otherwise.
        counters["drafts"] = (
            select(func.count()).select_from(Post).where(Post.status == PostStatus.DRAFT.value)
        ).scalar_subquery()
        counters["submitted"] = (
            select(func.count()).select_from(Post).where(Post.status == PostStatus.SUBMITTED.value)
        ).scalar_subquery()
    if sees_users:
        counters["users"] = (
            select(func.count()).select_from(User).where(User.active.is_(True))
        ).scalar_subquery()
    row = db.session.execute(select(*(c.label(k) for k, c in counters.items()))).one()
    counts = {key: int(value) for key, value in row._mapping.items()}

    day_from = today - timedelta(days=DAYS - 1)
    since = _midnight(day_from, zone)
    # Up to a while ahead: scheduled posts of this month count in it.
    local = _Local(dialect, zone, since, now + timedelta(days=DAYS))
    day = local.text(Comment.created_at, "%Y-%m-%d", "YYYY-MM-DD")
    # "approved IN (false, true)" adds nothing but lets SQLite read the days from the
    # (approved, spam, created_at) index alone, each approval state a range (150 -> 18 ms for
    # a month of comments on a site of 3,000,000): without it, it reads every row for spam.
    per_day = select(day, func.count()).where(
        Comment.approved.in_([False, True]),
        Comment.spam.is_(False),
        Comment.created_at >= since,
    )
    by_day = {key: int(n) for key, n in db.session.execute(per_day.group_by(day))}
    comments_per_day = [
        (d, int(by_day.get(d.isoformat(), 0)))
        for d in (day_from + timedelta(days=n) for n in range(DAYS))
    ]
    if not sees_posts:
        return Dashboard(counts=counts, comments_per_day=comments_per_day, time_zone=zone)

    months = _last_months(today, MONTHS)
    since = _midnight(date.fromisoformat(months[0] + "-01"), zone)
    local = _Local(dialect, zone, since, local.end)
    month = local.text(Post.published_at, "%Y-%m", "YYYY-MM")
    per_month = select(month, func.count()).where(
        Post.published.is_(True), Post.published_at >= since
    )
    by_month = {key: int(n) for key, n in db.session.execute(per_month.group_by(month))}
    posts_per_month = [(m, int(by_month.get(m, 0))) for m in months]

    # Views are kept per UTC day (the flush's buckets): the last DAYS of them, read by their
    # day index first (MATERIALIZED: otherwise SQLite walks every post or every view day in
    # post order, 330 ms at 1,000,000 posts with a million view days), then summed per post.
    recent_days = (
        select(PostViewDay.post_id, PostViewDay.views)
        .where(PostViewDay.day >= day_from)
        .cte("recent_view_days")
        .prefix_with("MATERIALIZED")
    )
    recent = (
        select(recent_days.c.post_id, func.sum(recent_days.c.views).label("views"))
        .group_by(recent_days.c.post_id)
        .subquery()
    )
    top = db.session.execute(
        select(Post.title, Post.slug, recent.c.views)
        .join(recent, recent.c.post_id == Post.id)
        .where(Post.published.is_(True))
        .order_by(recent.c.views.desc(), Post.id)
        .limit(TOP_POSTS)
    )
    top_posts = [(title, slug, int(n)) for title, slug, n in top]
    return Dashboard(counts, posts_per_month, comments_per_day, top_posts, zone)


def _midnight(day: date, zone: str) -> datetime:
    """The instant (UTC) ``day`` starts in ``zone``."""
    return local_to_utc(datetime.combine(day, time()), zone)


def _last_months(today: date, n: int) -> list[str]:
    """The ``n`` months up to this one, as ``YYYY-MM``, oldest first."""
    year, month = today.year, today.month
    names = []
    for _ in range(n):
        names.append(f"{year:04d}-{month:02d}")
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return names[::-1]
