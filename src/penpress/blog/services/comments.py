"""Comments: writing, moderation, notifications and who sees what."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from flask_sqlalchemy.pagination import Pagination
from sqlalchemy import and_, literal, or_, select, tuple_
from sqlalchemy.orm import joinedload, selectinload
from sqlalchemy.orm.attributes import set_committed_value

from penpress import jobs, page_cache
from penpress.accounts.models import User
from penpress.accounts.services import CONFIRM_EMAIL_FIRST, require_confirmed
from penpress.audit import services as audit
from penpress.blog import counts
from penpress.blog.models import Comment, Post
from penpress.blog.paging import Cursor
from penpress.blog.services.posts import can_view
from penpress.database import UTCDateTime, paginate
from penpress.errors import Forbidden, Invalid, NotFound, refuse_nul
from penpress.extensions import db
from penpress.permissions import Permission, holds, require
from penpress.ratelimits import Budget
from penpress.settings import services as settings

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


COMMENTS_OFF_MESSAGE = "Comments are switched off on this site."


def comments_open() -> bool:
    """Whether anyone may comment at all (the comments mode is not ``off``)."""
    return settings.comments_mode() != settings.COMMENTS_OFF


def must_confirm_to_comment(viewer: User | None) -> bool:
    """Whether ``viewer`` must confirm their address before commenting: when the site asks
    every account to, or when comments are for registered (confirmed) members only."""
    if viewer is None or viewer.email_confirmed_at is not None:
        return False
    return (
        settings.email_confirmation_required()
        or settings.comments_mode() == settings.COMMENTS_REGISTERED
    )


def add_comment(actor: User | None, post: Post, body: str) -> Comment:
    """Comment on a post whose time has come (not a draft, not a scheduled post), as the
    site's comments mode says: ``off`` refuses everyone (403), ``registered`` takes only
    accounts with a confirmed address, ``approval`` holds comments for a moderator, ``on``
    shows them at once.

    Comments by moderators and by the post's own author never wait. When the site asks for
    it, the writer must have confirmed their address first. The post's author is emailed
    about comments by others once the comment is committed. Counts in the writer's
    :data:`NEW_COMMENTS` budget (429 when spent).
    """
    author = require_confirmed(actor, Permission.COMMENT)
    mode = settings.comments_mode()
    if mode == settings.COMMENTS_OFF:
        raise Forbidden(COMMENTS_OFF_MESSAGE)
    if mode == settings.COMMENTS_REGISTERED and author.email_confirmed_at is None:
        raise Forbidden(CONFIRM_EMAIL_FIRST, {"email": [CONFIRM_EMAIL_FIRST]})
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
        approved=trusted or mode != settings.COMMENTS_APPROVAL,
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
    if comment is None or comment.spam or not _author_is_told(comment, comment.post):
        return None
    post_author = db.session.get(User, comment.post.author_id)
    if post_author is None or not post_author.active:
        return None
    return comment, post_author


def can_view_comment(viewer: User | None, comment: Comment) -> bool:
    """A comment is seen with its post: approved ones by all, pending ones as in the list,
    spam only by moderators (in the console)."""
    if not can_view(viewer, comment.post):
        return False
    if comment.spam:
        return holds(viewer, Permission.MODERATE)
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
    """Approved comments, plus pending ones to those allowed to see them, oldest first (spam
    to no one: moderators find it in the console): at most ``limit`` (up to
    :data:`COMMENTS_PER_PAGE`), after the cursor ``after`` (a ``later`` of a page before; a
    bad one is ``Invalid``). Each page is one index range read, however many comments the
    post has."""
    limit = min(max(limit, 1), COMMENTS_PER_PAGE)
    position = Cursor.decode(after) if isinstance(after, str) else after
    stmt = (
        select(Comment)
        .where(Comment.post_id == post.id)
        .options(joinedload(Comment.author, innerjoin=True))
        .order_by(Comment.created_at, Comment.id)
        .limit(limit + 1)
    )
    if can_see_pending(viewer, post):
        stmt = stmt.where(Comment.spam.is_(False))
    elif viewer is not None:
        # Writers see their own comments while they wait (not once marked as spam).
        stmt = stmt.where(
            or_(
                Comment.approved.is_(True),
                and_(Comment.author_id == viewer.id, Comment.spam.is_(False)),
            )
        )
    else:
        stmt = stmt.where(Comment.approved.is_(True))  # never spam: spam is never approved
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
    """Publish a pending comment, or one marked as spam by mistake (moderators and admins)."""
    moderator = require(actor, Permission.MODERATE)
    if comment.spam:
        return not_spam(moderator, comment, approve=True)
    if not comment.approved:
        comment.approved = True
        db.session.flush()
        _approved_count_changed(_post_of(comment), 1)
        audit.record(
            moderator,
            "comment.approve",
            comment_subject(comment),
            changes={"approved": (False, True)},
        )
    return comment


def mark_spam(actor: User | None, comment: Comment) -> Comment:
    """Mark a comment as spam (moderators): it is kept, to be restored or deleted for good
    from the console, and hidden from everyone else as a comment waiting for approval is
    from readers (an approved one leaves its post's page, counts and the APIs). Marking
    does not touch the writer's other comments (no filtering by author)."""
    moderator = require(actor, Permission.MODERATE)
    if comment.spam:
        return comment
    was_approved = comment.approved
    comment.spam, comment.approved = True, False
    db.session.flush()
    if was_approved:
        _approved_count_changed(_post_of(comment), -1)
    audit.record(
        moderator,
        "comment.spam",
        comment_subject(comment),
        changes={"spam": (False, True), "approved": (was_approved, False)},
        details=_facts(comment),
    )
    return comment


def not_spam(actor: User | None, comment: Comment, *, approve: bool) -> Comment:
    """A comment marked as spam by mistake goes back (moderators): shown at once with
    ``approve``, else to the moderation queue. A comment that is not spam is left alone."""
    moderator = require(actor, Permission.MODERATE)
    if not comment.spam:
        return comment
    comment.spam, comment.approved = False, approve
    db.session.flush()
    if approve:
        _approved_count_changed(_post_of(comment), 1)
    audit.record(
        moderator,
        "comment.not_spam",
        comment_subject(comment),
        changes={"spam": (True, False), "approved": (False, approve)},
    )
    return comment


def delete_comment(actor: User | None, comment: Comment) -> None:
    """Its writer, a moderator or an admin may delete a comment (spam included: that is
    deleting it for good); a moderator's deletion is in the audit log, with the text."""
    actor = require(actor, Permission.COMMENT)
    if not can_delete_comment(actor, comment):
        raise Forbidden("Only the comment's author or a moderator can delete it.")
    if actor.id != comment.author_id:  # a moderator's action, not a writer taking theirs back
        audit.record(actor, "comment.delete", comment_subject(comment), details=_facts(comment))
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


def comment_subject(comment: Comment) -> audit.Subject:
    """How the audit log names a comment: its id and the start of its text."""
    return audit.Subject("comment", comment.id, comment.body[:80])


def _facts(comment: Comment) -> dict[str, object]:
    return {
        "post_id": comment.post_id,
        "author_id": comment.author_id,
        "body": comment.body,
        "spam": comment.spam,
    }


def approve_comment_by_id(actor: User | None, comment_id: int) -> Comment:
    """The moderation queue's Approve button: moderators only (403 before anything is read)."""
    moderator = require(actor, Permission.MODERATE)
    return approve_comment(moderator, get_visible_comment(moderator, comment_id))


def reject_comment(actor: User | None, comment_id: int) -> None:
    """The moderation queue's Delete button: moderators only, even for their own comments."""
    moderator = require(actor, Permission.MODERATE)
    delete_comment(moderator, get_visible_comment(moderator, comment_id))


def pending_comments(actor: User | None, page: int = 1, per_page: int = 20) -> Pagination:
    """The moderation queue: comments awaiting approval (not spam), oldest first
    (moderators)."""
    require(actor, Permission.MODERATE)
    stmt = (
        select(Comment)
        .where(Comment.approved.is_(False), Comment.spam.is_(False))
        .options(selectinload(Comment.author), selectinload(Comment.post))
        .order_by(Comment.created_at, Comment.id)
    )
    return paginate(stmt, page, per_page)
