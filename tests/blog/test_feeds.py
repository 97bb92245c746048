"""The Atom feeds (/feed.xml, /blog/tag/<slug>/feed.xml) and /sitemap.xml."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any
from xml.etree import ElementTree as ET  # noqa: N817

import pytest
from flask import Flask
from flask.testing import FlaskClient

from penpress.blog.feeds import FEED_SIZE
from penpress.database import utcnow
from tests.conftest import Make

ATOM = "{http://www.w3.org/2005/Atom}"
SITEMAP = "{http://www.sitemaps.org/schemas/sitemap/0.9}"
HOSTILE_TITLE = "Tags & <script>alert('x')</script> \"quoted\" ]]>"


def parse(response: Any, content_type: str) -> ET.Element:
    """The response's XML, after checking the status and the content type."""
    assert response.status_code == 200
    assert response.headers["Content-Type"] == f"{content_type}; charset=utf-8"
    assert response.headers["Cache-Control"] == "public, max-age=60"
    return ET.fromstring(response.data)  # noqa: S314  (our own server's output)


def entry_titles(feed: ET.Element) -> list[str]:
    return [entry.findtext(f"{ATOM}title") or "" for entry in feed.iter(f"{ATOM}entry")]


def locations(sitemap: ET.Element) -> set[str]:
    return {loc.text or "" for loc in sitemap.iter(f"{SITEMAP}loc")}


def posts_in_order(make: Make, author: Any, titles: list[str], **kwargs: Any) -> list[Any]:
    """Published posts, the last of ``titles`` the newest."""
    start = utcnow() - timedelta(days=len(titles))
    return [
        make.post(
            author=author, title=title, slug=title.lower().replace(" ", "-"), published=True,
            published_at=start + timedelta(days=n), **kwargs,
        )
        for n, title in enumerate(titles)
    ]  # fmt: skip


# --- the feed -------------------------------------------------------------------------------


def test_the_feed_lists_published_posts_newest_first(client: FlaskClient, make: Make) -> None:
    author = make.user(role_name="author")
    posts_in_order(make, author, ["Oldest", "Middle", "Newest"])
    make.post(author=author, title="A secret draft", published=False)

    feed = parse(client.get("/feed.xml"), "application/atom+xml")
    assert feed.tag == f"{ATOM}feed"
    assert entry_titles(feed) == ["Newest", "Middle", "Oldest"]
    assert b"A secret draft" not in client.get("/feed.xml").data
    entry = next(feed.iter(f"{ATOM}entry"))
    link = entry.find(f"{ATOM}link")
    assert link is not None
    assert link.get("href") == "http://localhost/blog/post/newest"
    assert entry.findtext(f"{ATOM}id") == link.get("href")
    assert entry.findtext(f"{ATOM}author/{ATOM}name") == author.username
    assert entry.findtext(f"{ATOM}published")
    assert entry.findtext(f"{ATOM}updated")
    self_link = feed.find(f"{ATOM}link[@rel='self']")
    assert self_link is not None
    assert self_link.get("href") == "http://localhost/feed.xml"


def test_the_feed_escapes_titles_and_carries_html_as_text(client: FlaskClient, make: Make) -> None:
    make.post(
        title=HOSTILE_TITLE,
        summary="1 < 2 & 3 > 2",
        body="Some **bold** text",
        body_html="<p>Some <strong>bold</strong> text</p>",
        published=True,
    )
    feed = parse(client.get("/feed.xml"), "application/atom+xml")
    entry = next(feed.iter(f"{ATOM}entry"))
    assert entry.findtext(f"{ATOM}title") == HOSTILE_TITLE
    assert entry.findtext(f"{ATOM}summary") == "1 < 2 & 3 > 2"
    content = entry.find(f"{ATOM}content")
    assert content is not None
    assert content.get("type") == "html"
    assert content.text == "<p>Some <strong>bold</strong> text</p>"
    assert list(content) == []  # escaped text, not markup inside the feed
    assert b"<script>" not in client.get("/feed.xml").data


def test_the_feed_holds_the_newest_posts_only(client: FlaskClient, make: Make) -> None:
    author = make.user(role_name="author")
    posts_in_order(make, author, [f"Post {n:02d}" for n in range(FEED_SIZE + 3)])
    titles = entry_titles(parse(client.get("/feed.xml"), "application/atom+xml"))
    assert len(titles) == FEED_SIZE
    assert titles[0] == f"Post {FEED_SIZE + 2:02d}"


def test_an_empty_site_has_a_valid_empty_feed(client: FlaskClient) -> None:
    feed = parse(client.get("/feed.xml"), "application/atom+xml")
    assert entry_titles(feed) == []
    assert feed.findtext(f"{ATOM}updated")


def test_feed_links_use_site_url_when_set(
    app: Flask, client: FlaskClient, make: Make, monkeypatch: pytest.MonkeyPatch
) -> None:
    make.post(title="Linked", slug="linked", published=True)
    monkeypatch.setitem(app.config, "SITE_URL", "https://blog.example.com")
    body = client.get("/feed.xml").data
    assert b'href="https://blog.example.com/blog/post/linked' in body
    assert b"http://localhost" not in body


def test_pages_point_feed_readers_to_the_feeds(client: FlaskClient, make: Make) -> None:
    make.post(title="Tagged", published=True, tags=["Python"])
    home = client.get("/").get_data(as_text=True)
    assert '<link rel="alternate" type="application/atom+xml"' in home
    assert 'href="/feed.xml"' in home
    tag_page = client.get("/blog/tag/python").get_data(as_text=True)
    assert 'href="/blog/tag/python/feed.xml"' in tag_page


# --- tag feeds ------------------------------------------------------------------------------


def test_a_tag_feed_lists_that_tags_published_posts(client: FlaskClient, make: Make) -> None:
    author = make.user(role_name="author")
    make.post(author=author, title="About Flask", published=True, tags=["Flask"])
    make.post(author=author, title="About cooking", published=True, tags=["Cooking"])
    make.post(author=author, title="A Flask draft", published=False, tags=["Flask"])

    feed = parse(client.get("/blog/tag/flask/feed.xml"), "application/atom+xml")
    assert entry_titles(feed) == ["About Flask"]
    assert "Flask" in (feed.findtext(f"{ATOM}title") or "")
    categories = [c.get("term") for c in feed.iter(f"{ATOM}category")]
    assert categories == ["Flask"]


@pytest.mark.parametrize(
    ("slug", "status"),
    # A NUL character in the path is malformed input on the site (400), not an unknown tag.
    [("no-such-tag", 404), ("x" * 300, 404), ("%00", 400)],
)
def test_a_bad_tag_feed_is_refused(client: FlaskClient, slug: str, status: int) -> None:
    response = client.get(f"/blog/tag/{slug}/feed.xml")
    assert response.status_code == status
    assert response.mimetype == "text/html"


# --- the sitemap ----------------------------------------------------------------------------


def test_the_sitemap_lists_published_posts_tags_and_authors(
    client: FlaskClient, make: Make
) -> None:
    writer = make.user(role_name="author", username="writer")
    drafter = make.user(role_name="author", username="drafter")
    make.post(author=writer, slug="out-there", published=True, tags=["Public"])
    make.post(author=drafter, title="Not yet", published=False, tags=["Secret"])

    sitemap = parse(client.get("/sitemap.xml"), "application/xml")
    assert sitemap.tag == f"{SITEMAP}urlset"
    base = "http://localhost"
    assert locations(sitemap) == {
        f"{base}/",
        f"{base}/about",
        f"{base}/blog/",
        f"{base}/blog/post/out-there",
        f"{base}/blog/tag/public",
        f"{base}/blog/author/writer",
    }
    post_entry = next(
        url
        for url in sitemap.iter(f"{SITEMAP}url")
        if url.findtext(f"{SITEMAP}loc", "").endswith("out-there")
    )
    assert post_entry.findtext(f"{SITEMAP}lastmod")


def test_the_sitemap_lists_tags_by_their_slug(client: FlaskClient, make: Make) -> None:
    make.post(title="Fish & chips", published=True, tags=["R&D"])
    body = client.get("/sitemap.xml").data
    sitemap = parse(client.get("/sitemap.xml"), "application/xml")
    assert any(loc.endswith("/blog/tag/r-d") for loc in locations(sitemap)), body


# --- query counts ---------------------------------------------------------------------------

Counter = Callable[[], Any]


@pytest.mark.parametrize("path", ["/feed.xml", "/blog/tag/common/feed.xml", "/sitemap.xml"])
def test_feeds_and_sitemap_run_a_constant_number_of_queries(
    client: FlaskClient, make: Make, count_queries: Counter, path: str
) -> None:
    def measure() -> int:
        client.get(path)  # the same cache state for both measurements
        with count_queries() as queries:
            assert client.get(path).status_code == 200
        return len(queries)

    author = make.user(role_name="author")
    make.post(author=author, published=True, tags=["Common"])
    few = measure()
    for n in range(6):
        make.post(author=make.user(role_name="author"), published=True, tags=["Common", f"t{n}"])
    assert measure() == few
