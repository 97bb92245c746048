"""Routes of the main blueprint: the home page and the about page."""

from __future__ import annotations

from flask import Blueprint, current_app, render_template
from flask_login import current_user

from penpress.blog import services as blog

bp = Blueprint("main", __name__)

HOME_TAG_LIMIT = 30


@bp.get("/")
def index() -> str:
    """The newest published posts and the tags in use."""
    page = blog.list_posts(
        blog.PostFilter(),
        page=1,
        per_page=int(current_app.config["POSTS_PER_PAGE"]),
        viewer=current_user,
    )
    return render_template(
        "main/index.html",
        posts=page.items,
        more_posts=page.has_next,
        tags=blog.tags_with_counts()[:HOME_TAG_LIMIT],
    )


@bp.get("/about")
def about() -> str:
    """What this site is and how it works."""
    return render_template("main/about.html")
