"""Background tasks of the blog package: telling authors about new comments and writers
about what an editor decided on their submission, saving views, and posts going live (the
periodic went-live step and the job each post gets when readers first see it)."""

from __future__ import annotations

import logging

from celery import shared_task

from penpress.blog import view_counts
from penpress.blog.services import comments, posts, review
from penpress.emails import EMAIL_TASK_RETRY, send_email
from penpress.http import external_url

log = logging.getLogger(__name__)


@shared_task(name=comments.COMMENT_NOTIFICATION_TASK, **EMAIL_TASK_RETRY)
def notify_post_author(comment_id: int, *_queued_by_older_versions: object) -> bool:
    """Email a post's author about a comment someone else wrote; False when nothing to send."""
    found = comments.comment_to_notify(comment_id)
    if found is None:
        return False
    comment, post_author = found
    send_email(
        post_author.email,
        f"New comment on “{comment.post.title}”",
        "new_comment",
        post_author=post_author,
        comment=comment,
        post=comment.post,
        post_url=external_url("blog.post", slug=comment.post.slug),
    )
    return True


@shared_task(name=posts.PUBLISH_DUE_TASK)
def publish_due_posts() -> int:
    """Periodic: mark scheduled posts whose time has come as live, count them (each one's
    "went live" job is queued in the same commit) and drop the caches that showed the site
    without them; how many."""
    return len(posts.mark_due_posts_live())


@shared_task(name=posts.WENT_LIVE_TASK)
def post_went_live(post_id: int) -> bool:
    """Runs once per post going live (at least once: like every job it may be retried, so
    work added here must be idempotent), when readers first see it: published now, or a
    scheduled post whose time came (again, for one moved back into the future). The place for
    what follows a publication (emails to followers, a newsletter); today it logs. False when
    the post is gone or hidden again."""
    post = posts.post_to_announce(post_id)
    if post is None:
        return False
    log.info("post %s went live: %s", post.id, external_url("blog.post", slug=post.slug))
    return True


DECISION_SUBJECTS = {
    "published": "Your post “{title}” is published",
    "returned": "Your post “{title}” was sent back with a note",
    "rejected": "Your post “{title}” was not accepted",
}


@shared_task(name=review.REVIEW_EMAIL_TASK, **EMAIL_TASK_RETRY)
def notify_writer_of_review(post_id: int, decision: str) -> bool:
    """Email a writer what an editor decided about their submission; False when the post
    has moved on since (or is gone)."""
    found = review.review_to_send(post_id, decision)
    if found is None or decision not in DECISION_SUBJECTS:
        return False
    post, writer = found
    send_email(
        writer.email,
        DECISION_SUBJECTS[decision].format(title=post.title),
        "review_decision",
        writer=writer,
        post=post,
        decision=decision,
        post_url=external_url("blog.post", slug=post.slug),
        edit_url=external_url("blog.edit", id=post.id),
    )
    return True


@shared_task(name=view_counts.FLUSH_TASK)
def flush_views() -> int:
    """Add the buffered page views to the posts (a periodic job); returns how many."""
    return view_counts.flush()
