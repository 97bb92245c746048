"""Posts: writing, publishing, visibility, slugs, listing and view counts."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask_sqlalchemy.pagination import Pagination
from slugify import slugify
from sqlalchemy import Select, func, or_, select, update
from sqlalchemy.orm import selectinload, undefer
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.interfaces import LoaderOption

from penpress import jobs
from penpress.accounts.models import Follow, User
from penpress.accounts.services import require_confirmed
from penpress.blog.markdown import render_markdown
from penpress.blog.models import Favorite, Post, PostStatus, Tag
from penpress.blog.services.tags import (
    clean_tag_names,
    invalidate_tag_counts,
    resolve_tags,
    tag_slug,
)
from penpress.database import MAX_OFFSET, MAX_PER_PAGE, paginate, utcnow
from penpress.errors import Forbidden, Invalid, NotFound, Unauthorized, refuse_nul
from penpress.extensions import db
from penpress.permissions import Permission, holds, require
from penpress.ratelimits import Budget

TITLE_MAX_LENGTH = 200
SUMMARY_MAX_LENGTH = 500
BODY_MAX_LENGTH = 100_000
SLUG_MAX_LENGTH = 200
# Slugs a front door's own routes already use (Conduit's GET /articles/feed): never a post's.
RESERVED_SLUGS = frozenset({"feed"})
# New posts per account, one allowance whichever front door they come through (against spam).
NEW_POSTS = Budget(
    "RATELIMIT_WRITE", "new-posts", "You are writing posts too fast. Try again later."
)
CANNOT_PUBLISH = (
    "Your role cannot publish: submit the post for review, and an editor will publish it."
)
PUBLISHED_IS_LOCKED = (
    "This post is published: only an editor can change it now. Ask one, or delete it."
)
# Queued by name, so this module does not import the task that calls it: tells a writer what
# an editor decided about their submission (published, sent back, rejected).
REVIEW_EMAIL_TASK = "penpress.blog.notify_writer_of_review"


@dataclass(frozen=True)
class PostFilter:
    """Which posts a list shows; every field narrows it."""

    tag: str | None = None  # tag slug or name
    author: str | None = None  # username
    q: str | None = None  # words in the title, summary or body
    favorited_by: str | None = None  # username
    followed_by: User | None = None  # the authors this user follows (a personal feed)
    include_drafts: bool = False  # the author's unpublished posts, for the author or an editor


def post_loader() -> list[LoaderOption]:
    """Eager loads that let a list of posts render without a query per post."""
    return [
        selectinload(Post.author),
        selectinload(Post.tags),
        undefer(Post.comment_count),
        undefer(Post.favorites_count),
    ]


# --- permissions ------------------------------------------------------------------------


def may_edit(user: User | None, post: Post) -> bool:
    """Its writer, or anyone holding EDIT_ANY_POST (editors, admins), may change or delete a
    post (and see it before it is published)."""
    if user is None or not user.active:
        return False
    return user.id == post.author_id or user.can(Permission.EDIT_ANY_POST)


def can_view(viewer: User | None, post: Post) -> bool:
    """Published posts are public; unpublished ones only for those who may edit them."""
    return post.published or may_edit(viewer, post)


def _require_edit(actor: User | None, post: Post) -> User:
    if actor is None:
        raise Unauthorized()
    if not may_edit(actor, post):
        raise Forbidden("Only the author or an editor can change this post.")
    return actor


def _require_change(actor: User | None, post: Post) -> User:
    """Who may edit ``post`` and, once it is published, may also publish (a contributor's
    approved post stays as the editor approved it; they may still delete it)."""
    editor = _require_edit(actor, post)
    if post.published and not holds(editor, Permission.PUBLISH):
        raise Forbidden(PUBLISHED_IS_LOCKED)
    return editor


def require_publisher(actor: User | None) -> User:
    """``actor`` if they may make posts visible to readers: the PUBLISH permission and, when
    the site asks for it, a confirmed email address; else 401/403 saying what is missing."""
    writer = require(actor, Permission.WRITE)
    if not writer.can(Permission.PUBLISH):
        raise Forbidden(CANNOT_PUBLISH)
    return require_confirmed(writer, Permission.PUBLISH)


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
    published_at: datetime | None = None,
) -> Post:
    """Write a post (a draft unless ``published``); needs the WRITE permission, and to
    publish the PUBLISH permission and a confirmed address (:func:`require_publisher`).
    Counts in the author's :data:`NEW_POSTS` budget (429 when spent).

    ``published_at`` backdates a published post (an import, the demo seed); a date in the
    future is refused.
    """
    author = require_publisher(actor) if published else require(actor, Permission.WRITE)
    clean_title, clean_summary, clean_body = _validate(title, summary, body)
    assert clean_title is not None
    assert clean_body is not None
    tag_names = clean_tag_names(tags)
    now = utcnow()
    if published_at is not None and published_at > now:
        raise Invalid.field("published_at", "The publication date cannot be in the future.")
    NEW_POSTS.spend(f"user:{author.id}")
    post = Post(
        title=clean_title,
        slug=_unique_slug(clean_title),
        summary=clean_summary or "",
        body=clean_body,
        body_html=render_markdown(clean_body),
        published=published,
        published_at=(published_at or now) if published else None,
        status=(PostStatus.PUBLISHED if published else PostStatus.DRAFT).value,
        author=author,
        tags=resolve_tags(tag_names),
        views=0,
    )
    db.session.add(post)
    db.session.flush()
    set_committed_value(post, "comment_count", 0)
    set_committed_value(post, "favorites_count", 0)
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
) -> Post:
    """Change a post; only its writer or an editor may. The slug stays unless asked.

    Publishing needs :func:`require_publisher`; a published post can only be changed by
    someone who may publish (a contributor's approved post stays as the editor approved it).
    An editor publishing a submitted post tells its writer by email. Unpublishing makes the
    post a draft again.

    Everything is validated before anything changes, so a refused edit leaves the post as it
    was, even within the request.
    """
    editor = _require_change(actor, post)
    publishing = published is True and not post.published
    if publishing:
        require_publisher(editor)
    clean_title, clean_summary, clean_body = _validate(title, summary, body)
    tag_names = clean_tag_names(tags) if tags is not None else None
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
    if published is not None and published != post.published:
        was_submitted = post.state is PostStatus.SUBMITTED
        post.published = published
        post.status = (PostStatus.PUBLISHED if published else PostStatus.DRAFT).value
        if published:
            post.submitted_at = None
            post.review_note = None
            if post.published_at is None:
                post.published_at = utcnow()
            if was_submitted and editor.id != post.author_id:
                jobs.enqueue(REVIEW_EMAIL_TASK, post.id, PostStatus.PUBLISHED.value)
    post.updated_at = utcnow()
    db.session.flush()
    invalidate_tag_counts()
    return post


def delete_post(actor: User | None, post: Post) -> None:
    """Delete a post and its comments; only its writer or an editor may."""
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
    _require_change(actor, post)
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
        and (viewer.id == author.id or viewer.can(Permission.EDIT_ANY_POST))
    )
    if not drafts_allowed:
        stmt = stmt.where(Post.published.is_(True))
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
    """``(slug, last change)`` of published posts, newest first: one query, for sitemaps."""
    stmt = (
        select(Post.slug, Post.updated_at)
        .where(Post.published.is_(True))
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
        .where(Post.published.is_(True))
        .group_by(User.id, User.username)
        .order_by(User.username)
        .limit(max(limit, 0))
    )
    return [(username, updated) for username, updated in db.session.execute(stmt)]
