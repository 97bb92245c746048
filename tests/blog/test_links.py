"""Clickable links in comments, and the site host read from ``SITE_URL``."""

from __future__ import annotations

import pytest

from penpress.blog.links import (
    SiteHost,
    absolute_links,
    add_external_rel,
    is_internal,
    linkify_comment,
)
from tests.html_dom import parse


def test_comment_urls_become_nofollow_ugc_links():
    html = linkify_comment("See https://example.org/a?b=1&c=2 and http://x.example.\nBye")
    root = parse(html)
    links = root.find_all("a")
    assert [a.attrs for a in links] == [
        {"href": "https://example.org/a?b=1&c=2", "rel": "nofollow ugc"},
        {"href": "http://x.example", "rel": "nofollow ugc"},
    ]
    assert [a.text for a in links] == ["https://example.org/a?b=1&c=2", "http://x.example"]
    assert root.text == "See https://example.org/a?b=1&c=2 and http://x.example.\nBye"


def test_comment_text_is_escaped_everywhere():
    text = '<script>alert(1)</script> & <b>bold</b> "quoted"'
    root = parse(linkify_comment(text))
    assert list(root.iter()) == []
    assert root.text == text


@pytest.mark.parametrize(
    "text",
    [
        'https://example.org/a"onmouseover="alert(1)',
        "https://example.org/a'onmouseover='alert(1)",
        "https://example.org/<img src=x onerror=alert(1)>",
        'https://example.org/a"><script>alert(1)</script>',
        "https://example.org/?q=<svg/onload=alert(1)>",
    ],
)
def test_comment_url_cannot_break_out_of_its_attribute(text):
    root = parse(linkify_comment(text))
    elements = list(root.iter())
    assert [e.tag for e in elements] == ["a"]
    (link,) = elements
    assert set(link.attrs) == {"href", "rel"}
    href = link.attrs["href"]
    assert href is not None
    # The quote or bracket is part of the URL's value, or ends it, never of the markup.
    assert href.startswith("https://example.org/")
    assert text.startswith(href)
    assert link.text == href
    assert root.text == text


@pytest.mark.parametrize(
    "text",
    [
        "javascript:alert(1)",
        "JAVASCRIPT://example.org/%0aalert(1)",
        "data:text/html,<script>alert(1)</script>",
        "www.example.org",
        "example.org",
        "//example.org/path",
        "me@example.org",
        "mailto:me@example.org",
        "ftp://example.org/file",
    ],
)
def test_only_http_and_https_urls_are_linked(text):
    root = parse(linkify_comment(text))
    assert list(root.iter()) == []
    assert root.text == text


@pytest.mark.parametrize(
    ("url", "host"),
    [
        ("https://blog.example.com", SiteHost("blog.example.com", None)),
        ("https://Blog.Example.com:443/sub/", SiteHost("blog.example.com", None)),
        ("http://blog.example.com:8080", SiteHost("blog.example.com", 8080)),
        (None, None),
        ("", None),
        ("https://", None),
        ("https://blog.example.com:99999", None),
    ],
)
def test_site_host_from_site_url(url, host):
    assert SiteHost.from_url(url) == host


def test_rel_pass_changes_only_external_link_tags():
    html = (
        '<p title="a > b &amp; &quot;c&quot;">x &amp; y &lt;z&gt; &#169; &nbsp;<br/><!-- note -->'
        '<a href="/in" title="&quot;q&quot;">in</a> <a href="https://out.example/?a=1&amp;b=2">'
        "out</a></p>"
    )
    assert add_external_rel(html, SiteHost("blog.example.com", None)) == html.replace(
        '<a href="https://out.example/?a=1&amp;b=2">',
        '<a href="https://out.example/?a=1&amp;b=2" rel="nofollow">',
    )


@pytest.mark.parametrize("href", ["https://blog.example.com:99999/", "http://[::1/x"])
def test_urls_python_cannot_split_count_as_external(href):
    assert not is_internal(href, SiteHost("blog.example.com", None))


# --- absolute addresses for feeds -----------------------------------------------------------

POST_URL = "https://blog.example.com/blog/post/hello"


@pytest.mark.parametrize(
    ("html", "expected"),
    [
        ('<a href="/blog/post/x">x</a>', '<a href="https://blog.example.com/blog/post/x">x</a>'),
        ('<a href="#fn-1">1</a>', f'<a href="{POST_URL}#fn-1">1</a>'),
        ('<a href="other">o</a>', '<a href="https://blog.example.com/blog/post/other">o</a>'),
        ('<img src="/media/a.png" alt="A &quot;b&quot;">',
         '<img src="https://blog.example.com/media/a.png" alt="A &quot;b&quot;">'),
        ('<img srcset="/m/a-400.webp 400w, /m/a-800.webp 800w" src="/m/a.webp">',
         '<img srcset="https://blog.example.com/m/a-400.webp 400w, '
         'https://blog.example.com/m/a-800.webp 800w" src="https://blog.example.com/m/a.webp">'),
        # Absolute and other-scheme addresses stay as they are; so does everything else.
        ('<a href="https://other.example/?a=1&amp;b=2">e</a>',
         '<a href="https://other.example/?a=1&amp;b=2">e</a>'),
        ('<a href="mailto:me@example.com">m</a>', '<a href="mailto:me@example.com">m</a>'),
        ("<p>1 &lt; 2 &amp; &#169;<br/><!-- c --></p>",
         "<p>1 &lt; 2 &amp; &#169;<br/><!-- c --></p>"),
    ],
)  # fmt: skip
def test_absolute_links_resolve_against_the_posts_address(html: str, expected: str) -> None:
    assert absolute_links(html, POST_URL) == expected
