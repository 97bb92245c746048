"""Atom and RSS 2.0 feeds and the sitemap, built with :mod:`xml.etree` so every value is
escaped.

Links are absolute, under ``SITE_URL`` (see :func:`penpress.http.external_url`), like the
links in emails; so are the links and images inside each post's content, which a feed reader
shows away from the site (:func:`penpress.blog.links.absolute_links`).

A post's featured image, when it was uploaded here, travels as an enclosure (RSS
``<enclosure>``, Atom ``<link rel="enclosure">``), the picture readers show beside an entry.
A hot-linked featured image (``featured_image_url``) does not: an enclosure must state its
size and type, which only the site's own files are known to have.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from email.utils import format_datetime
from xml.etree import ElementTree as ET  # noqa: N817  (only builds documents, never parses)

from flask import Response

from penpress.blog.links import absolute_links
from penpress.blog.models import Post
from penpress.database import utcnow
from penpress.http import external_url
from penpress.media import urls as media_urls

ATOM_NS = "http://www.w3.org/2005/Atom"
CONTENT_NS = "http://purl.org/rss/1.0/modules/content/"  # RSS: <content:encoded>
DC_NS = "http://purl.org/dc/elements/1.1/"  # RSS: <dc:creator>, an author without an email
SITEMAP_NS = "http://www.sitemaps.org/schemas/sitemap/0.9"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
ATOM_TYPE = "application/atom+xml"
RSS_TYPE = "application/rss+xml"
SITEMAP_TYPE = "application/xml"
FEED_SIZE = 20  # entries in a feed
SITEMAP_MAX_URLS = 50_000  # the sitemap protocol's limit per file
# How long readers and proxies may keep a feed or the sitemap: a minute, so a scheduled post
# shows in them within a minute of its time, whatever caches in front.
CACHE_SECONDS = 60


def _stamp(moment: datetime) -> str:
    """RFC 3339 in UTC, as Atom and sitemaps want it."""
    return moment.isoformat(timespec="seconds")


def _rfc822(moment: datetime) -> str:
    """RFC 822 dates, as RSS 2.0 wants them (``Mon, 30 Nov 2026 09:00:00 +0000``)."""
    return format_datetime(moment)


def _content(post: Post, link: str) -> str:
    """The post's sanitized HTML with absolute links and image addresses."""
    return absolute_links(post.body_html, link)


def _enclosure(post: Post) -> dict[str, str] | None:
    """The featured image's absolute address, size in bytes and type, if it is an upload."""
    image = post.featured_image
    if image is None:
        return None
    return {
        "url": media_urls.file_url(image.name),
        "length": str(image.byte_size),
        "type": image.content_type,
    }


def _xml_response(root: ET.Element, mimetype: str) -> Response:
    body = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    response = Response(body, content_type=f"{mimetype}; charset=utf-8")
    response.headers["Cache-Control"] = f"public, max-age={CACHE_SECONDS}"
    return response


def _text(parent: ET.Element, tag: str, text: str, **attributes: str) -> ET.Element:
    child = ET.SubElement(parent, tag, attributes)
    child.text = text
    return child


def atom_feed(
    title: str,
    self_url: str,
    page_url: str,
    posts: Sequence[Post],
    *,
    subtitle: str = "",
    language: str | None = None,
) -> Response:
    """An Atom feed of ``posts`` (published ones, with authors and tags loaded); ``subtitle``
    (the site's tagline) and ``language`` (a BCP 47 tag, as ``xml:lang``) when given."""
    ET.register_namespace("", ATOM_NS)

    def atom(tag: str) -> str:
        return f"{{{ATOM_NS}}}{tag}"

    feed = ET.Element(atom("feed"), {XML_LANG: language} if language else {})
    _text(feed, atom("title"), title)
    if subtitle:
        _text(feed, atom("subtitle"), subtitle)
    _text(feed, atom("id"), self_url)
    ET.SubElement(feed, atom("link"), {"rel": "self", "href": self_url, "type": ATOM_TYPE})
    ET.SubElement(feed, atom("link"), {"rel": "alternate", "href": page_url, "type": "text/html"})
    _text(feed, atom("updated"), _stamp(max((p.updated_at for p in posts), default=utcnow())))
    _text(feed, atom("generator"), "Penpress")
    for post in posts:
        link = external_url("blog.post", slug=post.slug)
        entry = ET.SubElement(feed, atom("entry"))
        _text(entry, atom("title"), post.title)
        _text(entry, atom("id"), link)
        ET.SubElement(entry, atom("link"), {"rel": "alternate", "href": link, "type": "text/html"})
        _text(entry, atom("published"), _stamp(post.shown_at))
        _text(entry, atom("updated"), _stamp(post.updated_at))
        author = ET.SubElement(entry, atom("author"))
        _text(author, atom("name"), post.author.username)
        _text(author, atom("uri"), external_url("blog.author", username=post.author.username))
        if enclosure := _enclosure(post):
            ET.SubElement(
                entry,
                atom("link"),
                {
                    "rel": "enclosure",
                    "href": enclosure["url"],
                    "type": enclosure["type"],
                    "length": enclosure["length"],
                },
            )
        for tag in post.tags:
            ET.SubElement(entry, atom("category"), {"term": tag.name})
        if post.summary:
            _text(entry, atom("summary"), post.summary)
        # The sanitised HTML of the post, escaped as text (type="html"), never raw markup.
        _text(entry, atom("content"), _content(post, link), type="html")
    return _xml_response(feed, ATOM_TYPE)


def rss_feed(
    title: str, description: str, self_url: str, page_url: str, posts: Sequence[Post]
) -> Response:
    """An RSS 2.0 feed of ``posts`` (published ones, with authors and tags loaded): the
    summary as ``<description>``, the whole post in ``<content:encoded>``."""
    ET.register_namespace("atom", ATOM_NS)
    ET.register_namespace("content", CONTENT_NS)
    ET.register_namespace("dc", DC_NS)
    root = ET.Element("rss", {"version": "2.0"})
    channel = ET.SubElement(root, "channel")
    _text(channel, "title", title)
    _text(channel, "link", page_url)
    _text(channel, "description", description)
    ET.SubElement(
        channel, f"{{{ATOM_NS}}}link", {"rel": "self", "href": self_url, "type": RSS_TYPE}
    )
    _text(channel, "lastBuildDate", _rfc822(max((p.updated_at for p in posts), default=utcnow())))
    _text(channel, "generator", "Penpress")
    for post in posts:
        link = external_url("blog.post", slug=post.slug)
        item = ET.SubElement(channel, "item")
        _text(item, "title", post.title)
        _text(item, "link", link)
        _text(item, "guid", link, isPermaLink="true")
        _text(item, "pubDate", _rfc822(post.shown_at))
        _text(item, f"{{{DC_NS}}}creator", post.author.username)
        for tag in post.tags:
            _text(item, "category", tag.name)
        if enclosure := _enclosure(post):
            ET.SubElement(item, "enclosure", enclosure)
        content = _content(post, link)
        _text(item, "description", post.summary or content)
        _text(item, f"{{{CONTENT_NS}}}encoded", content)
    return _xml_response(root, RSS_TYPE)


def sitemap(
    pages: Iterable[str],
    posts: Iterable[tuple[str, datetime]],
    tags: Iterable[str],
    authors: Iterable[tuple[str, datetime]],
    static_pages: Iterable[tuple[str, datetime | None]] = (),
) -> Response:
    """A sitemap: the site's own pages, static pages, published posts, tags in use and their
    authors."""
    ET.register_namespace("", SITEMAP_NS)

    def add(location: str, changed: datetime | None = None) -> None:
        entry = ET.SubElement(root, f"{{{SITEMAP_NS}}}url")
        _text(entry, f"{{{SITEMAP_NS}}}loc", location)
        if changed is not None:
            _text(entry, f"{{{SITEMAP_NS}}}lastmod", _stamp(changed))

    root = ET.Element(f"{{{SITEMAP_NS}}}urlset")
    for endpoint in pages:
        add(external_url(endpoint))
    for slug, changed in static_pages:
        add(external_url("main.page", page_slug=slug), changed)
    for slug, changed in posts:
        add(external_url("blog.post", slug=slug), changed)
    for slug in tags:
        add(external_url("blog.tag", slug=slug))
    for username, changed in authors:
        add(external_url("blog.author", username=username), changed)
    return _xml_response(root, SITEMAP_TYPE)
