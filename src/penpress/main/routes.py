"""Routes of the main blueprint: the home page, the about page, the feed and the sitemap."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, render_template

from penpress.accounts.auth import acting_user
from penpress.blog import feeds
from penpress.blog import services as blog
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


@bp.get("/about")
def about() -> str:
    """What this site is and how it works."""
    return render_template("main/about.html")


@bp.get("/feed.xml")
def feed() -> Response:
    """An Atom feed of the newest published posts."""
    posts, _total = blog.list_posts_window(None, blog.PostFilter(), limit=feeds.FEED_SIZE, offset=0)
    return feeds.atom_feed(
        site_title(), external_url("main.feed"), external_url("main.index"), posts
    )


@bp.get("/feed.rss")
def feed_rss() -> Response:
    """The newest published posts as RSS 2.0, for readers that take no Atom."""
    posts, _total = blog.list_posts_window(None, blog.PostFilter(), limit=feeds.FEED_SIZE, offset=0)
    return feeds.rss_feed(
        site_title(),
        f"The newest posts on {site_title()}",
        external_url("main.feed_rss"),
        external_url("main.index"),
        posts,
    )


@bp.get("/robots.txt")
def robots() -> Response:
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


# Pages of the site itself that belong in the sitemap.
SITEMAP_PAGES = ("main.index", "main.about", "blog.index")


@bp.get("/sitemap.xml")
def sitemap() -> Response:
    """Every public page for search engines: published posts, tags in use, their authors."""
    tags = [slug for _name, slug, _count in blog.tags_with_counts()]
    authors = blog.published_authors(limit=feeds.SITEMAP_MAX_URLS)
    room = feeds.SITEMAP_MAX_URLS - len(SITEMAP_PAGES) - len(tags) - len(authors)
    posts = blog.published_post_stamps(limit=room)
    return feeds.sitemap(SITEMAP_PAGES, posts, tags, authors)
