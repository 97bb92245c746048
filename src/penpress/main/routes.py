"""Routes of the main blueprint: the home page, static pages (``/about`` among them), the feed
and the sitemap."""

from __future__ import annotations

from flask import Blueprint, current_app, render_template
from flask.typing import ResponseReturnValue

from penpress.accounts.auth import acting_user
from penpress.blog import feeds
from penpress.blog import services as blog
from penpress.blog.services import pages
from penpress.http import external_url
from penpress.page_cache import cached_page
from penpress.settings.services import site_title

bp = Blueprint("main", __name__)

HOME_TAG_LIMIT = 30


@bp.get("/")
@cached_page()
def index() -> ResponseReturnValue:
    """The newest published posts and the tags in use."""
    page = blog.list_posts(
        acting_user(),
        blog.PostFilter(),
        page=1,
        per_page=int(current_app.config["POSTS_PER_PAGE"]),
    )
    return render_template(
        "main/index.html",
        posts=page.items,
        older=page.older,
        tags=blog.tags_with_counts()[:HOME_TAG_LIMIT],
    )


@bp.get("/about", defaults={pages.PAGE_SLUG_ARG: pages.ABOUT_SLUG}, endpoint="about")
@bp.get(f"/<{pages.PAGE_SLUG_ARG}>", endpoint="page")
@cached_page()
def page(page_slug: str) -> ResponseReturnValue:
    """A static page; ``/about`` shows its built-in text while there is no page "about".

    Routes at the top level win over this one (Werkzeug matches fixed paths first), and no
    page may take a slug they use (``pages.reserved_slugs``). Anonymous readers get it from
    the page cache (page writes drop it).
    """
    viewer = acting_user()
    if page_slug == pages.ABOUT_SLUG:
        found = pages.get_about_page(viewer)
    else:
        found = pages.get_page(viewer, page_slug)
    return render_template("main/page.html", page=found, can_edit=pages.may_manage_pages(viewer))


@bp.get("/feed.xml")
@cached_page()
def feed() -> ResponseReturnValue:
    """An Atom feed of the newest published posts."""
    posts = blog.list_posts(None, blog.PostFilter(), per_page=feeds.FEED_SIZE).items
    return feeds.atom_feed(
        site_title(), external_url("main.feed"), external_url("main.index"), posts
    )


# Pages of the site itself that belong in the sitemap (static pages are added from the
# database, /about among them).
SITEMAP_PAGES = ("main.index", "blog.index")


@bp.get("/sitemap.xml")
@cached_page()
def sitemap() -> ResponseReturnValue:
    """Every public page for search engines: the site's pages, published static pages,
    posts readers see, tags in use, their authors."""
    tags = [slug for _name, slug, _count in blog.tags_with_counts()]
    authors = blog.published_authors(limit=feeds.SITEMAP_MAX_URLS)
    static_pages = pages.published_page_stamps()
    room = (
        feeds.SITEMAP_MAX_URLS - len(SITEMAP_PAGES) - len(static_pages) - len(tags) - len(authors)
    )
    posts = blog.published_post_stamps(limit=room)
    return feeds.sitemap(SITEMAP_PAGES, posts, tags, authors, static_pages)
