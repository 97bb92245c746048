"""The feeds (Atom: /feed.xml, /blog/tag/<slug>/feed.xml, /blog/author/<username>/feed.xml;
RSS 2.0: /feed.rss) and /sitemap.xml."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any
from xml.etree import ElementTree as ET  # noqa: N817

import feedparser
import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from penpress.accounts.models import User
from penpress.blog.feeds import FEED_SIZE
from penpress.blog.models import Post
from penpress.database import utcnow
from penpress.extensions import db
from penpress.media.services import upload_image
from penpress.settings.services import site_title
from tests import images
from tests.conftest import Make

ATOM = "{http://www.w3.org/2005/Atom}"
CONTENT = "{http://purl.org/rss/1.0/modules/content/}"
DC = "{http://purl.org/dc/elements/1.1/}"
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


SITE_FEEDS = (
    '<link rel="alternate" type="application/atom+xml" title="Penpress: newest posts (Atom)"'
    ' href="http://localhost/feed.xml">',
    '<link rel="alternate" type="application/rss+xml" title="Penpress: newest posts (RSS)"'
    ' href="http://localhost/feed.rss">',
)


def test_every_page_points_feed_readers_to_the_feeds(client: FlaskClient, make: Make) -> None:
    author = make.user(role_name="author", username="writer")
    make.post(author=author, title="Tagged", slug="tagged", published=True, tags=["Python"])
    for path in (
        "/", "/blog/", "/blog/post/tagged", "/blog/tag/python", "/blog/author/writer", "/about",
        "/auth/login", "/auth/register",
    ):  # fmt: skip
        page = client.get(path).get_data(as_text=True)
        for link in SITE_FEEDS:
            assert link in page, path
        # A visible link too, for readers whose browser shows no feed icon.
        assert '<a class="feed-link" href="/feed.xml"' in page, path
        assert '<a class="feed-link" href="/feed.rss"' in page, path
    tag_page = client.get("/blog/tag/python").get_data(as_text=True)
    assert 'href="http://localhost/blog/tag/python/feed.xml"' in tag_page
    assert '<a class="feed-link" href="/blog/tag/python/feed.xml"' in tag_page
    author_page = client.get("/blog/author/writer").get_data(as_text=True)
    assert (
        '<link rel="alternate" type="application/atom+xml" title="Penpress: posts by writer"'
        ' href="http://localhost/blog/author/writer/feed.xml">'
    ) in author_page
    assert '<a class="feed-link" href="/blog/author/writer/feed.xml"' in author_page


def test_feed_titles_are_the_sites_name(app: Flask, client: FlaskClient, make: Make) -> None:
    make.user(role_name="author", username="writer")
    make.post(title="Tagged", published=True, tags=["Python"])
    with app.app_context():
        name = site_title()
    assert parse(client.get("/feed.xml"), ATOM_TYPE).findtext(f"{ATOM}title") == name
    assert parse(client.get("/feed.rss"), RSS_TYPE).findtext("channel/title") == name
    tag_feed = parse(client.get("/blog/tag/python/feed.xml"), ATOM_TYPE)
    assert tag_feed.findtext(f"{ATOM}title") == f"{name}: Python"
    author_feed = parse(client.get("/blog/author/writer/feed.xml"), ATOM_TYPE)
    assert author_feed.findtext(f"{ATOM}title") == f"{name}: writer"


# --- what feed readers see ------------------------------------------------------------------

ATOM_TYPE = "application/atom+xml"
RSS_TYPE = "application/rss+xml"
RELATIVE_BODY = (
    "See [the other post](/blog/post/other) and [a heading](#h-later).\n\n"
    "![A picture](/media/picture.png)\n\n"
    "A claim.[^1]\n\n"
    "## Later\n\n"
    "[^1]: The source.\n"
)


@pytest.mark.parametrize(
    ("path", "content_type", "version"),
    [("/feed.xml", ATOM_TYPE, "atom10"), ("/feed.rss", RSS_TYPE, "rss20")],
)
def test_feed_readers_read_each_feed_whole(
    client: FlaskClient, make: Make, path: str, content_type: str, version: str
) -> None:
    """feedparser, the library many feed readers use, reads the feed without a complaint
    (``bozo`` is its flag for malformed feeds) and finds every field a reader shows."""
    author = make.user(role_name="author", username="writer")
    posts_in_order(make, author, ["Older", "Newer"], summary="In short", tags=["Python"])
    make.post(author=author, title="A secret draft", published=False)

    response = client.get(path)
    parse(response, content_type)
    parsed = feedparser.parse(response.data)
    assert not parsed.bozo, parsed.get("bozo_exception")
    assert parsed.version == version
    assert parsed.feed.title == "Penpress"
    assert parsed.feed.link == "http://localhost/"
    assert [entry.title for entry in parsed.entries] == ["Newer", "Older"]
    entry = parsed.entries[0]
    assert entry.link == "http://localhost/blog/post/newer"
    assert entry.id == "http://localhost/blog/post/newer"
    assert entry.author == "writer"
    assert entry.published_parsed is not None
    assert [tag.term for tag in entry.tags] == ["Python"]
    assert entry.summary == "In short"
    assert entry.content[0].value.startswith("<")  # the whole post, as HTML


def test_rss_is_rss_2(client: FlaskClient, make: Make) -> None:
    make.post(title=HOSTILE_TITLE, slug="hostile", summary="1 < 2", body="Some **bold**",
              published=True, tags=["A&B"])  # fmt: skip
    rss = parse(client.get("/feed.rss"), RSS_TYPE)
    assert rss.tag == "rss"
    assert rss.get("version") == "2.0"
    channel = rss.find("channel")
    assert channel is not None
    assert channel.findtext("link") == "http://localhost/"
    assert channel.findtext("description")
    self_link = channel.find(f"{ATOM}link[@rel='self']")
    assert self_link is not None
    assert self_link.get("href") == "http://localhost/feed.rss"
    assert channel.findtext("lastBuildDate", "").endswith("+0000")
    [item] = channel.findall("item")
    assert item.findtext("title") == HOSTILE_TITLE
    guid = item.find("guid")
    assert guid is not None
    assert guid.text == "http://localhost/blog/post/hostile"
    assert guid.get("isPermaLink") == "true"
    assert item.findtext(f"{DC}creator")
    assert item.findtext("category") == "A&B"
    assert item.findtext("description") == "1 < 2"
    # The HTML travels as escaped text, never as markup of the feed itself.
    assert "<strong>bold</strong>" in item.findtext(f"{CONTENT}encoded", "")
    assert b"<strong>" not in client.get("/feed.rss").data


@pytest.mark.parametrize("path", ["/feed.xml", "/feed.rss", "/blog/author/writer/feed.xml"])
def test_feed_content_has_absolute_links_and_images(
    app: Flask, client: FlaskClient, make: Make, monkeypatch: pytest.MonkeyPatch, path: str
) -> None:
    monkeypatch.setitem(app.config, "SITE_URL", "https://blog.example.com")
    author = make.user(role_name="author", username="writer")
    make.post(author=author, title="Relative", slug="relative", body=RELATIVE_BODY)

    parsed = feedparser.parse(client.get(path).data)
    content = parsed.entries[0].content[0].value
    post = "https://blog.example.com/blog/post/relative"
    assert 'href="https://blog.example.com/blog/post/other"' in content
    assert f'href="{post}#h-later"' in content
    assert 'src="https://blog.example.com/media/picture.png"' in content
    assert f'href="{post}#fn-1"' in content
    assert f'href="{post}#fnref-1"' in content
    for relative in ('href="/', 'src="/', 'href="#'):
        assert relative not in content


@pytest.mark.parametrize(
    "path",
    ["/feed.xml", "/feed.rss", "/blog/author/writer/feed.xml", "/blog/tag/pictures/feed.xml"],
)
def test_an_uploaded_featured_image_is_the_entrys_enclosure(
    app: Flask, client: FlaskClient, make: Make, monkeypatch: pytest.MonkeyPatch, path: str
) -> None:
    """Feed readers show an entry's picture from its enclosure: the uploaded featured image,
    at an absolute address, with its size in bytes and its type; posts without one (or with
    a hot-linked one, whose size nobody knows) carry none."""
    monkeypatch.setitem(app.config, "SITE_URL", "https://blog.example.com")
    author = make.user(role_name="author", username="writer")
    with app.app_context():
        picture = upload_image(db.session.get(User, author.id), images.png((900, 600)), "a.png")
        db.session.commit()
        name, size, kind = picture.name, picture.byte_size, picture.content_type
    posts_in_order(make, author, ["Plain", "Hotlinked", "Pictured"], tags=["Pictures"])
    with app.app_context():
        for post in db.session.scalars(select(Post)):
            if post.title == "Pictured":
                post.featured_image_id = picture.id
            elif post.title == "Hotlinked":
                post.featured_image_url = "https://images.example.com/far.jpg"
        db.session.commit()

    response = client.get(path)
    parsed = feedparser.parse(response.data)
    assert not parsed.bozo, parsed.get("bozo_exception")
    enclosures = {entry.title: entry.enclosures for entry in parsed.entries}
    assert enclosures["Plain"] == enclosures["Hotlinked"] == []
    [enclosure] = enclosures["Pictured"]
    assert enclosure.href == f"https://blog.example.com/media/{name}"
    assert enclosure.type == kind == "image/png"
    assert enclosure.length == str(size)
    assert size > 0
    with client.get(enclosure.href.removeprefix("https://blog.example.com")) as served:
        assert served.status_code == 200
        assert len(served.data) == size  # the length is the file's
    xml = ET.fromstring(response.data)  # noqa: S314  (our own server's output)
    if path.endswith(".rss"):
        [element] = xml.iter("enclosure")
        assert set(element.attrib) == {"url", "length", "type"}
    else:
        [element] = (link for link in xml.iter(f"{ATOM}link") if link.get("rel") == "enclosure")
        assert element.get("href") == enclosure.href


# --- author feeds ---------------------------------------------------------------------------


def test_an_author_feed_lists_that_authors_published_posts(client: FlaskClient, make: Make) -> None:
    writer = make.user(role_name="author", username="writer")
    other = make.user(role_name="author", username="other")
    posts_in_order(make, writer, ["First", "Second"])
    make.post(author=writer, title="A draft", published=False)
    make.post(author=other, title="Not theirs", published=True)

    feed = parse(client.get("/blog/author/writer/feed.xml"), ATOM_TYPE)
    assert entry_titles(feed) == ["Second", "First"]
    self_link = feed.find(f"{ATOM}link[@rel='self']")
    assert self_link is not None
    assert self_link.get("href") == "http://localhost/blog/author/writer/feed.xml"
    page_link = feed.find(f"{ATOM}link[@rel='alternate']")
    assert page_link is not None
    assert page_link.get("href") == "http://localhost/blog/author/writer"


def test_a_deactivated_or_unknown_authors_feed_is_404(client: FlaskClient, make: Make) -> None:
    gone = make.user(role_name="author", username="gone", active=False)
    make.post(author=gone, title="Left behind", published=True)
    assert client.get("/blog/author/gone/feed.xml").status_code == 404
    assert client.get("/blog/author/nobody/feed.xml").status_code == 404


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


@pytest.mark.parametrize(
    "path",
    [
        "/feed.xml",
        "/feed.rss",
        "/blog/tag/common/feed.xml",
        "/blog/author/writer/feed.xml",
        "/sitemap.xml",
    ],
)
def test_feeds_and_sitemap_run_a_constant_number_of_queries(
    client: FlaskClient, make: Make, count_queries: Counter, path: str
) -> None:
    def measure() -> int:
        client.get(path)  # the same cache state for both measurements
        with count_queries() as queries:
            assert client.get(path).status_code == 200
        return len(queries)

    author = make.user(role_name="author", username="writer")
    make.post(author=author, published=True, tags=["Common"])
    few = measure()
    for n in range(6):
        writer = author if n % 2 else make.user(role_name="author")
        make.post(author=writer, published=True, tags=["Common", f"t{n}"])
    assert measure() == few
