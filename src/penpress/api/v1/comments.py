"""Comments: read and write them on a post; delete and approve them by id."""

from __future__ import annotations

from typing import Any

from penpress.api.v1.core import (
    BODY_ERRORS,
    ApiBlueprint,
    acting_user,
    documented,
)
from penpress.api.v1.schemas import (
    CommentCreateSchema,
    CommentListArgsSchema,
    CommentListSchema,
    CommentSchema,
)
from penpress.blog import services
from penpress.blog.models import Comment
from penpress.http import external_url

bp = ApiBlueprint(
    "api_v1_comments",
    __name__,
    description="Comments. New ones may wait for a moderator's approval (`approved: false`).",
)


@bp.route("/posts/<slug>/comments", methods=["GET"])
@documented(auth="optional", errors=(404,), etag=True)
@bp.arguments(CommentListArgsSchema(), location="query")
@bp.response(200, CommentListSchema)
def list_comments(args: dict[str, Any], slug: str) -> dict[str, Any]:
    """A post's approved comments, oldest first, plus pending ones to those who may see them.

    At most ``limit`` (default and most: 100) at a time; ``next_cursor`` passed back as
    ``cursor`` gives the ones after them.
    """
    viewer = acting_user()
    page = services.list_comments(
        viewer, services.get_post(viewer, slug), after=args.get("cursor"), limit=args["limit"]
    )
    later = page.later.encode() if page.later is not None else None
    return {"comments": page.items, "next_cursor": later}


@bp.route("/posts/<slug>/comments", methods=["POST"])
@documented(auth="required", errors=(*BODY_ERRORS, 403, 404))
@bp.arguments(CommentCreateSchema)
@bp.response(201, CommentSchema)
def create_comment(data: dict[str, Any], slug: str) -> tuple[Comment, int, dict[str, str]]:
    """Comment on a published post."""
    user = acting_user()
    comment = services.add_comment(user, services.get_post(user, slug), data["body"])
    location = external_url("api_v1_comments.get_comment", comment_id=comment.id)
    return comment, 201, {"Location": location}


@bp.route("/comments/<int:comment_id>", methods=["GET"])
@documented(auth="optional", errors=(404,), etag=True)
@bp.response(200, CommentSchema)
def get_comment(comment_id: int) -> Comment:
    """One comment; a pending one only for its writer, the post's author and moderators."""
    return services.get_visible_comment(acting_user(), comment_id)


@bp.route("/comments/<int:comment_id>", methods=["DELETE"])
@documented(auth="required", errors=(403, 404))
@bp.response(204)
def delete_comment(comment_id: int) -> tuple[str, int]:
    """Delete a comment (its writer, a moderator or an admin)."""
    user = acting_user()
    services.delete_comment(user, services.get_visible_comment(user, comment_id))
    return "", 204


@bp.route("/comments/<int:comment_id>/approve", methods=["POST"])
@documented(auth="required", errors=(403, 404))
@bp.response(200, CommentSchema)
def approve_comment(comment_id: int) -> Comment:
    """Approve a pending comment so everyone sees it (moderators and admins)."""
    user = acting_user()
    return services.approve_comment(user, services.get_visible_comment(user, comment_id))
