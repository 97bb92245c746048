"""Articles (posts): list, feed, read, write, delete, favorite."""

from __future__ import annotations

import json

from flask import Response, current_app

from penpress import page_cache
from penpress.api.realworld.auth import acting_user, caller_id, require_caller_id, require_user
from penpress.api.realworld.blueprint import bp
from penpress.api.realworld.schemas import (
    NewArticleIn,
    SharedArticles,
    UpdateArticleIn,
    article_out,
    for_viewer,
    query_int,
    query_text,
    read,
    shared_articles,
)
from penpress.blog import services as blog

DEFAULT_LIMIT = 20
# Anonymous answers come from the page cache; clients were promised answers never to keep.
NO_STORE = "no-store"


def _window() -> tuple[int, int]:
    return query_int("limit", DEFAULT_LIMIT, minimum=1), query_int("offset", 0, minimum=0)


@bp.get("/articles")
@page_cache.cached_page(generations=lambda: [page_cache.COUNTS], cache_control=NO_STORE)
def list_articles() -> tuple[dict[str, object], int]:
    """Published articles, newest first, filtered by ``tag``, ``author`` or ``favorited``.

    The page is the same for every caller but for ``favorited``/``following``: it is built
    once per change (``page_cache.shared_value``) and each caller's flags added to it.
    """
    limit, offset = _window()
    filters = blog.PostFilter(
        tag=query_text("tag"), author=query_text("author"), favorited_by=query_text("favorited")
    )
    viewer_id = caller_id()  # the flags need no more of the caller than this

    def build() -> SharedArticles:
        posts, total = blog.list_posts_window(None, filters, limit, offset)
        return shared_articles(posts, total)

    shape = [limit, offset, filters.tag, filters.author, filters.favorited_by]
    shape.append(current_app.config["REALWORLD_LIST_BODIES"])
    name = "conduit:articles:" + json.dumps(shape)
    shared = page_cache.shared_value(name, build, [page_cache.COUNTS])
    return dict(for_viewer(shared, viewer_id)), 200


@bp.get("/articles/feed")
def feed() -> tuple[dict[str, object], int]:
    """Published articles by the authors the caller follows, newest first."""
    viewer_id = require_caller_id()
    limit, offset = _window()

    def build() -> SharedArticles:
        posts, total = blog.feed_window(require_user(), limit, offset)
        return shared_articles(posts, total)

    # The caller's own page: kept for them alone until a post, a count or a follow changes.
    # Only building it needs the caller loaded.
    shape = [limit, offset, current_app.config["REALWORLD_LIST_BODIES"]]
    name = "conduit:feed:" + json.dumps(shape)
    shared = page_cache.readers_own_value(viewer_id, name, build, [page_cache.COUNTS])
    return dict(for_viewer(shared, viewer_id)), 200


@bp.post("/articles")
def create_article() -> tuple[dict[str, object], int]:
    """Write an article. Conduit has no drafts: published at once by those who may publish,
    submitted for review for a contributor (readers get 403)."""
    author = require_user()
    data = read("article", NewArticleIn())
    post = blog.publish_new_post(
        author,
        title=data["title"],
        summary=data["description"],
        body=data["body"],
        tags=data.get("tags") or [],
    )
    return {"article": article_out(post, author)}, 201


@bp.get("/articles/<slug>")
@page_cache.cached_page(
    generations=lambda slug: [page_cache.post_generation(slug)], cache_control=NO_STORE
)
def get_article(slug: str) -> tuple[dict[str, object], int]:
    """One article; a draft only for its author."""
    viewer = acting_user()
    return {"article": article_out(blog.get_post(viewer, slug), viewer)}, 200


@bp.put("/articles/<slug>")
def update_article(slug: str) -> tuple[dict[str, object], int]:
    """Change an article (its author only); a new title gives it a new slug."""
    actor = require_user()
    data = read("article", UpdateArticleIn())
    post = blog.update_post(
        actor,
        blog.get_post(actor, slug),
        title=data.get("title"),
        summary=data.get("description"),
        body=data.get("body"),
        tags=data.get("tags") if data.get("tags") is not None else None,
        regenerate_slug=True,
    )
    return {"article": article_out(post, actor)}, 200


@bp.delete("/articles/<slug>")
def delete_article(slug: str) -> Response:
    """Delete an article (its author only)."""
    actor = require_user()
    blog.delete_post(actor, blog.get_post(actor, slug))
    return Response(status=204)


@bp.post("/articles/<slug>/favorite")
def favorite(slug: str) -> tuple[dict[str, object], int]:
    """Mark an article as a favorite of the caller (again is fine)."""
    user = require_user()
    post = blog.get_post(user, slug)
    blog.favorite(user, post)
    return {"article": article_out(post, user)}, 200


@bp.delete("/articles/<slug>/favorite")
def unfavorite(slug: str) -> tuple[dict[str, object], int]:
    """Remove an article from the caller's favorites (not a favorite is fine)."""
    user = require_user()
    post = blog.get_post(user, slug)
    blog.unfavorite(user, post)
    return {"article": article_out(post, user)}, 200
