"""The console's dashboard: counts and the series its charts draw, in a few grouped queries
whatever the size of the site (no row is loaded to be counted in Python)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import String, cast, func, select
from sqlalchemy.sql.elements import ColumnElement

from penpress.accounts.models import User
from penpress.blog.models import Comment, Post, PostStatus, PostViewDay
from penpress.database import utcnow
from penpress.extensions import db
from penpress.permissions import Permission, holds, require

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


def _utc_text(column: Any, dialect: str, sqlite_format: str, pg_format: str) -> ColumnElement[str]:
    """A timestamp column as text in UTC (``YYYY-MM`` or ``YYYY-MM-DD``), for grouping."""
    if dialect == "postgresql":
        return func.to_char(func.timezone("UTC", column), pg_format)
    return cast(func.strftime(sqlite_format, column), String)  # stored as naive UTC


def dashboard(actor: User | None) -> Dashboard:
    """Counts and chart series for the console's front page (moderators, editors and
    administrators, each seeing their part). At most four queries."""
    viewer = require(actor, Permission.MODERATE)
    dialect = db.session.get_bind().dialect.name
    today = utcnow().date()
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
        counters["drafts"] = (
            select(func.count())
            .select_from(Post)
            .where(Post.published.is_(False), Post.status == PostStatus.DRAFT.value)
        ).scalar_subquery()
        counters["submitted"] = (
            select(func.count())
            .select_from(Post)
            .where(Post.published.is_(False), Post.status == PostStatus.SUBMITTED.value)
        ).scalar_subquery()
    if sees_users:
        counters["users"] = (
            select(func.count()).select_from(User).where(User.active.is_(True))
        ).scalar_subquery()
    row = db.session.execute(select(*(c.label(k) for k, c in counters.items()))).one()
    counts = {key: int(value) for key, value in row._mapping.items()}

    day_from = today - timedelta(days=DAYS - 1)
    day = _utc_text(Comment.created_at, dialect, "%Y-%m-%d", "YYYY-MM-DD")
    per_day = select(day, func.count()).where(Comment.created_at >= _midnight(day_from))
    by_day = {key: int(n) for key, n in db.session.execute(per_day.group_by(day))}
    comments_per_day = [
        (d, int(by_day.get(d.isoformat(), 0)))
        for d in (day_from + timedelta(days=n) for n in range(DAYS))
    ]
    if not sees_posts:
        return Dashboard(counts=counts, comments_per_day=comments_per_day)

    months = _last_months(today, MONTHS)
    month = _utc_text(Post.published_at, dialect, "%Y-%m", "YYYY-MM")
    per_month = select(month, func.count()).where(
        Post.published.is_(True),
        Post.published_at >= _midnight(date.fromisoformat(months[0] + "-01")),
    )
    by_month = {key: int(n) for key, n in db.session.execute(per_month.group_by(month))}
    posts_per_month = [(m, int(by_month.get(m, 0))) for m in months]

    views = func.sum(PostViewDay.views)
    top = db.session.execute(
        select(Post.title, Post.slug, views)
        .join(Post, Post.id == PostViewDay.post_id)
        .where(PostViewDay.day >= day_from, Post.published.is_(True))
        .group_by(Post.id, Post.title, Post.slug)
        .order_by(views.desc(), Post.id)
        .limit(TOP_POSTS)
    )
    top_posts = [(title, slug, int(n)) for title, slug, n in top]
    return Dashboard(counts, posts_per_month, comments_per_day, top_posts)


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=UTC)


def _last_months(today: date, n: int) -> list[str]:
    """The ``n`` months up to this one, as ``YYYY-MM``, oldest first."""
    year, month = today.year, today.month
    names = []
    for _ in range(n):
        names.append(f"{year:04d}-{month:02d}")
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return names[::-1]
