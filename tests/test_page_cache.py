"""The page cache for anonymous readers, with a real cache (the test config's is a NullCache).

Anonymous pages come from the cache without touching the ORM, carry ETag/Last-Modified and
answer 304; a logged-in page is never stored or served from it; every change a reader must
see at once (publish, edit, delete, an approved comment, settings) shows on the next request;
and on Redis two app instances share the pages.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from flask import Flask

from bench.queries import counting
from penpress.blog import services, view_counts
from penpress.blog.models import Comment
from penpress.blog.services.comments import mark_spam, not_spam
from penpress.extensions import db
from penpress.settings.services import set_comments_require_approval
from tests import factories
from tests.conftest import postgres_backend
from tests.pages import login

PAGES = (
    "/",
    "/blog/",
    "/blog/tag/news",
    "/blog/author/writer",
    "/feed.xml",
    "/feed.rss",
    "/blog/author/writer/feed.xml",
    "/robots.txt",
    "/about",
)


GENERATIONS_ONLY = "FROM counters"  # a page from the cache reads its generations, nothing else
# The page cache's own read of its generations (the site settings read theirs through the ORM).
PAGE_GENERATIONS = "SELECT name, value FROM counters"


@pytest.fixture
def site(build_app: Callable[..., Flask]) -> Iterator[dict[str, Any]]:
    app = build_app(CACHE_TYPE="SimpleCache")
    with app.app_context():
        # The buffer outlives an app (one per process without Redis), and post ids repeat
        # from one test's database to the next: start from an empty one.
        view_counts.discard()
        writer = factories.UserFactory(username="writer")
        moderator = factories.UserFactory(username="mod", role_name="admin")
        post = services.create_post(
            writer, title="First news", body="Hello.", tags=["news"], published=True
        )
        db.session.commit()
    # Requests run without an app context of the test's around them (Flask would reuse it,
    # and its ``g``, for every request).
    yield {"app": app, "writer": writer, "moderator": moderator, "post": post}
    with app.app_context():
        view_counts.discard()


def change(app: Flask, action: Callable[[], Any]) -> Any:
    with app.app_context():
        result = action()
        db.session.commit()
        return result


def test_anonymous_pages_come_from_the_cache(site: dict[str, Any]) -> None:
    app, slug = site["app"], site["post"].slug
    client = app.test_client()
    for path in (*PAGES, f"/blog/post/{slug}"):
        first = client.get(path)
        assert first.status_code == 200, path
        with counting(app) as statements:
            again = client.get(path)
        assert len(statements) == 1, path  # from the cache: the generations, one query
        assert GENERATIONS_ONLY in statements[0]
        assert again.get_data() == first.get_data(), path
        assert again.headers["ETag"] == first.headers["ETag"]
        assert "Last-Modified" in again.headers
        assert "public" in again.headers["Cache-Control"]
        if not path.endswith((".xml", ".rss", ".txt")):  # feeds keep their own max-age
            assert "max-age=0, s-maxage=" in again.headers["Cache-Control"]
        assert "X-Request-ID" in again.headers
        assert "Content-Security-Policy" in again.headers  # the final headers are kept
        assert "Set-Cookie" not in again.headers


def test_a_known_page_answers_304(site: dict[str, Any]) -> None:
    client = site["app"].test_client()
    first = client.get("/blog/")
    etag = first.headers["ETag"]
    for headers in (
        {"If-None-Match": etag},
        {"If-None-Match": f"W/{etag}"},
        {"If-Modified-Since": first.headers["Last-Modified"]},
    ):
        again = client.get("/blog/", headers=headers)
        assert again.status_code == 304, headers
        assert again.get_data() == b""
        assert again.headers["ETag"] == etag
    assert client.get("/blog/", headers={"If-None-Match": '"other"'}).status_code == 200
    gzipped = client.get("/blog/", headers={"Accept-Encoding": "gzip"})
    assert gzipped.headers["Content-Encoding"] == "gzip"
    import gzip

    assert gzip.decompress(gzipped.get_data()) == first.get_data()


def test_a_logged_in_page_is_never_cached(site: dict[str, Any]) -> None:
    app = site["app"]
    member = app.test_client()
    assert login(member, site["writer"].email).status_code == 303
    paths = ("/", "/blog/", f"/blog/post/{site['post'].slug}", "/blog/author/writer")
    for path in paths:
        mine = member.get(path)
        assert "Log out" in mine.get_data(as_text=True)
        assert "private" in mine.headers["Cache-Control"]
        assert "ETag" not in mine.headers
        with counting(app) as statements:
            member.get(path)
        assert len(statements) > 1, path  # rendered again, never from the cache
        stranger = app.test_client().get(path).get_data(as_text=True)
        assert "Log out" not in stranger
        assert "writer)" not in stranger  # the logged-in name is in the hidden logout label


def test_a_readers_own_lists_are_never_cached(site: dict[str, Any]) -> None:
    """The favorites page is per reader: never stored, never served to anyone else."""
    app, writer = site["app"], site["writer"]
    change(
        app,
        lambda: services.favorite(
            db.session.merge(writer), services.get_post(None, site["post"].slug)
        ),
    )
    member = app.test_client()
    assert login(member, writer.email).status_code == 303
    for _ in range(2):
        mine = member.get("/blog/favorites")
        assert "First news" in mine.get_data(as_text=True)
        assert "private" in mine.headers.get("Cache-Control", "private")
        assert "ETag" not in mine.headers
    stranger = app.test_client().get("/blog/favorites")
    assert stranger.status_code == 302  # to the login page, not someone's list


def test_cached_pages_carry_the_sites_own_addresses(
    build_app: Callable[..., Flask],
) -> None:
    """A page stored for one reader is served to all: its canonical and OpenGraph addresses
    come from SITE_URL, whatever Host header the reader who filled the cache sent (production
    also refuses hosts other than SITE_URL's; the test configuration trusts any)."""
    app = build_app(CACHE_TYPE="SimpleCache")
    with app.app_context():
        writer = factories.UserFactory(username="writer")
        services.create_post(writer, title="Shared", body="Hello.", tags=["news"], published=True)
        db.session.commit()
    client = app.test_client()
    for path in ("/", "/blog/post/shared", "/blog/tag/news", "/blog/author/writer"):
        first = client.get(path, headers={"Host": "other.example"}).get_data(as_text=True)
        with counting(app) as statements:
            again = client.get(path).get_data(as_text=True)
        assert len(statements) == 1, path  # from the cache
        assert again == first
        canonical = f'<link rel="canonical" href="http://localhost{path}">'
        assert canonical in again, path
        assert "other.example" not in again


def test_anonymous_readers_see_every_change_at_once(site: dict[str, Any]) -> None:
    app, writer, moderator = site["app"], site["writer"], site["moderator"]
    post = site["post"]
    client = app.test_client()
    for path in PAGES:
        client.get(path)  # everything cached
    post_page = f"/blog/post/{post.slug}"
    client.get(post_page)

    def html(path: str) -> str:
        return client.get(path).get_data(as_text=True)

    second = change(
        app,
        lambda: services.create_post(
            db.session.merge(writer), title="Second news", body="b", tags=["news"], published=True
        ),
    )
    for path in (
        "/",
        "/blog/",
        "/blog/tag/news",
        "/blog/author/writer",
        "/feed.xml",
        "/feed.rss",
        "/blog/author/writer/feed.xml",
    ):
        assert "Second news" in html(path), path
    change(
        app,
        lambda: services.update_post(
            db.session.merge(writer), services.get_post(writer, second.slug), title="Edited news"
        ),
    )
    assert "Edited news" in html("/blog/")
    assert "Edited news" in html(f"/blog/post/{second.slug}")
    change(
        app,
        lambda: services.delete_post(
            db.session.merge(writer), services.get_post(writer, second.slug)
        ),
    )
    assert "Edited news" not in html("/blog/")
    assert client.get(f"/blog/post/{second.slug}").status_code == 404
    # A comment waiting for a moderator stays hidden; once approved everyone sees it.
    change(app, lambda: set_comments_require_approval(db.session.merge(moderator), True))
    reader = change(app, lambda: factories.UserFactory(username="reader"))
    comment = change(
        app,
        lambda: services.add_comment(
            db.session.merge(reader), services.get_post(None, post.slug), "A thought from a reader"
        ),
    )
    assert "A thought from a reader" not in html(post_page)
    change(app, lambda: services.approve_comment_by_id(db.session.merge(moderator), comment.id))
    assert "A thought from a reader" in html(post_page)
    # Marked as spam it goes; restored as approved it is back.
    change(
        app,
        lambda: mark_spam(db.session.merge(moderator), db.session.get_one(Comment, comment.id)),
    )
    assert "A thought from a reader" not in html(post_page)
    change(
        app,
        lambda: not_spam(
            db.session.merge(moderator), db.session.get_one(Comment, comment.id), approve=True
        ),
    )
    assert "A thought from a reader" in html(post_page)
    change(
        app,
        lambda: services.reject_comment(db.session.merge(moderator), comment.id),
    )
    assert "A thought from a reader" not in html(post_page)


def test_cached_post_pages_still_count_views(site: dict[str, Any]) -> None:
    app, post = site["app"], site["post"]
    client = app.test_client()
    for _ in range(3):
        client.get(f"/blog/post/{post.slug}")
    client.head(f"/blog/post/{post.slug}")
    with app.app_context():
        assert view_counts.pending(post.id) == 3


def test_anonymous_pages_carry_no_csrf_token_or_cookie(build_app: Callable[..., Flask]) -> None:
    """With CSRF on (as in production): no form on an anonymous page, so the page is the same
    for every anonymous reader and can be stored."""
    app = build_app(CACHE_TYPE="SimpleCache", WTF_CSRF_ENABLED=True)
    with app.app_context():
        writer = factories.UserFactory(username="writer")
        post = services.create_post(writer, title="Open", body="b", tags=["news"], published=True)
        db.session.commit()
        slug = post.slug
    client = app.test_client()
    for path in (*PAGES, f"/blog/post/{slug}"):
        for _ in range(2):
            response = client.get(path)
            assert response.status_code == 200, path
            assert "csrf_token" not in response.get_data(as_text=True), path
            assert "Set-Cookie" not in response.headers, path
            assert "public" in response.headers["Cache-Control"], path
    with app.app_context():
        view_counts.discard()


@pytest.mark.redis
@pytest.mark.skipif(not postgres_backend(), reason="two instances share PostgreSQL and Redis")
def test_two_instances_share_the_pages_on_redis(build_app: Callable[..., Flask]) -> None:
    one = build_app(CACHE_TYPE="SimpleCache")
    two = build_app(CACHE_TYPE="SimpleCache")
    assert one.config["CACHE_TYPE"] == "penpress.caching.ResilientRedisCache"
    with one.app_context():
        writer = factories.UserFactory(username="writer")
        services.create_post(writer, title="Shared", body="b", published=True)
        db.session.commit()
    first = one.test_client().get("/blog/")
    with counting(two) as statements:
        second = two.test_client().get("/blog/")
    # The page instance one stored, instance two served: only the generations were read.
    assert len(statements) == 1
    assert GENERATIONS_ONLY in statements[0]
    assert second.get_data() == first.get_data()
    with two.app_context():
        services.create_post(db.session.merge(writer), title="Later", body="b", published=True)
        db.session.commit()
    assert "Later" in one.test_client().get("/blog/").get_data(as_text=True)


def test_the_fast_path_defers_to_flask_when_unsure(build_app: Callable[..., Flask]) -> None:
    """An untrusted Host, a HEAD, a remember-me cookie: the same answers as without the cache."""
    app = build_app(CACHE_TYPE="SimpleCache", SITE_URL="https://blog.example.com")
    client = app.test_client()
    base = "https://blog.example.com"
    assert client.get("/blog/", base_url=base).status_code == 200
    assert client.get("/blog/", base_url=base).status_code == 200  # now cached
    assert client.get("/blog/", base_url="http://evil.example.net").status_code == 400
    head = client.head("/blog/", base_url=base)
    assert head.status_code == 200
    assert head.get_data() == b""
    client.set_cookie("remember_token", "not-a-real-one", domain="blog.example.com")
    with counting(app) as statements:
        assert client.get("/blog/", base_url=base).status_code == 200
    # Flask looked at the cookie (it may hold a login): rendered, the cache not even asked.
    assert statements
    assert not [s for s in statements if PAGE_GENERATIONS in s]
