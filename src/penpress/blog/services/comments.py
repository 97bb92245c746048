"""Comments: writing, moderation, notifications and who sees what."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from flask_sqlalchemy.pagination import Pagination
from sqlalchemy import literal, or_, select, tuple_
from sqlalchemy.orm import joinedload, selectinload
from sqlalchemy.orm.attributes import set_committed_value

from penpress import jobs, page_cache
from penpress.accounts.models import User
from penpress.accounts.services import require_confirmed
from penpress.blog import counts
from penpress.blog.models import Comment, Post
from penpress.blog.paging import Cursor
from penpress.blog.services.posts import can_view
from penpress.database import UTCDateTime, paginate
from penpress.errors import Forbidden, Invalid, NotFound, refuse_nul
from penpress.extensions import db
from penpress.permissions import Permission, holds, require
from penpress.ratelimits import Budget
from penpress.settings.services import comments_require_approval

COMMENT_MAX_LENGTH = 5000
# Comments per page of a post's comments (the site's post page and the APIs' lists).
COMMENTS_PER_PAGE = 100
# Queued by name, so this module does not import the task that calls it.
COMMENT_NOTIFICATION_TASK = "penpress.blog.notify_post_author"
# New comments per account, one allowance whichever front door they come through.
NEW_COMMENTS = Budget(
    "RATELIMIT_WRITE", "new-comments", "You are commenting too fast. Try again later."
)


def can_see_pending(viewer: User | None, post: Post) -> bool:
    """Moderators, admins and the post's author see comments awaiting approval."""
    if holds(viewer, Permission.MODERATE):
        return True
    return viewer is not None and viewer.id == post.author_id


def can_delete_comment(actor: User | None, comment: Comment) -> bool:
    """Its writer or a moderator may delete a comment."""
    if actor is None or not actor.active:
        return False
    return actor.id == comment.author_id or actor.is_moderator


def add_comment(actor: User | None, post: Post, body: str) -> Comment:
    """Comment on a published post whose time has come (not a draft, not a scheduled post);
    held for approval when the site asks for it.

    Comments by moderators and by the post's own author never wait. When the site asks for
    it, the writer must have confirmed their address first. The post's author is emailed
    about comments by others once the comment is committed. Counts in the writer's
    :data:`NEW_COMMENTS` budget (429 when spent).
    """
    author = require_confirmed(actor, Permission.COMMENT)
    if not post.is_live:
        raise NotFound("No such post.")
    body = (body or "").strip()
    refuse_nul(body=body)
    if not body:
        raise Invalid.field("body", "Comment cannot be empty.")
    if len(body) > COMMENT_MAX_LENGTH:
        raise Invalid.field("body", f"Comment must be at most {COMMENT_MAX_LENGTH} characters.")
    NEW_COMMENTS.spend(f"user:{author.id}")
    trusted = author.is_moderator or author.id == post.author_id
    comment = Comment(
        body=body,
        post=post,
        author=author,
        approved=trusted or not comments_require_approval(),
    )
    db.session.add(comment)
    db.session.flush()
    if comment.approved:
        _approved_count_changed(post, 1)
    if _author_is_told(comment, post):
        jobs.enqueue(COMMENT_NOTIFICATION_TASK, comment.id)
    return comment


def _author_is_told(comment: Comment, post: Post) -> bool:
    """A post's author hears of comments by others, never of their own."""
    return comment.author_id != post.author_id


def comment_to_notify(comment_id: int) -> tuple[Comment, User] | None:
    """Trusted (a background job): the comment and the post author to email about it, or
    ``None`` when there is nothing to send (the comment is gone, by the author, or the author
    has been deactivated)."""
    comment = db.session.scalar(
        select(Comment)
        .where(Comment.id == comment_id)
        .options(selectinload(Comment.author), selectinload(Comment.post))
    )
    if comment is None or not _author_is_told(comment, comment.post):
        return None
    post_author = db.session.get(User, comment.post.author_id)
    if post_author is None or not post_author.active:
        return None
    return comment, post_author


def can_view_comment(viewer: User | None, comment: Comment) -> bool:
    """A comment is seen with its post: approved ones by all, pending ones as in the list."""
    if not can_view(viewer, comment.post):
        return False
    if comment.approved or can_see_pending(viewer, comment.post):
        return True
    return viewer is not None and viewer.id == comment.author_id


def get_visible_comment(viewer: User | None, comment_id: int, post: Post | None = None) -> Comment:
    """The comment if ``viewer`` may see it (and, with ``post``, only if it is on that post);
    404 otherwise, so hidden ones do not leak."""
    stmt = (
        select(Comment)
        .where(Comment.id == comment_id)
        .options(selectinload(Comment.author), selectinload(Comment.post))
    )
    if post is not None:
        stmt = stmt.where(Comment.post_id == post.id)
    comment = db.session.scalar(stmt)
    if comment is None or not can_view_comment(viewer, comment):
        raise NotFound("No such comment.")
    return comment


@dataclass
class CommentPage:
    """Some of a post's comments, oldest first, and the cursor to the ones after them."""

    items: Sequence[Comment]
    later: Cursor | None = None  # the comments after these (None: these are the last)
    earlier: Cursor | None = None  # where the page before this one starts (None: the first)


def list_comments(
    viewer: User | None,
    post: Post,
    *,
    after: str | Cursor | None = None,
    limit: int = COMMENTS_PER_PAGE,
) -> CommentPage:
    """Approved comments, plus pending ones to those allowed to see them, oldest first: at
    most ``limit`` (up to :data:`COMMENTS_PER_PAGE`), after the cursor ``after`` (a
    ``later`` of a page before; a bad one is ``Invalid``). Each page is one index range read,
    however many comments the post has."""
    limit = min(max(limit, 1), COMMENTS_PER_PAGE)
    position = Cursor.decode(after) if isinstance(after, str) else after
    stmt = (
        select(Comment)
        .where(Comment.post_id == post.id)
        .options(joinedload(Comment.author, innerjoin=True))
        .order_by(Comment.created_at, Comment.id)
        .limit(limit + 1)
    )
    if not can_see_pending(viewer, post):
        if viewer is not None:
            # Writers see their own comments while they wait.
            stmt = stmt.where(or_(Comment.approved.is_(True), Comment.author_id == viewer.id))
        else:
            stmt = stmt.where(Comment.approved.is_(True))
    if position is not None:
        stmt = stmt.where(
            tuple_(Comment.created_at, Comment.id)
            > tuple_(literal(position.at, UTCDateTime()), literal(position.id))
        )
    rows = db.session.scalars(stmt).all()
    comments = rows[:limit]
    for comment in comments:
        # Every comment belongs to ``post``: link it without a query per comment.
        set_committed_value(comment, "post", post)
    later = Cursor(at=comments[-1].created_at, id=comments[-1].id) if len(rows) > limit else None
    return CommentPage(items=comments, later=later, earlier=position)


def approve_comment(actor: User | None, comment: Comment) -> Comment:
    """Publish a pending comment (moderators and admins)."""
    require(actor, Permission.MODERATE)
    if not comment.approved:
        comment.approved = True
        db.session.flush()
        _approved_count_changed(_post_of(comment), 1)
    return comment


def delete_comment(actor: User | None, comment: Comment) -> None:
    """Its writer, a moderator or an admin may delete a comment."""
    require(actor, Permission.COMMENT)
    if not can_delete_comment(actor, comment):
        raise Forbidden("Only the comment's author or a moderator can delete it.")
    post, approved = _post_of(comment), comment.approved
    db.session.delete(comment)
    db.session.flush()
    if approved:
        _approved_count_changed(post, -1)


def _post_of(comment: Comment) -> Post:
    post = db.session.get(Post, comment.post_id)  # usually loaded already: no query
    if post is None:
        raise NotFound("No such post.")
    return post


def _approved_count_changed(post: Post, delta: int) -> None:
    """The post's approved comments changed: its counter, and its page for anonymous readers
    (everyone sees an approved comment at once)."""
    counts.comments_changed(post.id, delta)
    db.session.expire(post, ["comment_count"])
    page_cache.post_changed(post.slug)


def approve_comment_by_id(actor: User | None, comment_id: int) -> Comment:
    """The moderation queue's Approve button: moderators only (403 before anything is read)."""
    moderator = require(actor, Permission.MODERATE)
    return approve_comment(moderator, get_visible_comment(moderator, comment_id))


def reject_comment(actor: User | None, comment_id: int) -> None:
    """The moderation queue's Delete button: moderators only, even for their own comments."""
    moderator = require(actor, Permission.MODERATE)
    delete_comment(moderator, get_visible_comment(moderator, comment_id))


def pending_comments(actor: User | None, page: int = 1, per_page: int = 20) -> Pagination:
    """The moderation queue: comments awaiting approval, oldest first (moderators)."""
    require(actor, Permission.MODERATE)
    stmt = (
        select(Comment)
        .where(Comment.approved.is_(False))
        .options(selectinload(Comment.author), selectinload(Comment.post))
        .order_by(Comment.created_at, Comment.id)
    )
    return paginate(stmt, page, per_page)
