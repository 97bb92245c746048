"""Routes of the main blueprint: the home page, static pages (``/about`` among them), the feed,
the sitemap and the stylesheet generated from the site's accent colour."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, current_app, render_template, request
from flask.typing import ResponseReturnValue

from penpress import page_cache
from penpress.accounts.auth import acting_user
from penpress.blog import feeds
from penpress.blog import services as blog
from penpress.blog.services import pages
from penpress.errors import Invalid
from penpress.http import external_url
from penpress.page_cache import cached_page
from penpress.ratelimits import search_rate_limit
from penpress.settings import services as settings
from penpress.settings.style import accent_stylesheet

bp = Blueprint("main", __name__)

HOME_TAG_LIMIT = 30


@bp.get("/")
@cached_page()
def index() -> ResponseReturnValue:
    """The newest published posts and the tags in use.

    They are the same for every reader, so a logged-in reader (whose page is personal and
    never cached whole) gets them from a shared fragment: only the page around is rendered.
    """
    recent = page_cache.shared_fragment("home", _home_lists, [page_cache.COUNTS])
    tags = [] if recent else blog.tags_with_counts()[:HOME_TAG_LIMIT]
    return render_template("main/index.html", recent=recent, tags=tags)


def _home_lists() -> str:
    """The newest posts and the tags as HTML, or ``""`` when nothing is published (the page
    says so in words that may be personal). The public list, whoever asks: all share it."""
    page = blog.list_posts(None, blog.PostFilter(), page=1, per_page=settings.posts_per_page())
    if not page.items:
        return ""
    return render_template(
        "main/_recent_posts.html",
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


@bp.get("/search")
@search_rate_limit()
@cached_page()  # like every list: dropped when a post readers see changes
def search() -> ResponseReturnValue:
    """Published posts matching the words of ``?q=``, best first, matches highlighted; the
    published static pages matching them above, on the first page of results."""
    query = request.args.get("q", "")
    page = request.args.get("page", 1, type=int) or 1
    per_page = int(current_app.config["POSTS_PER_PAGE"])
    viewer = acting_user()
    try:
        results = blog.search_posts(viewer, query, page, per_page)
        page_hits = blog.search_pages(viewer, query) if results.page == 1 else []
    except Invalid as error:
        shown = query[: blog.SEARCH_QUERY_MAX_LENGTH]
        return _search_page(results=None, search_query=shown, error=error), error.status
    return _search_page(
        results=results, page_hits=page_hits, search_query=results.query, error=None
    )


def _search_page(**context: Any) -> str:
    context.setdefault("page_hits", [])
    return render_template(
        "main/search.html",
        max_length=blog.SEARCH_QUERY_MAX_LENGTH,
        max_page=blog.SEARCH_MAX_PAGE,
        **context,
    )


@bp.get("/feed.xml")
@cached_page()
def feed() -> ResponseReturnValue:
    """An Atom feed of the newest published posts."""
    posts = blog.list_posts(None, blog.PostFilter(), per_page=feeds.FEED_SIZE).items
    return feeds.atom_feed(
        settings.site_title(),
        external_url("main.feed"),
        external_url("main.index"),
        posts,
        subtitle=settings.site_description(),
        language=settings.language(),
    )


@bp.get("/feed.rss")
@cached_page()
def feed_rss() -> ResponseReturnValue:
    """The newest published posts as RSS 2.0, for readers that take no Atom."""
    posts = blog.list_posts(None, blog.PostFilter(), per_page=feeds.FEED_SIZE).items
    title = settings.site_title()
    return feeds.rss_feed(
        title,
        settings.site_description() or f"The newest posts on {title}",
        external_url("main.feed_rss"),
        external_url("main.index"),
        posts,
    )


@bp.get("/robots.txt")
@cached_page()
def robots() -> ResponseReturnValue:
    """Crawlers may read every public page; the sitemap's absolute address tells them where
    the pages are. Accounts, the console and the APIs are not pages to index."""
    lines = [
        "User-agent: *",
        *(f"Disallow: {path}" for path in ROBOTS_DISALLOW),
        "",
        f"Sitemap: {external_url('main.sitemap')}",
        "",
    ]
    response = Response("\n".join(lines), content_type="text/plain; charset=utf-8")
    response.headers["Cache-Control"] = f"public, max-age={feeds.CACHE_SECONDS}"
    return response


# Paths crawlers are asked to leave alone: forms, the console, personal lists, the APIs.
ROBOTS_DISALLOW = (
    "/auth/",
    "/admin/",
    "/api/",
    "/realworld/",
    "/blog/create",
    "/blog/edit/",
    "/blog/my-posts",
    "/blog/feed",
    "/blog/favorites",
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


# A year: the address names the version, and another colour gets another address.
STYLESHEET_MAX_AGE = 365 * 24 * 60 * 60


@bp.get("/site.css")
def site_css() -> Response:
    """The accent colour as CSS custom properties (the CSP allows no inline styles). Kept for
    a year when ``?v=`` names the current version; otherwise revalidated every time."""
    response = Response(accent_stylesheet(settings.accent_color()), mimetype="text/css")
    if request.args.get("v") == settings.style_version():
        response.cache_control.public = True
        response.cache_control.max_age = STYLESHEET_MAX_AGE
        response.cache_control.immutable = True
    else:
        response.cache_control.no_cache = True
    return response
