"""Comments: writing, moderation and who sees what."""

from __future__ import annotations

from collections.abc import Sequence

from flask_sqlalchemy.pagination import Pagination
from sqlalchemy import or_, select
from sqlalchemy.orm import selectinload
from sqlalchemy.orm.attributes import set_committed_value

from penpress.accounts.models import Permission, User
from penpress.accounts.services import require
from penpress.admin.services import comments_require_approval
from penpress.blog.models import Comment, Post
from penpress.blog.services.posts import can_view
from penpress.blog.tasks import queue_comment_notification
from penpress.database import paginate
from penpress.errors import Forbidden, Invalid, NotFound, refuse_nul
from penpress.extensions import db

COMMENT_MAX_LENGTH = 5000


def can_see_pending(post: Post, viewer: User | None) -> bool:
    """Moderators, admins and the post's author see comments awaiting approval."""
    if viewer is None or not viewer.is_authenticated:
        return False
    return viewer.is_moderator or viewer.id == post.author_id


def can_delete_comment(comment: Comment, user: User | None) -> bool:
    if user is None or not user.is_authenticated or not user.active:
        return False
    return user.id == comment.author_id or user.is_moderator


def add_comment(post: Post, author: User | None, body: str) -> Comment:
    """Comment on a published post; held for approval when the site asks for it.

    Comments by moderators and by the post's own author never wait.
    """
    author = require(author, Permission.COMMENT)
    if not post.published:
        raise NotFound("No such post.")
    body = (body or "").strip()
    refuse_nul(body=body)
    if not body:
        raise Invalid.field("body", "Comment cannot be empty.")
    if len(body) > COMMENT_MAX_LENGTH:
        raise Invalid.field("body", f"Comment must be at most {COMMENT_MAX_LENGTH} characters.")
    trusted = author.is_moderator or author.id == post.author_id
    comment = Comment(
        body=body,
        post=post,
        author=author,
        approved=trusted or not comments_require_approval(),
    )
    db.session.add(comment)
    db.session.flush()
    db.session.expire(post, ["comment_count"])
    queue_comment_notification(comment)  # emailed to the post's author after the commit
    return comment


def get_comment(comment_id: int, post: Post | None = None) -> Comment:
    """The comment with this id; with ``post``, only if it is on that post (else 404)."""
    stmt = (
        select(Comment)
        .where(Comment.id == comment_id)
        .options(selectinload(Comment.author), selectinload(Comment.post))
    )
    if post is not None:
        stmt = stmt.where(Comment.post_id == post.id)
    comment = db.session.scalar(stmt)
    if comment is None:
        raise NotFound("No such comment.")
    return comment


def can_view_comment(comment: Comment, viewer: User | None) -> bool:
    """A comment is seen with its post: approved ones by all, pending ones as in the list."""
    if not can_view(comment.post, viewer):
        return False
    if comment.approved or can_see_pending(comment.post, viewer):
        return True
    return viewer is not None and viewer.is_authenticated and viewer.id == comment.author_id


def get_visible_comment(comment_id: int, viewer: User | None) -> Comment:
    """The comment if ``viewer`` may see it; 404 otherwise, so hidden ones do not leak."""
    comment = get_comment(comment_id)
    if not can_view_comment(comment, viewer):
        raise NotFound("No such comment.")
    return comment


def list_comments(post: Post, viewer: User | None = None) -> Sequence[Comment]:
    """Approved comments, plus pending ones to those allowed to see them, oldest first."""
    stmt = (
        select(Comment)
        .where(Comment.post_id == post.id)
        .options(selectinload(Comment.author))
        .order_by(Comment.created_at, Comment.id)
    )
    if not can_see_pending(post, viewer):
        if viewer is not None and viewer.is_authenticated:
            # Writers see their own comments while they wait.
            stmt = stmt.where(or_(Comment.approved.is_(True), Comment.author_id == viewer.id))
        else:
            stmt = stmt.where(Comment.approved.is_(True))
    comments = db.session.scalars(stmt).all()
    for comment in comments:
        # Every comment belongs to ``post``: link it without a query per comment.
        set_committed_value(comment, "post", post)
    return comments


def approve_comment(comment: Comment, actor: User | None) -> Comment:
    require(actor, Permission.MODERATE)
    comment.approved = True
    db.session.flush()
    return comment


def delete_comment(comment: Comment, actor: User | None) -> None:
    """Its author, a moderator or an admin may delete a comment."""
    if actor is None or not actor.is_authenticated:
        require(actor, Permission.COMMENT)  # raises Unauthorized
    if not can_delete_comment(comment, actor):
        raise Forbidden("Only the comment's author or a moderator can delete it.")
    db.session.delete(comment)
    db.session.flush()


def pending_comments(page: int = 1, per_page: int = 20) -> Pagination:
    """Comments awaiting approval, oldest first, for the moderation queue."""
    stmt = (
        select(Comment)
        .where(Comment.approved.is_(False))
        .options(selectinload(Comment.author), selectinload(Comment.post))
        .order_by(Comment.created_at, Comment.id)
    )
    return paginate(stmt, page, per_page)
