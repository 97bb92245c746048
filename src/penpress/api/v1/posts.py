"""Posts: list, read, write, publish, delete."""

from __future__ import annotations

from typing import Any

from penpress.api.v1.core import BODY_ERRORS, ApiBlueprint, acting_user, documented, page_payload
from penpress.api.v1.schemas import (
    PostCreateSchema,
    PostListArgsSchema,
    PostPageSchema,
    PostPatchSchema,
    PostSchema,
)
from penpress.blog import services
from penpress.blog.models import Post
from penpress.http import external_url

bp = ApiBlueprint("api_v1_posts", __name__, description="Blog posts, with their tags and author.")


@bp.route("", methods=["GET"])
@documented(auth="optional", etag=True)
@bp.arguments(PostListArgsSchema, location="query")
@bp.response(200, PostPageSchema)
def list_posts(args: dict[str, Any]) -> tuple[Any, ...]:
    """List published posts, newest first; filter by tag, author or words."""
    filters = services.PostFilter(
        tag=args.get("tag"),
        author=args.get("author"),
        q=args.get("q"),
        include_drafts=args["drafts"],
    )
    page = services.list_posts(acting_user(), filters, args["page"], args["per_page"])
    return page_payload("posts", page.items, page)


@bp.route("", methods=["POST"])
@documented(auth="required", errors=(*BODY_ERRORS, 403))
@bp.arguments(PostCreateSchema)
@bp.response(201, PostSchema)
def create_post(data: dict[str, Any]) -> tuple[Post, int, dict[str, str]]:
    """Write a post: a draft unless ``published`` is true or ``publish_at`` is given (a future
    ``publish_at`` schedules it, a past one backdates it). Needs the author role."""
    data.setdefault("published", "publish_at" in data and data["publish_at"] is not None)
    post = services.create_post(acting_user(), **data)
    return post, 201, {"Location": _location(post)}


@bp.route("/<slug>", methods=["GET"])
@documented(auth="optional", errors=(404,), etag=True)
@bp.response(200, PostSchema)
def get_post(slug: str) -> Post:
    """Read one post, with its Markdown and rendered HTML; drafts only for author and admins."""
    return services.get_post(acting_user(), slug)


@bp.route("/<slug>", methods=["PATCH"])
@documented(auth="required", errors=(*BODY_ERRORS, 403, 404))
@bp.arguments(PostPatchSchema)
@bp.response(200, PostSchema)
def update_post(data: dict[str, Any], slug: str) -> Post:
    """Change some fields of a post (its author or an admin); ``published: true`` publishes,
    ``publish_at`` sets the publication date (and publishes, unless ``published: false``)."""
    user = acting_user()
    if data.get("publish_at") is not None:
        data.setdefault("published", True)
    return services.update_post(user, services.get_post(user, slug), **data)


@bp.route("/<slug>", methods=["DELETE"])
@documented(auth="required", errors=(403, 404))
@bp.response(204)
def delete_post(slug: str) -> tuple[str, int]:
    """Delete a post (its author or an admin)."""
    user = acting_user()
    services.delete_post(user, services.get_post(user, slug))
    return "", 204


def _location(post: Post) -> str:
    return external_url("api_v1_posts.get_post", slug=post.slug)
