"""Probe routes for the production tests, built on the services (the site's pages and
``/api/v1`` live on other branches; after merging, the same checks belong on those pages).

Each route is as thin as a real view: parse input, call one service, render. All but
``/probe/limited`` are exempt from rate limits: Flask-Limiter keeps one set of default limits
per process (from the first app that enabled it), and these tests must not depend on it.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Flask, abort, jsonify, request
from flask_login import current_user

from penpress.accounts import services as accounts
from penpress.accounts.auth import log_in
from penpress.blog import services as blog
from penpress.extensions import limiter

site = Blueprint("probe", __name__, url_prefix="/probe")
api = Blueprint("probe_api", __name__, url_prefix="/api/probe")

LIMIT = "5 per minute"


def _posts() -> list[dict[str, Any]]:
    page = blog.list_posts(blog.PostFilter(), page=1, per_page=50, viewer=None)
    return [{"id": post.id, "slug": post.slug, "title": post.title} for post in page.items]


@site.get("/posts")
@limiter.exempt
def site_posts() -> str:
    """An HTML list of published post titles, read from the database."""
    items = "".join(f"<li>{post['title']}</li>" for post in _posts())
    return f"<!doctype html><ul>{items}</ul>"


@api.get("/posts")
@limiter.exempt
def api_posts() -> Any:
    """The same list as JSON, under /api so errors come back as JSON."""
    return jsonify(posts=_posts())


@site.get("/post/<slug>")
@limiter.exempt
def site_post(slug: str) -> Any:
    """One post's title, through the service the post page uses."""
    post = blog.get_post(slug, viewer=current_user if current_user.is_authenticated else None)
    return jsonify(title=post.title)


@site.get("/tags")
@limiter.exempt
def site_tags() -> Any:
    """Tag counts through the cached service (Redis when REDIS_URL is set)."""
    return jsonify(tags={slug: count for _name, slug, count in blog.tags_with_counts()})


@site.get("/limited")
@limiter.limit(LIMIT)
def limited() -> str:
    """A route with a small rate limit."""
    return "ok"


@site.post("/login")
@limiter.exempt
def login() -> Any:
    """Log in with ``email`` and ``password`` form fields (a server-side session)."""
    user = accounts.authenticate(request.form.get("email", ""), request.form.get("password", ""))
    log_in(user)
    return jsonify(username=user.username)


@site.get("/me")
@limiter.exempt
def me() -> Any:
    """Who the session cookie belongs to; 401 when nobody."""
    if not current_user.is_authenticated:
        abort(401)
    return jsonify(username=current_user.username)


@site.post("/post/<int:post_id>")
@limiter.exempt
def edit_post(post_id: int) -> Any:
    """Change a post's ``title`` and ``tags`` (comma separated) as the logged-in user."""
    if not current_user.is_authenticated:
        abort(401)
    post = blog.get_post_by_id(post_id, viewer=current_user)
    tags = blog.parse_tag_names(request.form["tags"]) if "tags" in request.form else None
    blog.update_post(post, current_user, title=request.form.get("title"), tags=tags)
    return jsonify(title=post.title)


def add_probe_routes(app: Flask) -> Flask:
    app.register_blueprint(site)
    app.register_blueprint(api)
    return app
