"""Comments: read and write them on a post; delete and approve them by id."""

from __future__ import annotations

from typing import Any

from flask import url_for

from penpress.api.v1.core import (
    BODY_ERRORS,
    ApiBlueprint,
    current_user,
    documented,
    require_user,
)
from penpress.api.v1.schemas import CommentCreateSchema, CommentListSchema, CommentSchema
from penpress.blog import services
from penpress.blog.models import Comment

bp = ApiBlueprint(
    "api_v1_comments",
    __name__,
    description="Comments. New ones may wait for a moderator's approval (`approved: false`).",
)


@bp.route("/posts/<slug>/comments", methods=["GET"])
@documented(auth="optional", errors=(404,), etag=True)
@bp.response(200, CommentListSchema)
def list_comments(slug: str) -> dict[str, Any]:
    """A post's approved comments, oldest first, plus pending ones to those who may see them."""
    viewer = current_user()
    post = services.get_post(slug, viewer=viewer)
    return {"comments": services.list_comments(post, viewer)}


@bp.route("/posts/<slug>/comments", methods=["POST"])
@documented(auth="required", errors=(*BODY_ERRORS, 403, 404))
@bp.arguments(CommentCreateSchema)
@bp.response(201, CommentSchema)
def create_comment(data: dict[str, Any], slug: str) -> tuple[Comment, int, dict[str, str]]:
    """Comment on a published post."""
    user = require_user()
    comment = services.add_comment(services.get_post(slug, viewer=user), user, data["body"])
    location = url_for("api_v1_comments.get_comment", comment_id=comment.id, _external=True)
    return comment, 201, {"Location": location}


@bp.route("/comments/<int:comment_id>", methods=["GET"])
@documented(auth="optional", errors=(404,), etag=True)
@bp.response(200, CommentSchema)
def get_comment(comment_id: int) -> Comment:
    """One comment; a pending one only for its writer, the post's author and moderators."""
    return services.get_visible_comment(comment_id, current_user())


@bp.route("/comments/<int:comment_id>", methods=["DELETE"])
@documented(auth="required", errors=(403, 404))
@bp.response(204)
def delete_comment(comment_id: int) -> tuple[str, int]:
    """Delete a comment (its writer, a moderator or an admin)."""
    user = require_user()
    services.delete_comment(services.get_visible_comment(comment_id, user), user)
    return "", 204


@bp.route("/comments/<int:comment_id>/approve", methods=["POST"])
@documented(auth="required", errors=(403, 404))
@bp.response(200, CommentSchema)
def approve_comment(comment_id: int) -> Comment:
    """Approve a pending comment so everyone sees it (moderators and admins)."""
    user = require_user()
    return services.approve_comment(services.get_visible_comment(comment_id, user), user)
