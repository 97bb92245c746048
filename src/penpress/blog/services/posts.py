"""Posts: writing, publishing and scheduling, visibility, slugs, listing and view counts.

Readers see a post when it is published and its ``published_at`` has come
(:meth:`Post.visible_at`), in every list, page, feed, sitemap and API alike, so a scheduled
post appears on its own at its time. What must happen once at that moment (caches, the
"went live" job) is done by :func:`mark_due_posts_live`, a periodic job.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import Any, Final, Literal

from flask_sqlalchemy.pagination import Pagination
from slugify import slugify
from sqlalchemy import Select, func, or_, select, update
from sqlalchemy.orm import selectinload, undefer
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.interfaces import LoaderOption

from penpress import jobs, timezones
from penpress.accounts.models import Follow, User
from penpress.blog.markdown import render_markdown
from penpress.blog.models import Favorite, Post, Tag
from penpress.blog.services.tags import (
    clean_tag_names,
    invalidate_tag_counts,
    resolve_tags,
    tag_slug,
)
from penpress.database import MAX_OFFSET, MAX_PER_PAGE, paginate, utcnow
from penpress.errors import Forbidden, Invalid, NotFound, Unauthorized, refuse_nul
from penpress.extensions import db
from penpress.permissions import Permission, require
from penpress.ratelimits import Budget

TITLE_MAX_LENGTH = 200
SUMMARY_MAX_LENGTH = 500
BODY_MAX_LENGTH = 100_000
SLUG_MAX_LENGTH = 200
# Slugs a front door's own routes already use (Conduit's GET /articles/feed): never a post's.
RESERVED_SLUGS = frozenset({"feed"})
# Queued by name, once per post, when readers first see it (see :func:`mark_due_posts_live`).
WENT_LIVE_TASK = "penpress.blog.post_went_live"
# The periodic job that notices scheduled posts whose time has come.
PUBLISH_DUE_TASK = "penpress.blog.publish_due_posts"
DUE_BATCH = 500  # posts one run of the went-live step marks at most (the next run goes on)
SCHEDULE_NEEDS_FUTURE = "Choose a date and time in the future to schedule the post."
# New posts per account, one allowance whichever front door they come through (against spam).
NEW_POSTS = Budget(
    "RATELIMIT_WRITE", "new-posts", "You are writing posts too fast. Try again later."
)


@dataclass(frozen=True)
class PostFilter:
    """Which posts a list shows; every field narrows it."""

    tag: str | None = None  # tag slug or name
    author: str | None = None  # username
    q: str | None = None  # words in the title, summary or body
    favorited_by: str | None = None  # username
    followed_by: User | None = None  # the authors this user follows (a personal feed)
    include_drafts: bool = False  # the author's own drafts, for the author or an admin


def post_loader() -> list[LoaderOption]:
    """Eager loads that let a list of posts render without a query per post."""
    return [
        selectinload(Post.author),
        selectinload(Post.tags),
        undefer(Post.comment_count),
        undefer(Post.favorites_count),
    ]


class _Unset(Enum):
    UNSET = "unset"


UNSET: Final = _Unset.UNSET  # "not given": leave the publication date as it is
PublishAt = datetime | None | Literal[_Unset.UNSET]

PostStatusName = Literal["draft", "scheduled", "published"]


def post_status(post: Post) -> PostStatusName:
    """Where a post stands for readers: a draft, scheduled (published for a time still to
    come) or published (readers see it)."""
    if not post.published:
        return "draft"
    return "published" if post.is_live else "scheduled"


# --- permissions ------------------------------------------------------------------------


def may_edit(user: User | None, post: Post) -> bool:
    """Its author or an administrator may change or delete a post (and see it as a draft or
    before its scheduled time)."""
    return user is not None and user.active and (user.id == post.author_id or user.is_admin)


def can_view(viewer: User | None, post: Post) -> bool:
    """Published posts whose time has come are public; drafts and scheduled posts only for
    those who may edit them."""
    return post.is_live or may_edit(viewer, post)


def _require_edit(actor: User | None, post: Post) -> User:
    if actor is None:
        raise Unauthorized()
    if not may_edit(actor, post):
        raise Forbidden("Only the author or an admin can change this post.")
    return actor


# --- validation and slugs ----------------------------------------------------------------


def _validate(
    title: str | None, summary: str | None, body: str | None
) -> tuple[str | None, str | None, str | None]:
    refuse_nul(title=title, summary=summary, body=body)
    errors: dict[str, list[str]] = {}
    if title is not None:
        title = " ".join(title.split())
        if not title:
            errors["title"] = ["Title is required."]
        elif len(title) > TITLE_MAX_LENGTH:
            errors["title"] = [f"Title must be at most {TITLE_MAX_LENGTH} characters."]
    if summary is not None:
        summary = summary.strip()
        if len(summary) > SUMMARY_MAX_LENGTH:
            errors["summary"] = [f"Summary must be at most {SUMMARY_MAX_LENGTH} characters."]
    if body is not None:
        if not body.strip():
            errors["body"] = ["Body is required."]
        elif len(body) > BODY_MAX_LENGTH:
            errors["body"] = [f"Body must be at most {BODY_MAX_LENGTH} characters."]
    if errors:
        raise Invalid("Please correct the highlighted fields.", errors)
    return title, summary, body


def _unique_slug(title: str, exclude_id: int | None = None) -> str:
    """A URL slug for ``title`` that no other post has: ``title``, ``title-2``, ..."""
    base = slugify(title, max_length=SLUG_MAX_LENGTH, word_boundary=True) or "post"
    stmt = select(Post.slug).where(or_(Post.slug == base, Post.slug.startswith(base + "-")))
    if exclude_id is not None:
        stmt = stmt.where(Post.id != exclude_id)
    taken = set(db.session.scalars(stmt)) | RESERVED_SLUGS
    if base not in taken:
        return base
    suffix = 2
    while f"{base}-{suffix}" in taken:
        suffix += 1
    return f"{base}-{suffix}"


# --- writing ------------------------------------------------------------------------------


def require_writer(actor: User | None) -> User:
    """``actor`` if they may write posts (before showing them an empty editor); else 401/403."""
    return require(actor, Permission.WRITE)


def create_post(
    actor: User | None,
    *,
    title: str,
    body: str,
    summary: str = "",
    tags: Iterable[str] = (),
    published: bool = False,
    publish_at: datetime | None = None,
    schedule: bool = False,
) -> Post:
    """Write a post (a draft unless ``published``); needs the WRITE permission, and counts in
    the author's :data:`NEW_POSTS` budget (429 when spent).

    ``publish_at`` (an aware datetime) is the publication date: in the future it schedules a
    published post (readers see it from then on), in the past it backdates it; without it a
    published post is dated now. ``schedule`` insists on a future ``publish_at`` (the
    editor's "Schedule" button).
    """
    author = require(actor, Permission.WRITE)
    clean_title, clean_summary, clean_body = _validate(title, summary, body)
    assert clean_title is not None
    assert clean_body is not None
    tag_names = clean_tag_names(tags)
    now = utcnow()
    when = _check_publish_at(publish_at, schedule=schedule, now=now)
    published = published or schedule
    NEW_POSTS.spend(f"user:{author.id}")
    post = Post(
        title=clean_title,
        slug=_unique_slug(clean_title),
        summary=clean_summary or "",
        body=clean_body,
        body_html=render_markdown(clean_body),
        published=published,
        published_at=when or (now if published else None),
        author=author,
        tags=resolve_tags(tag_names),
        views=0,
    )
    db.session.add(post)
    db.session.flush()
    set_committed_value(post, "comment_count", 0)
    set_committed_value(post, "favorites_count", 0)
    _went_live_now(post, now)
    invalidate_tag_counts()
    return post


def update_post(
    actor: User | None,
    post: Post,
    *,
    title: str | None = None,
    summary: str | None = None,
    body: str | None = None,
    tags: Iterable[str] | None = None,
    published: bool | None = None,
    regenerate_slug: bool = False,
    publish_at: PublishAt = UNSET,
    schedule: bool = False,
) -> Post:
    """Change a post; only its author or an admin may. The slug stays unless asked.

    ``publish_at`` sets the publication date (future: scheduled, past: backdated); ``None``
    clears it, so publishing dates the post now; left out, the date stays (the first
    publication dates a post that has none). A date within the minute of the current one
    keeps the current one (forms send minutes). ``schedule`` publishes and insists on a
    future date.

    Everything is validated before anything changes, so a refused edit leaves the post as it
    was, even within the request.
    """
    _require_edit(actor, post)
    clean_title, clean_summary, clean_body = _validate(title, summary, body)
    tag_names = clean_tag_names(tags) if tags is not None else None
    now = utcnow()
    if schedule:
        published = True
        if publish_at is UNSET:
            publish_at = post.published_at
    when: PublishAt = UNSET
    if publish_at is not UNSET:
        when = _check_publish_at(publish_at, schedule=schedule, now=now)
        if when is not None and _same_minute(when, post.published_at):
            when = UNSET
    if clean_title is not None:
        if regenerate_slug and clean_title != post.title:
            post.slug = _unique_slug(clean_title, exclude_id=post.id)
        post.title = clean_title
    if clean_summary is not None:
        post.summary = clean_summary
    if clean_body is not None and clean_body != post.body:
        post.body = clean_body
        post.body_html = render_markdown(clean_body)
    if tag_names is not None:
        post.tags = resolve_tags(tag_names)
    if when is not UNSET:
        post.published_at = when
    if published is not None:
        post.published = published
    if post.published and post.published_at is None:
        post.published_at = now
    post.updated_at = now
    db.session.flush()
    _went_live_now(post, now)
    invalidate_tag_counts()
    return post


def _check_publish_at(
    publish_at: datetime | None, *, schedule: bool, now: datetime
) -> datetime | None:
    """``publish_at`` in UTC, checked; a future one is required to ``schedule``."""
    if publish_at is None:
        if schedule:
            raise Invalid.field("publish_at", SCHEDULE_NEEDS_FUTURE)
        return None
    when = timezones.in_range(publish_at, "publish_at")
    if schedule and when <= now:
        raise Invalid.field("publish_at", SCHEDULE_NEEDS_FUTURE)
    return when


def _same_minute(one: datetime, other: datetime | None) -> bool:
    return other is not None and one.replace(second=0, microsecond=0) == other.replace(
        second=0, microsecond=0
    )


# --- going live ---------------------------------------------------------------------------


def _went_live_now(post: Post, now: datetime) -> None:
    """A post just saved visible (not scheduled): mark it and queue its job, once."""
    if post.went_live_at is None and post.is_visible_at(now) and _mark_live([post.id], now):
        set_committed_value(post, "went_live_at", now)


def _mark_live(post_ids: Sequence[int], now: datetime) -> list[int]:
    """Mark these posts live if no one has yet, and queue each one's "went live" job.

    One conditional UPDATE: of two processes racing (two periodic runners, a save and the
    periodic job), only one sees ``went_live_at IS NULL`` for a post (PostgreSQL re-checks
    the condition after the other's commit; SQLite runs one writer at a time), so each job is
    queued exactly once, in the transaction that marks the post.
    """
    if not post_ids:
        return []
    marked = list(
        db.session.scalars(
            update(Post)
            .where(Post.id.in_(post_ids), Post.went_live_at.is_(None), Post.visible_at(now))
            .values(went_live_at=now, updated_at=Post.updated_at)
            .returning(Post.id),
            execution_options={"synchronize_session": False},
        )
    )
    for post_id in sorted(marked):
        jobs.enqueue(WENT_LIVE_TASK, post_id)
    return sorted(marked)


def mark_due_posts_live(now: datetime | None = None) -> list[int]:
    """Trusted (the periodic job ``PUBLISH_DUE_TASK``): mark the scheduled posts whose time
    has come as live, queue each one's "went live" job exactly once, and drop the caches
    that counted without them. Returns the ids marked; safe to run twice or in two
    processes at once.

    Readers see such a post from its ``published_at`` on whether or not this ran; this only
    catches the caches and the one-off work up.
    """
    now = now or utcnow()
    marked = _mark_live(db.session.scalars(_due(now)).all(), now)
    if marked:
        # Everything cached that counted or listed without these posts goes (a page cache's
        # generation belongs here too).
        invalidate_tag_counts()
    return marked


def _due(now: datetime) -> Select[int]:
    """The posts not marked live yet whose time has come, oldest first.

    Read along ``ix_posts_went_live_at_published_at`` (only such posts, however many are
    live): ``published IS NOT false`` rather than ``= true`` keeps SQLite's planner, which has
    no statistics, off the list index on ``published``, whose range is every live post.
    ``_mark_live`` checks :meth:`Post.visible_at` again.
    """
    return (
        select(Post.id)
        .where(
            Post.went_live_at.is_(None),
            Post.published_at <= now,
            Post.published.is_not(False),
        )
        .order_by(Post.published_at, Post.id)
        .limit(DUE_BATCH)
    )


def post_to_announce(post_id: int) -> Post | None:
    """Trusted (the "went live" job): the post ``post_id`` if readers see it now, else None
    (deleted, unpublished or moved back into the future since it went live)."""
    post = db.session.get(Post, post_id)
    return post if post is not None and post.is_live else None


def delete_post(actor: User | None, post: Post) -> None:
    """Delete a post and its comments; only its author or an admin may."""
    _require_edit(actor, post)
    db.session.delete(post)
    db.session.flush()
    invalidate_tag_counts()


def record_view(viewer: User | None, post: Post) -> None:
    """Count a reader's page view with one atomic UPDATE, so concurrent views are never lost.

    An author reading their own post is not a reader: those views do not count.
    """
    if viewer is not None and viewer.id == post.author_id:
        return
    db.session.execute(
        update(Post)
        .where(Post.id == post.id)
        .values(views=Post.views + 1, updated_at=Post.updated_at),
        execution_options={"synchronize_session": False},
    )
    set_committed_value(post, "views", (post.views or 0) + 1)


# --- reading ------------------------------------------------------------------------------


def _visible_or_404(viewer: User | None, post: Post | None) -> Post:
    # A draft answers 404, not 403, so its existence does not leak.
    if post is None or not can_view(viewer, post):
        raise NotFound("No such post.")
    return post


def get_post(viewer: User | None, slug: str) -> Post:
    """The post at ``slug`` if ``viewer`` may see it (404 otherwise)."""
    post = db.session.scalar(select(Post).where(Post.slug == slug).options(*post_loader()))
    return _visible_or_404(viewer, post)


def get_post_by_id(viewer: User | None, post_id: int) -> Post:
    """The post with ``post_id`` if ``viewer`` may see it (404 otherwise)."""
    post = db.session.scalar(select(Post).where(Post.id == post_id).options(*post_loader()))
    return _visible_or_404(viewer, post)


def get_post_to_edit(actor: User | None, post_id: int) -> Post:
    """The post with ``post_id`` for its editing form: 404 if ``actor`` cannot see it, 403 if
    they may see but not change it."""
    post = get_post_by_id(actor, post_id)
    _require_edit(actor, post)
    return post


def _filtered(viewer: User | None, filters: PostFilter) -> Select[Any]:
    stmt = select(Post)
    author: User | None = None
    if filters.author is not None:
        author = db.session.scalar(select(User).where(User.username == filters.author))
        stmt = stmt.where(Post.author_id == (author.id if author else -1))
    drafts_allowed = (
        filters.include_drafts
        and author is not None
        and viewer is not None
        and viewer.active
        and (viewer.id == author.id or viewer.is_admin)
    )
    if not drafts_allowed:
        stmt = stmt.where(Post.visible_at(utcnow()))
    if filters.tag:
        # Tags are one per slug ("Dragons" and "dragons" are the same tag), so match by it.
        stmt = stmt.where(
            Post.tags.any(
                or_(
                    Tag.slug == filters.tag,
                    Tag.slug == tag_slug(filters.tag),
                    Tag.name == filters.tag,
                )
            )
        )
    if filters.q and filters.q.strip():
        for word in filters.q.split()[:10]:
            stmt = stmt.where(
                or_(
                    Post.title.icontains(word, autoescape=True),
                    Post.summary.icontains(word, autoescape=True),
                    Post.body.icontains(word, autoescape=True),
                )
            )
    if filters.favorited_by is not None:
        fan = select(User.id).where(User.username == filters.favorited_by).scalar_subquery()
        stmt = stmt.where(Post.id.in_(select(Favorite.post_id).where(Favorite.user_id == fan)))
    if filters.followed_by is not None:
        stmt = stmt.where(
            Post.author_id.in_(
                select(Follow.followed_id).where(Follow.follower_id == filters.followed_by.id)
            )
        )
    return stmt.order_by(Post.shown_at.desc(), Post.id.desc())


def list_posts(
    viewer: User | None, filters: PostFilter, page: int = 1, per_page: int = 10
) -> Pagination:
    """One page of posts, newest first, with authors, tags and counts loaded in bulk."""
    stmt = _filtered(viewer, filters).options(*post_loader())
    return paginate(stmt, page, per_page)


def list_posts_window(
    viewer: User | None, filters: PostFilter, limit: int, offset: int
) -> tuple[Sequence[Post], int]:
    """Posts by ``limit``/``offset`` (as Conduit pages them) and the total count.

    ``limit`` is capped at ``MAX_PER_PAGE``, like a page of :func:`list_posts`.
    """
    stmt = _filtered(viewer, filters)
    total = db.session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))
    items = db.session.scalars(
        stmt.options(*post_loader())
        .limit(min(max(limit, 0), MAX_PER_PAGE))
        .offset(min(max(offset, 0), MAX_OFFSET))
    ).all()
    return items, int(total or 0)


def feed(viewer: User | None, page: int = 1, per_page: int = 10) -> Pagination:
    """Published posts by the authors ``viewer`` follows (signed-in readers only)."""
    reader = require(viewer, Permission.COMMENT)
    return list_posts(reader, PostFilter(followed_by=reader), page, per_page)


def feed_window(viewer: User | None, limit: int, offset: int) -> tuple[Sequence[Post], int]:
    """:func:`feed` by ``limit``/``offset``, with the total count (Conduit's feed)."""
    reader = require(viewer, Permission.COMMENT)
    return list_posts_window(reader, PostFilter(followed_by=reader), limit, offset)


def published_post_stamps(limit: int) -> list[tuple[str, datetime]]:
    """``(slug, last change)`` of the posts readers see, newest first: one query, for
    sitemaps."""
    stmt = (
        select(Post.slug, Post.updated_at)
        .where(Post.visible_at(utcnow()))
        .order_by(Post.shown_at.desc(), Post.id.desc())
        .limit(max(limit, 0))
    )
    return [(slug, updated) for slug, updated in db.session.execute(stmt)]


def published_authors(limit: int) -> list[tuple[str, datetime]]:
    """``(username, last change of their published posts)`` of every author with a published
    post, by username: one query, for sitemaps."""
    latest = func.max(Post.updated_at)
    stmt = (
        select(User.username, latest)
        .join(Post, Post.author_id == User.id)
        .where(Post.visible_at(utcnow()))
        .group_by(User.id, User.username)
        .order_by(User.username)
        .limit(max(limit, 0))
    )
    return [(username, updated) for username, updated in db.session.execute(stmt)]
