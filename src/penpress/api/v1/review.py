"""The review queue: editors publish, return or reject posts contributors submitted."""

from __future__ import annotations

from typing import Any

from penpress.accounts.models import User
from penpress.api.v1.core import BODY_ERRORS, ApiBlueprint, acting_user, documented, page_payload
from penpress.api.v1.schemas import (
    PageArgsSchema,
    PostSchema,
    ReviewNoteSchema,
    ReviewPageSchema,
)
from penpress.blog import services
from penpress.blog.models import Post

bp = ApiBlueprint(
    "api_v1_review",
    __name__,
    description="The review queue (editors and admins: EDIT_ANY_POST and PUBLISH). Each "
    "decision emails the post's writer.",
)


@bp.route("", methods=["GET"])
@documented(auth="required", errors=(403,), etag=True)
@bp.arguments(PageArgsSchema(), location="query")
@bp.response(200, ReviewPageSchema)
def review_queue(args: dict[str, Any]) -> tuple[Any, ...]:
    """Posts waiting for review (status `submitted`), oldest submission first."""
    page = services.review_queue(acting_user(), args["page"], args["per_page"])
    return page_payload("posts", page.items, page)


def _submission(slug: str) -> tuple[User | None, int]:
    user = acting_user()
    return user, services.get_post(user, slug).id


@bp.route("/<slug>/publish", methods=["POST"])
@documented(auth="required", errors=(403, 404, 409))
@bp.response(200, PostSchema)
def publish_submission(slug: str) -> Post:
    """Publish a submitted post. 409 if it is not waiting for review."""
    return services.publish_submission(*_submission(slug))


@bp.route("/<slug>/return", methods=["POST"])
@documented(auth="required", errors=(*BODY_ERRORS, 403, 404, 409))
@bp.arguments(ReviewNoteSchema)
@bp.response(200, PostSchema)
def return_submission(data: dict[str, Any], slug: str) -> Post:
    """Send a submitted post back to its writer with a `note` (required) saying what to
    change; its status becomes `returned` until the writer submits it again."""
    return services.return_submission(*_submission(slug), data.get("note") or "")


@bp.route("/<slug>/reject", methods=["POST"])
@documented(auth="required", errors=(*BODY_ERRORS, 403, 404, 409))
@bp.arguments(ReviewNoteSchema)
@bp.response(200, PostSchema)
def reject_submission(data: dict[str, Any], slug: str) -> Post:
    """Turn a submitted post down for good, with an optional `note`; its status becomes
    `rejected` and it cannot be submitted again."""
    return services.reject_submission(*_submission(slug), data.get("note"))
