"""Permanent redirects from an imported blog's old addresses to its posts and pages here.

WordPress links a post as ``/?p=123`` and, with its usual permalinks, ``/2019/03/04/slug/``;
a page as ``/?page_id=7`` and ``/slug/``. The WordPress import records them (``LegacyPath``)
so links and search results that point at the old site keep working once its domain points
at Penpress.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, redirect, request, url_for
from flask.typing import ResponseReturnValue
from sqlalchemy import select

from penpress.blog.models import Page, Post
from penpress.blog.services.pages import PAGE_SLUG_ARG
from penpress.errors import NotFound
from penpress.extensions import db
from penpress.transfer.models import LegacyPath

bp = Blueprint("legacy", __name__)

# WordPress's query addresses of the home page: ``/?p=ID`` a post, ``/?page_id=ID`` a page.
_QUERY_ADDRESSES = ("p", "page_id")


def legacy_target(path: str) -> str | None:
    """The slug of the post an old address now lives at, if any."""
    return db.session.scalar(
        select(Post.slug)
        .join(LegacyPath, LegacyPath.post_id == Post.id)
        .where(LegacyPath.path == path)
    )


def legacy_page(path: str) -> str | None:
    """The slug of the page an old address now lives at, if any."""
    return db.session.scalar(
        select(Page.slug)
        .join(LegacyPath, LegacyPath.page_id == Page.id)
        .where(LegacyPath.path == path)
    )


def _moved(path: str) -> ResponseReturnValue:
    slug = legacy_target(path)
    if slug is None:
        raise NotFound("Nothing lives at this address any more.")
    return redirect(url_for("blog.post", slug=slug), code=301)


def _page_address(slug: str) -> str:
    values: dict[str, Any] = {PAGE_SLUG_ARG: slug}
    return url_for("main.page", **values)


@bp.before_app_request
def old_query_links() -> ResponseReturnValue | None:
    """``/?p=123`` and ``/?page_id=7``: WordPress's addresses for any post and page (the
    home page otherwise)."""
    if request.path != "/":
        return None
    for name in _QUERY_ADDRESSES:
        number = request.args.get(name)
        if number is None:
            continue
        if not number.isdecimal() or len(number) > 18:
            return None
        path = f"/?{name}={int(number)}"
        if name == "p":
            slug = legacy_target(path)
            return redirect(url_for("blog.post", slug=slug), code=301) if slug else None
        page = legacy_page(path)
        return redirect(_page_address(page), code=301) if page else None
    return None


@bp.get("/<int(fixed_digits=4):year>/<int(fixed_digits=2):month>/<int(fixed_digits=2):day>/<slug>/")
@bp.get("/<int(fixed_digits=4):year>/<int(fixed_digits=2):month>/<int(fixed_digits=2):day>/<slug>")
def dated_post(year: int, month: int, day: int, slug: str) -> ResponseReturnValue:
    """``/2019/03/04/slug/``: WordPress's "day and name" permalink."""
    return _moved(f"/{year:04d}/{month:02d}/{day:02d}/{slug}/")


@bp.get("/<slug>/")
def page_permalink(slug: str) -> ResponseReturnValue:
    """``/about/``: an imported WordPress page's permalink (with its final slash), to the
    page's address here. Fixed paths (``/blog/``, ``/admin/``) match before this one."""
    page = legacy_page(f"/{slug}/")
    if page is None:
        raise NotFound("Nothing lives at this address.")
    return redirect(_page_address(page), code=301)
