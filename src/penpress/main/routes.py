"""Routes of the main blueprint: the home page, static pages (``/about`` among them), the feed
and the sitemap."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, render_template

from penpress.accounts.auth import acting_user
from penpress.blog import feeds
from penpress.blog import services as blog
from penpress.blog.services import pages
from penpress.http import external_url
from penpress.settings.services import site_title

bp = Blueprint("main", __name__)

HOME_TAG_LIMIT = 30


@bp.get("/")
def index() -> str:
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
        more_posts=page.has_next,
        tags=blog.tags_with_counts()[:HOME_TAG_LIMIT],
    )


@bp.get("/about", defaults={pages.PAGE_SLUG_ARG: pages.ABOUT_SLUG}, endpoint="about")
@bp.get(f"/<{pages.PAGE_SLUG_ARG}>", endpoint="page")
def page(page_slug: str) -> str:
    """A static page; ``/about`` shows its built-in text while there is no page "about".

    Routes at the top level win over this one (Werkzeug matches fixed paths first), and no
    page may take a slug they use (``pages.reserved_slugs``).
    """
    viewer = acting_user()
    if page_slug == pages.ABOUT_SLUG:
        found = pages.get_about_page(viewer)
    else:
        found = pages.get_page(viewer, page_slug)
    return render_template("main/page.html", page=found, can_edit=pages.may_manage_pages(viewer))


@bp.get("/feed.xml")
def feed() -> Response:
    """An Atom feed of the newest published posts."""
    posts, _total = blog.list_posts_window(None, blog.PostFilter(), limit=feeds.FEED_SIZE, offset=0)
    return feeds.atom_feed(
        site_title(), external_url("main.feed"), external_url("main.index"), posts
    )


# Pages of the site itself that belong in the sitemap (static pages are added from the
# database, /about among them).
SITEMAP_PAGES = ("main.index", "blog.index")


@bp.get("/sitemap.xml")
def sitemap() -> Response:
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
