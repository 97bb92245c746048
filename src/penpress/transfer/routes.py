"""Permanent redirects from an imported blog's old addresses to its posts here.

WordPress links a post as ``/?p=123`` and, with its usual permalinks, ``/2019/03/04/slug/``;
the WordPress import records both (``LegacyPath``) so links and search results that point at
the old site keep working once its domain points at Penpress.
"""

from __future__ import annotations

from flask import Blueprint, redirect, request, url_for
from flask.typing import ResponseReturnValue
from sqlalchemy import select

from penpress.blog.models import Post
from penpress.errors import NotFound
from penpress.extensions import db
from penpress.transfer.models import LegacyPath

bp = Blueprint("legacy", __name__)


def legacy_target(path: str) -> str | None:
    """The slug of the post an old address now lives at, if any."""
    return db.session.scalar(
        select(Post.slug)
        .join(LegacyPath, LegacyPath.post_id == Post.id)
        .where(LegacyPath.path == path)
    )


def _moved(path: str) -> ResponseReturnValue:
    slug = legacy_target(path)
    if slug is None:
        raise NotFound("Nothing lives at this address any more.")
    return redirect(url_for("blog.post", slug=slug), code=301)


@bp.before_app_request
def old_query_links() -> ResponseReturnValue | None:
    """``/?p=123``: WordPress's address for any post (the home page otherwise)."""
    if request.path != "/" or "p" not in request.args:
        return None
    post_id = request.args.get("p", "")
    if not post_id.isdecimal() or len(post_id) > 18:
        return None
    slug = legacy_target(f"/?p={int(post_id)}")
    return redirect(url_for("blog.post", slug=slug), code=301) if slug else None


@bp.get("/<int(fixed_digits=4):year>/<int(fixed_digits=2):month>/<int(fixed_digits=2):day>/<slug>/")
@bp.get("/<int(fixed_digits=4):year>/<int(fixed_digits=2):month>/<int(fixed_digits=2):day>/<slug>")
def dated_post(year: int, month: int, day: int, slug: str) -> ResponseReturnValue:
    """``/2019/03/04/slug/``: WordPress's "day and name" permalink."""
    return _moved(f"/{year:04d}/{month:02d}/{day:02d}/{slug}/")
