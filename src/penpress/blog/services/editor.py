"""The editor's helpers: previews rendered as readers will see them, and drafts saved while
the writer types, without ever publishing and without overwriting a newer save.

A post's version is its ``updated_at`` (as ISO-8601 text): every save changes it, views and
comments do not. A save names the version it started from; if the post has changed since
(another tab, another device), the save is refused with a 409 instead of silently replacing
the newer text. The check and the claim of the new version are one conditional UPDATE, so two
saves racing from the same version cannot both win.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import update

from penpress.accounts.models import User
from penpress.blog.markdown import render_markdown
from penpress.blog.models import Post
from penpress.blog.services.posts import (
    BODY_MAX_LENGTH,
    get_post_to_edit,
    require_writer,
    update_post,
)
from penpress.blog.services.tags import parse_tag_names
from penpress.database import utcnow
from penpress.errors import Conflict, Invalid, Unauthorized, refuse_nul
from penpress.extensions import db

PUBLISHED_NOT_AUTOSAVED = (
    "Published posts change only when you press Save changes; until then your text is kept "
    "in this browser."
)


def version_of(post: Post) -> str:
    """The token a later save names to say which version of ``post`` it started from."""
    return post.updated_at.isoformat()


def render_preview(actor: User | None, body: str) -> str:
    """``body`` as the post page would show it (the same Markdown rendering and cleaning as a
    save); for those who may write posts (401/403 otherwise)."""
    require_writer(actor)
    refuse_nul(body=body)
    if len(body) > BODY_MAX_LENGTH:
        raise Invalid.field("body", f"Body must be at most {BODY_MAX_LENGTH} characters.")
    return render_markdown(body)


def claim_version(actor: User | None, post_id: int, version: str) -> Post:
    """The post ``post_id`` to change, if ``actor`` may change it and it is still at
    ``version``; its ``updated_at`` is moved on at once, so a concurrent save from the same
    version gets the 409. 404/403 as :func:`get_post_to_edit`."""
    return _claim(_post_to_edit(actor, post_id), version)


def _post_to_edit(actor: User | None, post_id: int) -> Post:
    # A visitor gets 401 even for a draft (elsewhere a 404): the editor's script then says
    # to log in again rather than that the post is gone.
    if actor is None:
        raise Unauthorized()
    return get_post_to_edit(actor, post_id)


def _claim(post: Post, version: str) -> Post:
    try:
        expected = datetime.fromisoformat(version)
    except (TypeError, ValueError):
        raise Invalid.field("version", "Not a version of this post.") from None
    if expected.tzinfo is None:
        raise Invalid.field("version", "Not a version of this post.")
    now = utcnow()
    claimed = db.session.execute(
        update(Post)
        .where(Post.id == post.id, Post.updated_at == expected)
        .values(updated_at=now)
        .execution_options(synchronize_session=False)
    )
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        db.session.refresh(post, ["updated_at"])
        raise Conflict(
            "This post was changed in another tab or window since you opened it "
            f"(saved {post.updated_at:%H:%M:%S} UTC). Reload the page to see that version.",
            {"version": [version_of(post)]},
        )
    post.updated_at = now
    return post


def autosave_draft(
    actor: User | None,
    post_id: int,
    version: str,
    *,
    title: str | None = None,
    summary: str | None = None,
    body: str | None = None,
    tags: str | None = None,
    featured_image: int | str | None = None,
    featured_image_alt: str | None = None,
    meta_title: str | None = None,
    meta_description: str | None = None,
) -> Post:
    """Save a draft while it is being written: never publishes, never changes the slug, and
    only over the ``version`` the writer's page started from (409 otherwise). A field left
    ``None`` stays as it is.

    Published posts are not saved this way (409): readers would see every half-typed
    sentence. Their editor keeps the unsaved text in the browser until Save changes.
    """
    post = _post_to_edit(actor, post_id)
    if post.published:
        raise Conflict(PUBLISHED_NOT_AUTOSAVED)
    _claim(post, version)
    return update_post(
        actor,
        post,
        title=title,
        summary=summary,
        body=body,
        tags=parse_tag_names(tags) if tags is not None else None,
        featured_image=featured_image,
        featured_image_alt=featured_image_alt,
        meta_title=meta_title,
        meta_description=meta_description,
        published=None,
        regenerate_slug=False,
    )
