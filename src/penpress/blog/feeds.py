"""Atom feeds and the sitemap, built with :mod:`xml.etree` so every value is escaped.

Links are absolute, under ``SITE_URL`` (see :func:`penpress.http.external_url`), like the
links in emails.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from xml.etree import ElementTree as ET  # noqa: N817  (only builds documents, never parses)

from flask import Response

from penpress.blog.models import Post
from penpress.database import utcnow
from penpress.http import external_url

ATOM_NS = "http://www.w3.org/2005/Atom"
SITEMAP_NS = "http://www.sitemaps.org/schemas/sitemap/0.9"
ATOM_TYPE = "application/atom+xml"
SITEMAP_TYPE = "application/xml"
FEED_SIZE = 20  # entries in a feed
SITEMAP_MAX_URLS = 50_000  # the sitemap protocol's limit per file
# How long readers and proxies may keep a feed or the sitemap: a minute, so a scheduled post
# shows in them within a minute of its time, whatever caches in front.
CACHE_SECONDS = 60


def _stamp(moment: datetime) -> str:
    """RFC 3339 in UTC, as Atom and sitemaps want it."""
    return moment.isoformat(timespec="seconds")


def _xml_response(root: ET.Element, mimetype: str) -> Response:
    body = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    response = Response(body, content_type=f"{mimetype}; charset=utf-8")
    response.headers["Cache-Control"] = f"public, max-age={CACHE_SECONDS}"
    return response


def _text(parent: ET.Element, tag: str, text: str, **attributes: str) -> ET.Element:
    child = ET.SubElement(parent, tag, attributes)
    child.text = text
    return child


def atom_feed(title: str, self_url: str, page_url: str, posts: Sequence[Post]) -> Response:
    """An Atom feed of ``posts`` (published ones, with authors and tags loaded)."""
    ET.register_namespace("", ATOM_NS)

    def atom(tag: str) -> str:
        return f"{{{ATOM_NS}}}{tag}"

    feed = ET.Element(atom("feed"))
    _text(feed, atom("title"), title)
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
        for tag in post.tags:
            ET.SubElement(entry, atom("category"), {"term": tag.name})
        if post.summary:
            _text(entry, atom("summary"), post.summary)
        # The sanitised HTML of the post, escaped as text (type="html"), never raw markup.
        _text(entry, atom("content"), post.body_html, type="html")
    return _xml_response(feed, ATOM_TYPE)


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
