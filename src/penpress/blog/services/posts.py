"""Posts: writing, publishing and scheduling, visibility, slugs, listing and view counts.

Readers see a post when it is published and its ``published_at`` has come
(:meth:`Post.visible_at`), in every list, page, feed, sitemap and API alike, so a scheduled
post appears on its own at its time. What must happen once at that moment (the counters, the
page cache, the "went live" job) is done by :func:`mark_due_posts_live`, a periodic job, or
by the save that makes a post visible at once.

The counters (:mod:`penpress.blog.counts`) count the posts that have *gone live*: published
with ``went_live_at`` set (:meth:`Post.counted`). A post scheduled for later is not counted
until the went-live step marks it; moved back into the future, it is unmarked (and uncounted)
and goes live again at its new time.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import Any, Final, Literal

from slugify import slugify
from sqlalchemy import (
    ColumnElement,
    Select,
    false,
    func,
    literal,
    select,
    tuple_,
    union_all,
    update,
)
from sqlalchemy.orm import joinedload, selectinload
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.interfaces import LoaderOption

from penpress import jobs, page_cache, timezones
from penpress.accounts.models import Follow, User
from penpress.accounts.services import require_confirmed
from penpress.audit import services as audit
from penpress.blog import counts, paging, search, view_counts
from penpress.blog.markdown import render_markdown
from penpress.blog.models import Favorite, Post, PostStatus, Tag, post_tags
from penpress.blog.paging import Cursor, PostPage, offset_of
from penpress.blog.services.tags import (
    clean_tag_names,
    invalidate_tag_counts,
    resolve_tags,
    tag_slug,
)
from penpress.database import MAX_PER_PAGE, UTCDateTime, utcnow
from penpress.errors import Forbidden, Invalid, NotFound, Unauthorized, refuse_nul
from penpress.extensions import db
from penpress.media import services as media
from penpress.media.models import Media
from penpress.permissions import Permission, holds, require
from penpress.ratelimits import Budget

TITLE_MAX_LENGTH = 200
SUMMARY_MAX_LENGTH = 500
BODY_MAX_LENGTH = 100_000
SLUG_MAX_LENGTH = 200
# A feed of at most this many authors merges each one's newest posts (a statement with a
# part per author: cheap for a few, but it grows with them); beyond, it reads all posts
# newest first and keeps theirs, which is dense enough then to fill a page quickly.
FEED_FAN_OUT = 10

META_TITLE_MAX_LENGTH = 200
META_DESCRIPTION_MAX_LENGTH = 300
IMAGE_ALT_MAX_LENGTH = 300
# Slugs a front door's own routes already use (Conduit's GET /articles/feed): never a post's.
RESERVED_SLUGS = frozenset({"feed"})
SLUG_PROBE_BATCH = 50  # "title", "title-2" ... "title-50" in one lookup
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
# Queued by name, once per post, when readers first see it (see :func:`mark_due_posts_live`).
WENT_LIVE_TASK = "penpress.blog.post_went_live"
# The periodic job that notices scheduled posts whose time has come.
PUBLISH_DUE_TASK = "penpress.blog.publish_due_posts"
DUE_BATCH = 500  # posts one run of the went-live step marks at most (the next run goes on)
SCHEDULE_NEEDS_FUTURE = "Choose a date and time in the future to schedule the post."


@dataclass(frozen=True)
class PostFilter:
    """Which posts a list shows; every field narrows it."""

    tag: str | None = None  # tag slug or name
    author: str | User | None = None  # username, or the user already loaded
    q: str | None = None  # words in the title, summary, body or tags (the search index)
    favorited_by: str | None = None  # username
    followed_by: User | None = None  # the authors this user follows (a personal feed)
    include_drafts: bool = False  # the author's unpublished posts, for the author or an editor


def post_loader() -> list[LoaderOption]:
    """Eager loads that let a post render without another query."""
    return [
        joinedload(Post.author, innerjoin=True),
        selectinload(Post.tags),
        joinedload(Post.featured_image),  # many-to-one: a join, no query of its own
    ]


def _list_loader() -> list[LoaderOption]:
    """A list's eager loads: the authors and featured images joined; the tags by
    :func:`_attach_tags` (their own loader is ``raise_on_sql``, so nothing loads them behind
    its back)."""
    return [joinedload(Post.author, innerjoin=True), joinedload(Post.featured_image)]


def _attach_tags(posts: Sequence[Post]) -> Sequence[Post]:
    """Load the tags of a page of posts in one plain query (a quarter cheaper than the
    ``selectinload`` machinery on a page of twenty), in ``Post.tags``' order."""
    if posts:
        rows = db.session.execute(
            select(post_tags.c.post_id, Tag)
            .join(Tag, Tag.id == post_tags.c.tag_id)
            .where(post_tags.c.post_id.in_([post.id for post in posts]))
            .order_by(func.lower(Tag.name), Tag.name)
        )
        found: dict[int, list[Tag]] = {}
        for post_id, tag in rows:
            found.setdefault(post_id, []).append(tag)
        for post in posts:
            set_committed_value(post, "tags", found.get(post.id, []))
    return posts


class _Unset(Enum):
    UNSET = "unset"


UNSET: Final = _Unset.UNSET  # "not given": leave the publication date as it is
PublishAt = datetime | None | Literal[_Unset.UNSET]

PostStatusName = Literal["draft", "scheduled", "published"]


def post_status(post: Post) -> PostStatusName:
    """Where a post stands for readers: not published (a draft, or in review), scheduled
    (published for a time still to come) or published (readers see it)."""
    if not post.published:
        return "draft"
    return "published" if post.is_live else "scheduled"


# --- permissions ------------------------------------------------------------------------


def may_edit(user: User | None, post: Post) -> bool:
    """Its writer, or anyone holding EDIT_ANY_POST (editors, admins), may change or delete a
    post (and see it before it is published or before its scheduled time)."""
    if user is None or not user.active:
        return False
    return user.id == post.author_id or user.can(Permission.EDIT_ANY_POST)


def can_view(viewer: User | None, post: Post) -> bool:
    """Published posts whose time has come are public; drafts and scheduled posts only for
    those who may edit them."""
    return post.is_live or may_edit(viewer, post)


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


@dataclass(frozen=True)
class _Extras:
    """The optional fields of a post, cleaned; ``None`` where the caller gave nothing."""

    meta_title: str | None
    meta_description: str | None
    image_alt: str | None


def _validate_extras(
    meta_title: str | None, meta_description: str | None, image_alt: str | None
) -> _Extras:
    refuse_nul(
        meta_title=meta_title, meta_description=meta_description, featured_image_alt=image_alt
    )
    errors: dict[str, list[str]] = {}
    limits = (
        ("meta_title", meta_title, META_TITLE_MAX_LENGTH),
        ("meta_description", meta_description, META_DESCRIPTION_MAX_LENGTH),
        ("featured_image_alt", image_alt, IMAGE_ALT_MAX_LENGTH),
    )
    cleaned: dict[str, str | None] = {}
    for name, value, limit in limits:
        cleaned[name] = None if value is None else " ".join(value.split())
        if cleaned[name] is not None and len(cleaned[name] or "") > limit:
            errors[name] = [f"Must be at most {limit} characters."]
    if errors:
        raise Invalid("Please correct the highlighted fields.", errors)
    return _Extras(
        cleaned["meta_title"], cleaned["meta_description"], cleaned["featured_image_alt"]
    )


def _featured_image(
    actor: User | None, post: Post | None, reference: int | str | None
) -> tuple[Media | None, str | None] | None:
    """The featured image ``reference`` names (see :func:`media.resolve_image`), or ``None``
    when it leaves the post's image as it is (not given, or the one it already has)."""
    if reference is None or isinstance(reference, bool):
        return None
    if post is not None and (
        (isinstance(reference, int) and reference == post.featured_image_id)
        or (isinstance(reference, str) and reference and reference == post.featured_image_url)
    ):
        return None
    return media.resolve_image(actor, reference)


def _unique_slug(title: str, exclude_id: int | None = None) -> str:
    """A URL slug for ``title`` that no other post has: ``title``, ``title-2``, ...

    The candidates are looked up by exact value, a batch at a time: a prefix search
    (``LIKE 'title-%'``) is not served by the slug index on either database, and read every
    slug of the table (85 ms a post at 1,000,000 posts).
    """
    base = slugify(title, max_length=SLUG_MAX_LENGTH, word_boundary=True) or "post"
    first = 1
    while True:
        candidates = [
            base if n == 1 else f"{base}-{n}" for n in range(first, first + SLUG_PROBE_BATCH)
        ]
        stmt = select(Post.slug).where(Post.slug.in_(candidates))
        if exclude_id is not None:
            stmt = stmt.where(Post.id != exclude_id)
        taken = set(db.session.scalars(stmt)) | RESERVED_SLUGS
        free = next((slug for slug in candidates if slug not in taken), None)
        if free is not None:
            return free
        first += SLUG_PROBE_BATCH


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
    featured_image: int | str | None = None,
    featured_image_alt: str = "",
    meta_title: str = "",
    meta_description: str = "",
) -> Post:
    """Write a post (a draft unless ``published``); needs the WRITE permission, and to
    publish, schedule or date it the PUBLISH permission and a confirmed address
    (:func:`require_publisher`). Counts in the author's :data:`NEW_POSTS` budget (429 when
    spent).

    ``publish_at`` (an aware datetime) is the publication date: in the future it schedules a
    published post (readers see it from then on), in the past it backdates it; without it a
    published post is dated now. ``schedule`` insists on a future ``publish_at`` (the
    editor's "Schedule" button) and publishes. ``featured_image`` is one of the author's
    uploads (its id) or an image address (see :func:`penpress.media.services.resolve_image`).
    """
    published = published or schedule
    author = (
        require_publisher(actor)
        if published or publish_at is not None
        else require(actor, Permission.WRITE)
    )
    clean_title, clean_summary, clean_body = _validate(title, summary, body)
    assert clean_title is not None
    assert clean_body is not None
    extras = _validate_extras(meta_title, meta_description, featured_image_alt)
    image, image_url = _featured_image(author, None, featured_image) or (None, None)
    tag_names = clean_tag_names(tags)
    now = utcnow()
    when = _check_publish_at(publish_at, schedule=schedule, now=now)
    NEW_POSTS.spend(f"user:{author.id}")
    post = Post(
        title=clean_title,
        slug=_unique_slug(clean_title),
        summary=clean_summary or "",
        body=clean_body,
        body_html=render_markdown(clean_body),
        published=published,
        published_at=when or (now if published else None),
        status=(PostStatus.PUBLISHED if published else PostStatus.DRAFT).value,
        author=author,
        views=0,
        comment_count=0,
        favorites_count=0,
        featured_image=image,
        featured_image_url=image_url,
        featured_image_alt=extras.image_alt or "",
        meta_title=extras.meta_title or "",
        meta_description=extras.meta_description or "",
    )
    _set_tags(post, resolve_tags(tag_names))
    db.session.add(post)
    db.session.flush()
    _went_live_now(post, now)
    _counted(post, was_counted=False, was_visible=False, old_tag_ids=set())
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
    featured_image: int | str | None = None,
    featured_image_alt: str | None = None,
    meta_title: str | None = None,
    meta_description: str | None = None,
) -> Post:
    """Change a post; only its writer or an editor may. The slug stays unless asked.

    Publishing, scheduling or dating needs :func:`require_publisher`; a published (or
    scheduled) post can only be changed by someone who may publish (a contributor's approved
    post stays as the editor approved it). An editor publishing a submitted post (now or at a
    future time) tells its writer by email. Unpublishing makes the post a draft again.

    ``publish_at`` sets the publication date (future: scheduled, past: backdated); ``None``
    clears it, so publishing dates the post now; left out, the date stays (the first
    publication dates a post that has none). A date within the minute of the current one
    keeps the current one (forms send minutes). ``schedule`` publishes and insists on a
    future date.

    ``None`` leaves a field as it is; ``featured_image=""`` removes the image.
    Everything is validated before anything changes, so a refused edit leaves the post as it
    was, even within the request.
    """
    editor = _require_change(actor, post)
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
    publishing = published is True and not post.published
    if publishing or (when is not UNSET and when is not None):
        require_publisher(editor)
    clean_title, clean_summary, clean_body = _validate(title, summary, body)
    extras = _validate_extras(meta_title, meta_description, featured_image_alt)
    new_image = _featured_image(actor, post, featured_image)
    tag_names = clean_tag_names(tags) if tags is not None else None
    was_published = post.published
    was_counted = post.counted
    was_visible = post.is_visible_at(now)
    old_tag_ids = {tag.id for tag in post.tags}
    old_slug = post.slug
    before = _audited_fields(post)
    was_submitted = post.state is PostStatus.SUBMITTED
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
        _set_tags(post, resolve_tags(tag_names))
    if new_image is not None:
        post.featured_image, post.featured_image_url = new_image
    if extras.image_alt is not None:
        post.featured_image_alt = extras.image_alt
    if extras.meta_title is not None:
        post.meta_title = extras.meta_title
    if extras.meta_description is not None:
        post.meta_description = extras.meta_description
    if when is not UNSET:
        post.published_at = when
    if published is not None and published != post.published:
        post.published = published
        post.status = (PostStatus.PUBLISHED if published else PostStatus.DRAFT).value
        if published:
            post.submitted_at = None
            post.review_note = None
            if was_submitted and editor.id != post.author_id:
                jobs.enqueue(REVIEW_EMAIL_TASK, post.id, PostStatus.PUBLISHED.value)
    if post.published and post.published_at is None:
        post.published_at = now
    if post.published and post.went_live_at is not None and not post.is_visible_at(now):
        # Moved back into the future: off the counters until it goes live again.
        post.went_live_at = None
    post.updated_at = now
    db.session.flush()
    _went_live_now(post, now)
    _counted(post, was_counted=was_counted, was_visible=was_visible, old_tag_ids=old_tag_ids)
    if (was_published and not post.is_visible_at(now)) or post.slug != old_slug:
        page_cache.post_gone(old_slug)
    if editor.id != post.author_id:  # an editor acting on someone else's post
        changes = audit.changed(before, _audited_fields(post))
        if changes:
            action = "post.update"
            if "published" in changes:
                action = "post.unpublish" if not post.published else "post.publish"
                if post.published and was_submitted:
                    action = "review.publish"
            audit.record(editor, action, post_subject(post), changes=changes)
    invalidate_tag_counts()
    return post


def _set_tags(post: Post, tags: list[Tag]) -> None:
    """Give ``post`` these tags, and the search index their names."""
    post.tags = tags
    post.search_tags = search.tag_text(tag.name for tag in tags)


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


def post_subject(post: Post) -> audit.Subject:
    """How the audit log names a post: its id and title at the time."""
    return audit.Subject("post", post.id, post.title)


def _audited_fields(post: Post) -> dict[str, Any]:
    """What the audit log compares before and after an editor's change (the body as text)."""
    return {
        "title": post.title,
        "slug": post.slug,
        "summary": post.summary,
        "body": post.body,
        "published": post.published,
        "status": post.status,
        "tags": [tag.name for tag in post.tags],
    }


def _counted(post: Post, *, was_counted: bool, was_visible: bool, old_tag_ids: set[int]) -> None:
    """Keep the counters, the ``post_tags`` copies and the page cache in step with a post
    just written (flushed). The counters follow :attr:`Post.counted` (gone live)."""
    counts.copy_to_post_tags(post)
    counted = post.counted
    counts.post_counted(post.author_id, int(counted) - int(was_counted))
    before = old_tag_ids if was_counted else set()
    after = {tag.id for tag in post.tags} if counted else set()
    counts.tags_counted(removed=before - after, added=after - before)
    if was_visible or was_counted or counted:
        page_cache.site_changed()  # readers see it in lists, on tag and author pages


# --- going live ---------------------------------------------------------------------------


def _went_live_now(post: Post, now: datetime) -> None:
    """A post just saved visible (not scheduled) and not marked yet: mark it and queue its
    job. A post unpublished and published again stays marked: counted again, not announced
    again."""
    if post.went_live_at is None and post.is_visible_at(now) and _mark_live([post.id], now):
        set_committed_value(post, "went_live_at", now)


def _mark_live(post_ids: Sequence[int], now: datetime) -> list[int]:
    """Mark these posts live if no one has yet, and queue each one's "went live" job.

    One conditional UPDATE: of two processes racing (two periodic runners, a save and the
    periodic job), only one sees ``went_live_at IS NULL`` for a post (PostgreSQL re-checks
    the condition after the other's commit; SQLite runs one writer at a time), so each post
    is marked (and counted, and its job queued) once, in the transaction that marks it.
    """
    if not post_ids:
        return []
    marked = sorted(
        db.session.scalars(
            update(Post)
            .where(Post.id.in_(post_ids), Post.went_live_at.is_(None), Post.visible_at(now))
            .values(went_live_at=now, updated_at=Post.updated_at)
            .returning(Post.id),
            execution_options={"synchronize_session": False},
        )
    )
    for post_id in marked:
        jobs.enqueue(WENT_LIVE_TASK, post_id)
    return marked


def mark_due_posts_live(now: datetime | None = None) -> list[int]:
    """Trusted (the periodic job ``PUBLISH_DUE_TASK``): mark the scheduled posts whose time
    has come as live, count them (authors, tags, the published total), queue each one's
    "went live" job exactly once, and drop the caches that showed the site without them.
    Returns the ids marked; safe to run twice or in two processes at once.

    Readers see such a post from its ``published_at`` on whether or not this ran; this
    catches the counters, the caches and the one-off work up.
    """
    now = now or utcnow()
    marked = _mark_live(db.session.scalars(_due(now)).all(), now)
    if marked:
        counts.posts_went_live(marked)
        invalidate_tag_counts()
        page_cache.site_changed()
    return marked


def _due(now: datetime) -> Select[Any]:
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
    """Delete a post and its comments; only its writer or an editor may."""
    editor = _require_edit(actor, post)
    if post.counted:
        counts.post_counted(post.author_id, -1)
        counts.tags_counted(removed=set(counts.tag_ids_of(post.id)), added=set())
    if post.published:
        page_cache.site_changed()
    page_cache.post_gone(post.slug)
    if editor.id != post.author_id:
        audit.record(
            editor,
            "post.delete",
            post_subject(post),
            details={"author_id": post.author_id, "slug": post.slug, "status": post.status},
        )
    db.session.delete(post)
    db.session.flush()
    invalidate_tag_counts()


def record_view(viewer: User | None, post: Post) -> None:
    """Count a reader's page view, in a buffer flushed by a periodic job: reading a post
    never writes to the database (see :mod:`penpress.blog.view_counts`).

    An author reading their own post is not a reader: those views do not count.
    """
    if viewer is not None and viewer.id == post.author_id:
        return
    view_counts.add_view(post.id)


def count_cached_view(post_id: int) -> None:
    """An anonymous reader got the post's page from the page cache: count the view.

    Anyone may: the reader is anonymous, so never the post's author.
    """
    view_counts.add_view(post_id)


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


@dataclass(frozen=True)
class _Listing:
    """A filtered list before paging: the statement and the columns it is sorted by."""

    stmt: Select[Any]
    key: ColumnElement[Any]  # newest first by this (a datetime), then by ``ident``
    ident: ColumnElement[Any]
    by_shown_at: bool  # drafts are listed: sorted by shown_at, not published_at
    now: datetime  # readers see the posts published up to this time
    total: Callable[[], int]  # how many posts the list has in all (cheap where it can be)
    # A feed of few authors: read each one's newest posts from their own index and merge.
    fan_out: Sequence[int] | None = None

    def page_statement(
        self, where: Sequence[ColumnElement[bool]], newest_first: bool, limit: int, offset: int
    ) -> Select[Any]:
        """The posts (with authors, tags and counts) at ``offset`` of the list, past ``where``."""
        direction = (
            (self.key.desc(), self.ident.desc())
            if newest_first
            else (self.key.asc(), self.ident.asc())
        )
        if not self.fan_out:
            return (
                self.stmt.options(*_list_loader())
                .where(*where)
                .order_by(*direction)
                .offset(offset)
                .limit(limit)
            )
        legs = []
        for author_id in self.fan_out:
            leg = (
                select(Post.id.label("id"), Post.published_at.label("at"))
                .where(Post.author_id == author_id, Post.visible_at(self.now), *where)
                .order_by(*direction)
                .limit(offset + limit)
                .subquery()
            )
            legs.append(select(leg.c.id, leg.c.at))
        merged = union_all(*legs).subquery()
        order = (
            (merged.c.at.desc(), merged.c.id.desc())
            if newest_first
            else (merged.c.at.asc(), merged.c.id.asc())
        )
        # The page's ids first (a sort of the few rows merged), then their posts by key.
        page = select(merged.c.id, merged.c.at).order_by(*order).offset(offset).limit(limit)
        chosen = page.subquery()
        return (
            select(Post)
            .join(chosen, chosen.c.id == Post.id)
            .options(*_list_loader())
            .order_by(
                *(
                    (chosen.c.at.desc(), chosen.c.id.desc())
                    if newest_first
                    else (chosen.c.at.asc(), chosen.c.id.asc())
                )
            )
        )


def _listing(viewer: User | None, filters: PostFilter) -> _Listing:
    """The statement for ``filters``, shaped so an index serves its order.

    Published posts sort by (``published_at``, id), which ``ix_posts_published_published_at_id``
    serves; one author's by ``ix_posts_author_id_published_published_at_id``; one tag's come
    from ``post_tags`` itself (it holds copies of ``published``/``published_at``), read along
    ``ix_post_tags_tag_id_published_published_at_post_id``. Readers' lists stop at ``now``
    (scheduled posts wait for their time), a range on the same indexes.
    """
    now = utcnow()
    stmt = select(Post)
    conditions: list[ColumnElement[bool]] = []
    author: User | None = None
    if isinstance(filters.author, User):
        author = filters.author
    elif filters.author is not None:
        author = db.session.scalar(select(User).where(User.username == filters.author))
    if filters.author is not None:
        conditions.append(Post.author_id == (author.id if author else -1))
    drafts_allowed = bool(
        filters.include_drafts
        and author is not None
        and viewer is not None
        and viewer.active
        and (viewer.id == author.id or viewer.can(Permission.EDIT_ANY_POST))
    )
    key: ColumnElement[Any] = Post.shown_at if drafts_allowed else Post.published_at  # type: ignore[assignment]
    ident: ColumnElement[Any] = Post.id  # type: ignore[assignment]
    if not drafts_allowed:
        conditions.append(Post.visible_at(now))
    tag_id: Any = None
    if filters.tag:
        # Tags are one per slug ("Dragons" and "dragons" are the same tag), so match by it.
        by_slug = select(Tag.id).where(Tag.slug.in_({filters.tag, tag_slug(filters.tag)}))
        by_name = select(Tag.id).where(Tag.name == filters.tag)
        tag_id = func.coalesce(
            by_slug.limit(1).scalar_subquery(), by_name.limit(1).scalar_subquery()
        )
        stmt = stmt.join(post_tags, post_tags.c.post_id == Post.id)
        conditions.append(post_tags.c.tag_id == tag_id)
        if not drafts_allowed:
            conditions.append(post_tags.c.published.is_(True))
            conditions.append(post_tags.c.published_at <= now)
            key, ident = post_tags.c.published_at, post_tags.c.post_id
    searching = bool(filters.q and filters.q.strip())
    if searching:
        # The full-text index (``blog.search``), as /search uses: every word, stemmed, in the
        # title, summary, body or tags. A query with no words at all (only punctuation) finds
        # nothing rather than everything.
        words = search.terms(filters.q or "")
        conditions.append(search.matches(words) if words else false())
    if filters.favorited_by is not None:
        fan = select(User.id).where(User.username == filters.favorited_by).scalar_subquery()
        conditions.append(Post.id.in_(select(Favorite.post_id).where(Favorite.user_id == fan)))
    followed = None
    fan_out: list[int] | None = None
    if filters.followed_by is not None:
        followed = select(Follow.followed_id).where(Follow.follower_id == filters.followed_by.id)
        if filters.tag or filters.author or searching or filters.favorited_by:
            conditions.append(Post.author_id.in_(followed))
        else:
            # A feed: with few authors, merge each one's newest posts (read from their own
            # index); with many, their posts are dense among all posts, so read the newest
            # of all in order and keep theirs ("+ 0" keeps the planner off the author index,
            # which would fetch and sort every post of every followed author).
            authors = list(db.session.scalars(followed))
            if len(authors) <= FEED_FAN_OUT:
                fan_out = authors
                conditions.append(Post.author_id.in_(authors))
            else:
                conditions.append((Post.author_id + 0).in_(followed))
    stmt = stmt.where(*conditions)

    def counted() -> int:
        rows = select(func.count()).select_from(stmt.with_only_columns(ident).subquery())
        return int(db.session.scalar(rows) or 0)

    # Totals from the counters the services keep, where one holds the answer; else a count.
    # They count the posts gone live: a post whose time came within the went-live step's
    # period shows in the list a few seconds before it counts.
    total: Callable[[], int] = counted
    plain = not (drafts_allowed or searching or filters.favorited_by is not None)
    if plain and followed is not None and not (filters.tag or filters.author):

        def total() -> int:  # every published post of the followed authors
            summed = select(func.coalesce(func.sum(User.post_count), 0))
            return int(db.session.scalar(summed.where(User.id.in_(followed))) or 0)

    elif plain and followed is None and filters.tag and filters.author is None:

        def total() -> int:
            return int(db.session.scalar(select(Tag.post_count).where(Tag.id == tag_id)) or 0)

    elif plain and followed is None and not filters.tag and filters.author is not None:

        def total() -> int:
            return author.post_count if author is not None else 0

    elif plain and followed is None and not filters.tag and filters.author is None:
        total = counts.published_total
    return _Listing(stmt, key, ident, bool(drafts_allowed), now, total, fan_out)


def list_posts(
    viewer: User | None,
    filters: PostFilter,
    page: int = 1,
    per_page: int = 10,
    *,
    cursor: str | Cursor | None = None,
    with_total: bool = False,
) -> PostPage:
    """One page of posts, newest first, with authors, tags and counts loaded in bulk.

    By ``cursor`` (from a previous page's ``older``/``newer``: as cheap at any depth) or by
    page number (an offset, down to :data:`paging.MAX_OFFSET_ROWS`; deeper pages come back
    empty with ``too_deep`` set, having read nothing). A bad cursor is ``Invalid``.
    """
    per_page = min(max(per_page, 1), MAX_PER_PAGE)
    listing = _listing(viewer, filters)
    position = Cursor.decode(cursor) if isinstance(cursor, str) else cursor
    result = _page_of(listing, per_page, page, position)
    if with_total:
        result.total = listing.total()
    return result


def _page_of(listing: _Listing, per_page: int, page: int, cursor: Cursor | None) -> PostPage:
    def cursor_of(post: Post, newer: bool = False) -> Cursor:
        return Cursor.of(post, by_shown_at=listing.by_shown_at, newer=newer)

    if cursor is None:
        page = max(page, 1)
        offset = offset_of(page, per_page)
        if offset is None:
            return PostPage(items=[], per_page=per_page, page=page, too_deep=True)
        rows = db.session.scalars(listing.page_statement((), True, per_page + 1, offset)).all()
        items = _attach_tags(rows[:per_page])
        return PostPage(
            items=items,
            per_page=per_page,
            page=page,
            older=cursor_of(items[-1]) if len(rows) > per_page else None,
            newer=cursor_of(items[0], newer=True) if page > 1 and items else None,
        )
    position = tuple_(listing.key, listing.ident)
    here = tuple_(literal(cursor.at, UTCDateTime()), literal(cursor.id))
    if not cursor.newer:
        rows = db.session.scalars(
            listing.page_statement((position < here,), True, per_page + 1, 0)
        ).all()
        items = _attach_tags(rows[:per_page])
        return PostPage(
            items=items,
            per_page=per_page,
            older=cursor_of(items[-1]) if len(rows) > per_page else None,
            newer=cursor_of(items[0], newer=True) if items else None,
        )
    rows = db.session.scalars(
        listing.page_statement((position > here,), False, per_page + 1, 0)
    ).all()
    if len(rows) <= per_page:
        # Back at the newest posts: that is the first page, full, whatever was published since.
        return _page_of(listing, per_page, 1, None)
    items = _attach_tags(list(reversed(rows[:per_page])))
    return PostPage(
        items=items,
        per_page=per_page,
        older=cursor_of(items[-1]),
        newer=cursor_of(items[0], newer=True),
    )


def list_posts_window(
    viewer: User | None, filters: PostFilter, limit: int, offset: int
) -> tuple[Sequence[Post], int]:
    """Posts by ``limit``/``offset`` (as Conduit pages them) and the total count.

    ``limit`` is capped at ``MAX_PER_PAGE``. The total comes from counters where it can, so
    it costs no count; an offset past the end is an empty list without a query, and one
    deeper than :data:`paging.MAX_OFFSET_ROWS` inside the list is ``Invalid``.
    """
    listing = _listing(viewer, filters)
    total = listing.total()
    limit = min(max(limit, 0), MAX_PER_PAGE)
    offset = max(offset, 0)
    if offset >= total or limit == 0:
        return [], total
    if offset > paging.MAX_OFFSET_ROWS:
        raise Invalid.field(
            "offset",
            f"must be at most {paging.MAX_OFFSET_ROWS} (deeper lists are not served by offset)",
        )
    items = _attach_tags(db.session.scalars(listing.page_statement((), True, limit, offset)).all())
    return items, total


def feed(
    viewer: User | None,
    page: int = 1,
    per_page: int = 10,
    *,
    cursor: str | Cursor | None = None,
) -> PostPage:
    """Published posts by the authors ``viewer`` follows (signed-in readers only)."""
    reader = require(viewer, Permission.COMMENT)
    return list_posts(reader, PostFilter(followed_by=reader), page, per_page, cursor=cursor)


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
        .order_by(Post.published_at.desc(), Post.id.desc())
        .limit(max(limit, 0))
    )
    return [(slug, updated) for slug, updated in db.session.execute(stmt)]


def published_authors(limit: int) -> list[tuple[str, datetime]]:
    """``(username, their latest publication)`` of every author with a published post, by
    username: one query, for sitemaps (an index seek per author, not a read of every post)."""
    latest = (
        select(func.max(Post.published_at))
        .where(Post.author_id == User.id, Post.visible_at(utcnow()))
        .scalar_subquery()
    )
    stmt = (
        select(User.username, latest)
        .where(User.post_count > 0)
        .order_by(User.username)
        .limit(max(limit, 0))
    )
    return [(username, when) for username, when in db.session.execute(stmt) if when is not None]
