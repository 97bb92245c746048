"""The review queue: contributors submit posts, editors publish, send back or reject them.

A post's way: ``draft`` → ``submitted`` (the writer, :func:`submit_post`) → ``published``
(:func:`publish_submission`), ``returned`` with a note (:func:`return_submission`; the writer
edits and submits again) or ``rejected`` with an optional note (:func:`reject_submission`;
final). The writer is emailed each decision once it is committed. Publishing goes through
:func:`penpress.blog.services.posts.update_post`, like every change of ``published``.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from flask_sqlalchemy.pagination import Pagination
from sqlalchemy import select

from penpress import jobs
from penpress.accounts.models import User
from penpress.accounts.services import require_confirmed
from penpress.audit import services as audit
from penpress.blog.models import Post, PostStatus
from penpress.blog.services.posts import (
    REVIEW_EMAIL_TASK,
    UNSET,
    can_view,
    create_post,
    post_loader,
    post_subject,
    require_publisher,
    update_post,
)
from penpress.database import paginate, utcnow
from penpress.errors import Conflict, Forbidden, Invalid, NotFound, refuse_nul
from penpress.extensions import db
from penpress.permissions import Permission, holds, require

NOTE_MAX_LENGTH = 2000
REVIEWER = Permission.EDIT_ANY_POST | Permission.PUBLISH
NOT_SUBMITTED = "This post is not waiting for review."
WAS_REJECTED = "This post was rejected by an editor; it cannot be submitted again."

__all__ = [
    "NOTE_MAX_LENGTH",
    "REVIEW_EMAIL_TASK",
    "publish_new_post",
    "publish_submission",
    "reject_submission",
    "return_submission",
    "review_queue",
    "review_to_send",
    "submit_post",
]


def submit_post(actor: User | None, post: Post) -> Post:
    """Put one's own unpublished post in the review queue (again after it was sent back).

    The writer only, with a confirmed address when the site asks for one; 404 for a post they
    cannot see, 409 for one already published or rejected. Submitting twice changes nothing.
    """
    writer = require(actor, Permission.WRITE)
    if writer.id != post.author_id:
        if not can_view(writer, post):
            raise NotFound("No such post.")
        raise Forbidden("Only its writer can submit a post for review.")
    require_confirmed(writer, Permission.WRITE)
    state = post.state
    if state is PostStatus.PUBLISHED:
        raise Conflict("This post is already published.")
    if state is PostStatus.REJECTED:
        raise Conflict(WAS_REJECTED)
    if state is not PostStatus.SUBMITTED:
        post.status = PostStatus.SUBMITTED.value
        post.submitted_at = utcnow()
        db.session.flush()
    return post


def publish_new_post(
    actor: User | None,
    *,
    title: str,
    body: str,
    summary: str = "",
    tags: Iterable[str] = (),
) -> Post:
    """Write a post meant for readers at once, for front doors without drafts (Conduit):
    published when the writer may publish, else submitted for review."""
    writer = require(actor, Permission.WRITE)
    may_publish = holds(writer, Permission.PUBLISH)
    post = create_post(
        writer, title=title, body=body, summary=summary, tags=tags, published=may_publish
    )
    if not may_publish:
        submit_post(writer, post)
    return post


def review_queue(actor: User | None, page: int = 1, per_page: int = 20) -> Pagination:
    """Submitted posts, oldest submission first, with their writers and tags (editors)."""
    require(actor, REVIEWER)
    stmt = (
        select(Post)
        # The status alone (the services keep ``published`` in step with it): its index then
        # serves the order and the count without reading every unpublished post.
        .where(Post.status == PostStatus.SUBMITTED.value)
        .options(*post_loader())
        .order_by(Post.submitted_at, Post.id)
    )
    return paginate(stmt, page, per_page)


def _submitted(actor: User | None, post_id: int) -> tuple[User, Post]:
    editor = require(actor, REVIEWER)
    post = db.session.scalar(select(Post).where(Post.id == post_id).options(*post_loader()))
    if post is None:
        raise NotFound("No such post.")
    if post.state is not PostStatus.SUBMITTED:
        raise Conflict(NOT_SUBMITTED)
    return editor, post


def _clean_note(note: str | None, *, required: bool) -> str | None:
    refuse_nul(note=note)
    cleaned = (note or "").strip()
    if not cleaned:
        if required:
            raise Invalid.field("note", "Tell the writer what to change.")
        return None
    if len(cleaned) > NOTE_MAX_LENGTH:
        raise Invalid.field("note", f"The note must be at most {NOTE_MAX_LENGTH} characters.")
    return cleaned


def publish_submission(
    actor: User | None, post_id: int, publish_at: datetime | None = None
) -> Post:
    """Publish a submitted post (editors, with a confirmed address when the site asks for
    one); its writer is emailed. ``publish_at`` in the future schedules it (readers see it
    from then), in the past backdates it; without it the post is dated now. 409 if it is not
    waiting for review."""
    editor, post = _submitted(actor, post_id)
    require_publisher(editor)
    return update_post(
        editor, post, published=True, publish_at=UNSET if publish_at is None else publish_at
    )


def return_submission(actor: User | None, post_id: int, note: str) -> Post:
    """Send a submitted post back to its writer with a note saying what to change (editors);
    the writer is emailed, edits it and submits it again."""
    editor, post = _submitted(actor, post_id)
    post.review_note = _clean_note(note, required=True)
    post.status = PostStatus.RETURNED.value
    db.session.flush()
    _record(editor, "review.return", post)
    jobs.enqueue(REVIEW_EMAIL_TASK, post.id, PostStatus.RETURNED.value)
    return post


def reject_submission(actor: User | None, post_id: int, note: str | None = None) -> Post:
    """Refuse a submitted post for good, with an optional note (editors); the writer is
    emailed. It stays their unpublished post and cannot be submitted again."""
    editor, post = _submitted(actor, post_id)
    post.review_note = _clean_note(note, required=False)
    post.status = PostStatus.REJECTED.value
    db.session.flush()
    _record(editor, "review.reject", post)
    jobs.enqueue(REVIEW_EMAIL_TASK, post.id, PostStatus.REJECTED.value)
    return post


def _record(editor: User, action: str, post: Post) -> None:
    changes = {"status": (PostStatus.SUBMITTED.value, post.status)}
    details = {"note": post.review_note, "author_id": post.author_id}
    audit.record(editor, action, post_subject(post), changes=changes, details=details)


def review_to_send(post_id: int, decision: str) -> tuple[Post, User] | None:
    """Trusted (a background job): the post and its writer to tell about ``decision``, or
    ``None`` when there is nothing to send (the post is gone, its state has moved on since,
    or the writer was deactivated)."""
    post = db.session.get(Post, post_id)
    if post is None or post.state.value != decision:
        return None
    writer = db.session.get(User, post.author_id)
    if writer is None or not writer.active:
        return None
    return post, writer
