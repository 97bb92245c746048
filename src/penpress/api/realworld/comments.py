"""Comments on an article: list, add, delete."""

from __future__ import annotations

from flask import Response

from penpress.accounts import services as accounts
from penpress.api.realworld.auth import acting_user, require_user
from penpress.api.realworld.blueprint import bp
from penpress.api.realworld.schemas import NewCommentIn, comment_out, comments_out, read
from penpress.blog import services as blog


@bp.get("/articles/<slug>/comments")
def list_comments(slug: str) -> tuple[dict[str, object], int]:
    """An article's comments, oldest first (pending ones only to those who may see them); at
    most ``COMMENTS_PER_PAGE`` (the spec has no paging)."""
    viewer = acting_user()
    post = blog.get_post(viewer, slug)
    # The spec has no paging: the first COMMENTS_PER_PAGE, oldest first.
    return {"comments": comments_out(blog.list_comments(viewer, post).items, viewer)}, 200


@bp.post("/articles/<slug>/comments")
def add_comment(slug: str) -> tuple[dict[str, object], int]:
    """Comment on an article; the site's moderation rules apply (it may await approval)."""
    author = require_user()
    data = read("comment", NewCommentIn())
    comment = blog.add_comment(author, blog.get_post(author, slug), data["body"])
    following = comment.author_id in accounts.followed_ids(author, [comment.author_id])
    # 200, not 201: the spec's CreateArticleComment answers 200.
    return {"comment": comment_out(comment, following)}, 200


@bp.delete("/articles/<slug>/comments/<int:comment_id>")
def delete_comment(slug: str, comment_id: int) -> Response:
    """Delete a comment (its author or a moderator)."""
    actor = require_user()
    comment = blog.get_visible_comment(actor, comment_id, post=blog.get_post(actor, slug))
    blog.delete_comment(actor, comment)
    return Response(status=204)
