"""Posts: list, read, write, publish, delete."""

from __future__ import annotations

import hashlib
from typing import Any, cast

from flask import Response, current_app, request
from werkzeug.http import quote_etag

from penpress import page_cache
from penpress.accounts.models import User
from penpress.api.v1.core import (
    BODY_ERRORS,
    ApiBlueprint,
    acting_user,
    cursor_page_payload,
    documented,
)
from penpress.api.v1.schemas import (
    PostCreateSchema,
    PostListArgsSchema,
    PostPageSchema,
    PostPatchSchema,
    PostSchema,
    post_out,
)
from penpress.blog import paging, services
from penpress.blog.models import Post
from penpress.errors import Invalid
from penpress.http import external_url
from penpress.ratelimits import search_rate_limit

bp = ApiBlueprint("api_v1_posts", __name__, description="Blog posts, with their tags and author.")


@bp.route("", methods=["GET"])
@search_rate_limit()  # only with ?q=
@page_cache.cached_page(generations=lambda: [page_cache.COUNTS])  # anonymous callers
@documented(auth="optional", etag=True)
@bp.arguments(PostListArgsSchema(), location="query")
@bp.response(200, PostPageSchema)
def list_posts(args: dict[str, Any]) -> tuple[Any, ...]:
    """List published posts, newest first; filter by tag, author or words.

    Page by number (``page``, down to 10,000 posts deep) or, at any depth and at the same
    cost, by ``cursor``: pass the ``next_cursor`` (older posts) or ``prev_cursor`` (newer
    posts) of the page before. Cursors never skip or repeat a post while new ones appear.
    """
    filters = services.PostFilter(
        tag=args.get("tag"),
        author=args.get("author"),
        q=args.get("q"),
        include_drafts=args["drafts"],
    )

    def build(viewer: User | None) -> tuple[bytes, dict[str, str]]:
        page = services.list_posts(
            viewer,
            filters,
            args["page"],
            args["per_page"],
            cursor=args.get("cursor"),
            with_total=True,
        )
        body, headers = post_page_body(page, args)
        # Already in the documented shape: handed over as JSON, not dumped again.
        data = cast(Response, current_app.json.response(body)).get_data()
        return data, {**headers, "ETag": quote_etag(hashlib.sha256(data).hexdigest()[:32])}

    if args["drafts"]:  # the caller's own drafts may be in it: built for them alone
        data, headers = build(acting_user())
    else:
        # The same for every caller, token or not: built, encoded and hashed once per change.
        name = f"api:v1:posts?{request.query_string.decode('latin-1')}"
        data, headers = page_cache.shared_value(name, lambda: build(None), [page_cache.COUNTS])
    return current_app.response_class(data, mimetype="application/json"), 200, headers


def post_page_answer(page: paging.PostPage, args: dict[str, Any]) -> tuple[Any, ...]:
    """A page of posts asked by ``page`` or ``cursor`` (with its total), as every list of
    posts answers: a page number deeper than numbers go is a 422 pointing at the cursor."""
    body, headers = post_page_body(page, args)
    # Already in the documented shape: handed over as JSON, not dumped again.
    return current_app.json.response(body), 200, headers


def post_page_body(
    page: paging.PostPage, args: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, str]]:
    """The body and headers of :func:`post_page_answer` (plain data, fit to be cached)."""
    if page.too_deep and (args["page"] - 1) * args["per_page"] < (page.total or 0):
        raise Invalid.field(
            "page",
            f"Posts deeper than {paging.MAX_OFFSET_ROWS} are not served by page number: follow "
            "links.next or pass cursor=<next_cursor>.",
        )
    body, headers = cursor_page_payload("posts", page, paging.MAX_OFFSET_ROWS)
    body["posts"] = [post_out(post) for post in page.items]
    return body, headers


@bp.route("", methods=["POST"])
@documented(auth="required", errors=(*BODY_ERRORS, 403))
@bp.arguments(PostCreateSchema)
@bp.response(201, PostSchema)
def create_post(data: dict[str, Any]) -> tuple[Post, int, dict[str, str]]:
    """Write a post: a draft unless ``published`` is true or ``publish_at`` is given (a future
    ``publish_at`` schedules it, a past one backdates it).

    Writing needs the WRITE permission (contributors and up); publishing, scheduling or dating
    needs PUBLISH (authors and up) and, when the site asks for it, a confirmed email address:
    a contributor gets a 403 and submits the draft for review instead
    (`POST /posts/{slug}/submit`).
    """
    data.setdefault("published", "publish_at" in data and data["publish_at"] is not None)
    post = services.create_post(acting_user(), **data)
    return post, 201, {"Location": _location(post)}


@bp.route("/<slug>", methods=["GET"])
@page_cache.cached_page(generations=lambda slug: [page_cache.post_generation(slug)])
@documented(auth="optional", errors=(404,), etag=True)
@bp.response(200, PostSchema)
def get_post(slug: str) -> Post:
    """Read one post, with its Markdown and rendered HTML; unpublished ones only for their
    writer, editors and admins."""
    return services.get_post(acting_user(), slug)


@bp.route("/<slug>", methods=["PATCH"])
@documented(auth="required", errors=(*BODY_ERRORS, 403, 404))
@bp.arguments(PostPatchSchema)
@bp.response(200, PostSchema)
def update_post(data: dict[str, Any], slug: str) -> Post:
    """Change some fields of a post (its writer, or an editor or admin).

    ``published: true`` publishes, ``publish_at`` sets the publication date (and publishes,
    unless ``published: false``; a future one schedules): both need the PUBLISH permission
    and a confirmed address when the site asks for it (403 otherwise). ``published: false``
    makes it a draft again. A published or scheduled post can only be changed by someone who
    may publish.
    """
    user = acting_user()
    if data.get("publish_at") is not None:
        data.setdefault("published", True)
    return services.update_post(user, services.get_post(user, slug), **data)


@bp.route("/<slug>", methods=["DELETE"])
@documented(auth="required", errors=(403, 404))
@bp.response(204)
def delete_post(slug: str) -> tuple[str, int]:
    """Delete a post (its writer, or an editor or admin)."""
    user = acting_user()
    services.delete_post(user, services.get_post(user, slug))
    return "", 204


@bp.route("/<slug>/submit", methods=["POST"])
@documented(auth="required", errors=(403, 404, 409))
@bp.response(200, PostSchema)
def submit_post(slug: str) -> Post:
    """Submit your own unpublished post for review (again, after it was returned).

    Its status becomes `submitted` until an editor publishes, returns or rejects it. Needs a
    confirmed address when the site asks for one; 409 for a published or rejected post.
    """
    user = acting_user()
    return services.submit_post(user, services.get_post(user, slug))


def _location(post: Post) -> str:
    return external_url("api_v1_posts.get_post", slug=post.slug)
