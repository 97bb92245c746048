"""Background tasks of the blog package: telling authors about new comments."""

from __future__ import annotations

from urllib.parse import quote, urljoin

from celery import shared_task
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from penpress.accounts.models import User
from penpress.blog.models import Comment
from penpress.emails import EMAIL_TASK_RETRY, send_email, site_url
from penpress.extensions import db
from penpress.jobs import enqueue


@shared_task(
    name="penpress.blog.notify_post_author",
    **EMAIL_TASK_RETRY,
)
def notify_post_author(comment_id: int, base_url: str) -> bool:
    """Email a post's author about a comment someone else wrote; False when nothing to send."""
    comment = db.session.scalar(
        select(Comment)
        .where(Comment.id == comment_id)
        .options(selectinload(Comment.author), selectinload(Comment.post))
    )
    if comment is None or comment.author_id == comment.post.author_id:
        return False
    post_author = db.session.get(User, comment.post.author_id)
    if post_author is None or not post_author.active:
        return False
    send_email(
        post_author.email,
        f"New comment on “{comment.post.title}”",
        "new_comment",
        post_author=post_author,
        comment=comment,
        post=comment.post,
        # The post's page is a public path of the site (CONTRACT.md): /blog/post/<slug>.
        post_url=urljoin(base_url, f"blog/post/{quote(comment.post.slug)}"),
    )
    return True


def queue_comment_notification(comment: Comment) -> None:
    """Notify the post's author of ``comment`` once it is committed (not for their own)."""
    if comment.author_id != comment.post.author_id:
        enqueue(notify_post_author, comment.id, site_url())
