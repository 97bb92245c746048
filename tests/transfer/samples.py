# ruff: noqa: E501 - XML fixtures read best on one line each
"""Realistic WordPress (WXR) and Ghost export files, generated with known contents.

The WordPress sample has 200 posts (drafts, scheduled, pending review, one private), 5
pages, a trashed post, a menu item, an attachment used as a featured image and in a
[caption] and a [gallery], threaded comments (approved, pending, spam, trash, a pingback),
categories and tags with a name in common, unicode everywhere. ``EXPECTED`` says what an
import of it must give.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from xml.sax.saxutils import escape

WXR_HEAD = """<?xml version="1.0" encoding="UTF-8" ?>
<rss version="2.0"
    xmlns:excerpt="http://wordpress.org/export/{v}/excerpt/"
    xmlns:content="http://purl.org/rss/1.0/modules/content/"
    xmlns:wfw="http://wellformedweb.org/CommentAPI/"
    xmlns:dc="http://purl.org/dc/elements/1.1/"
    xmlns:wp="http://wordpress.org/export/{v}/">
<channel>
    <title>Old blog</title>
    <link>https://old.example</link>
    <language>en-US</language>
    <wp:wxr_version>{v}</wp:wxr_version>
    <wp:base_site_url>https://old.example</wp:base_site_url>
    <wp:base_blog_url>https://old.example</wp:base_blog_url>
"""

AUTHORS = [
    ("alice", "alice@example.com", "Alice Adams"),
    ("bob smith", "bob@example.com", "Bob Smith"),
    ("jean", "jean@example.com", "Jéan Düpont"),
]
PHOTO_URL = "https://old.example/wp-content/uploads/2019/03/photo.jpg"
BASE = datetime(2019, 3, 4, 10, 0, tzinfo=UTC)
FUTURE = datetime(2031, 1, 1, 9, 0, tzinfo=UTC)


def _status(number: int) -> str:
    if number == 3:
        return "private"
    if number % 10 == 0:
        return "draft"
    if number % 50 == 5:
        return "future"
    if number % 50 == 7:
        return "pending"
    return "publish"


def _gmt(moment: datetime | None) -> str:
    return "0000-00-00 00:00:00" if moment is None else moment.strftime("%Y-%m-%d %H:%M:%S")


def _item(
    *,
    post_id: int,
    title: str,
    slug: str,
    content: str,
    status: str = "publish",
    post_type: str = "post",
    creator: str = "alice",
    when: datetime | None = None,
    categories: str = "",
    comments: str = "",
    meta: str = "",
    excerpt: str = "",
    extra: str = "",
) -> str:
    return f"""
    <item>
        <title>{escape(title)}</title>
        <link>https://old.example/?p={post_id}</link>
        <dc:creator><![CDATA[{creator}]]></dc:creator>
        <guid isPermaLink="false">https://old.example/?p={post_id}</guid>
        <content:encoded><![CDATA[{content}]]></content:encoded>
        <excerpt:encoded><![CDATA[{excerpt}]]></excerpt:encoded>
        <wp:post_id>{post_id}</wp:post_id>
        <wp:post_date><![CDATA[{_gmt(when)}]]></wp:post_date>
        <wp:post_date_gmt><![CDATA[{_gmt(when if status != "draft" else None)}]]></wp:post_date_gmt>
        <wp:post_modified_gmt><![CDATA[{_gmt(when)}]]></wp:post_modified_gmt>
        <wp:comment_status>open</wp:comment_status>
        <wp:post_name><![CDATA[{slug}]]></wp:post_name>
        <wp:status><![CDATA[{status}]]></wp:status>
        <wp:post_parent>0</wp:post_parent>
        <wp:post_type><![CDATA[{post_type}]]></wp:post_type>
        {extra}{categories}{meta}{comments}
    </item>"""


def _comment(
    comment_id: int,
    author: str,
    email: str,
    text: str,
    approved: str = "1",
    parent: int = 0,
    kind: str = "",
    when: datetime = BASE,
) -> str:
    return f"""
        <wp:comment>
            <wp:comment_id>{comment_id}</wp:comment_id>
            <wp:comment_author><![CDATA[{author}]]></wp:comment_author>
            <wp:comment_author_email><![CDATA[{email}]]></wp:comment_author_email>
            <wp:comment_date_gmt><![CDATA[{_gmt(when)}]]></wp:comment_date_gmt>
            <wp:comment_content><![CDATA[{text}]]></wp:comment_content>
            <wp:comment_approved><![CDATA[{approved}]]></wp:comment_approved>
            <wp:comment_type><![CDATA[{kind}]]></wp:comment_type>
            <wp:comment_parent>{parent}</wp:comment_parent>
        </wp:comment>"""


FIRST_POST = f"""Welcome to the <strong>new</strong> blog.
A second line of the first paragraph.

[caption id="attachment_9000" align="aligncenter" width="640"]<a href="{PHOTO_URL}"><img class="size-large wp-image-9000" src="{PHOTO_URL}" alt="A harbour" width="640" height="480" /></a> The harbour at dawn[/caption]

[gallery ids="9000"]

[embed]https://video.example/watch?v=42[/embed]

[newsletter_form list="7"]

<h2>Next steps</h2>
<ul><li>one</li><li>two</li></ul>
<script>alert("x")</script>"""


def wordpress_export(path: Path, *, version: str = "1.2") -> Path:
    parts = [WXR_HEAD.format(v=version)]
    for number, (login, email, name) in enumerate(AUTHORS, start=1):
        parts.append(f"""
    <wp:author><wp:author_id>{number}</wp:author_id><wp:author_login><![CDATA[{login}]]></wp:author_login>
    <wp:author_email><![CDATA[{email}]]></wp:author_email>
    <wp:author_display_name><![CDATA[{name}]]></wp:author_display_name></wp:author>""")
    parts.append("""
    <wp:category><wp:term_id>1</wp:term_id><wp:category_nicename><![CDATA[news]]></wp:category_nicename><wp:cat_name><![CDATA[News]]></wp:cat_name></wp:category>
    <wp:category><wp:term_id>2</wp:term_id><wp:category_nicename><![CDATA[cafe-culture]]></wp:category_nicename><wp:cat_name><![CDATA[Café & Culture]]></wp:cat_name></wp:category>
    <wp:category><wp:term_id>3</wp:term_id><wp:category_nicename><![CDATA[travel]]></wp:category_nicename><wp:cat_name><![CDATA[Travel]]></wp:cat_name></wp:category>
    <wp:tag><wp:term_id>4</wp:term_id><wp:tag_slug><![CDATA[python]]></wp:tag_slug><wp:tag_name><![CDATA[python]]></wp:tag_name></wp:tag>
    <wp:tag><wp:term_id>5</wp:term_id><wp:tag_slug><![CDATA[%c3%bcber]]></wp:tag_slug><wp:tag_name><![CDATA[Über]]></wp:tag_name></wp:tag>
    <wp:tag><wp:term_id>6</wp:term_id><wp:tag_slug><![CDATA[news-2]]></wp:tag_slug><wp:tag_name><![CDATA[News]]></wp:tag_name></wp:tag>""")
    for number in range(1, 201):
        status = _status(number)
        when = (
            FUTURE + timedelta(days=number) if status == "future" else BASE + timedelta(days=number)
        )
        login = AUTHORS[number % 3][0]
        categories = (
            '<category domain="category" nicename="news"><![CDATA[News]]></category>'
            if number % 2
            else '<category domain="category" nicename="travel"><![CDATA[Travel]]></category>'
        )
        if number % 3 == 0:
            categories += (
                '<category domain="post_tag" nicename="python"><![CDATA[python]]></category>'
            )
        if number == 2:
            categories += (
                '<category domain="post_tag" nicename="news-2"><![CDATA[News]]></category>'
                '<category domain="post_tag" nicename="%c3%bcber"><![CDATA[Über]]></category>'
                '<category domain="category" nicename="cafe-culture"><![CDATA[Café &amp; Culture]]></category>'
            )
        comments = ""
        if number == 1:
            comments = (
                _comment(1, "Reader One", "r1@example.com", "Great <em>post</em>!")
                + _comment(2, "Alice Adams", "alice@example.com", "Thank you.", parent=1)
                + _comment(3, "Reader Two", "r2@example.com", "Is it?", "0", parent=2)
                + _comment(4, "Buy pills", "spam@example.com", "cheap", "spam")
                + _comment(5, "Other blog", "", "linked you", kind="pingback")
                + _comment(6, "Troll", "troll@example.com", "meh", "trash")
            )
        elif 2 <= number <= 41:
            k = number % 5
            comments = _comment(
                100 + number, f"Reader {k}", f"reader{k}@example.com", f"Nice one, n°{number} ✓"
            )
        title = "Ünïcödé — 日本語 😀" if number == 2 else f"Post number {number}"
        content = (
            FIRST_POST
            if number == 1
            else f"Paragraph one of post {number}.\n\nParagraph two, *with* <em>HTML</em>."
        )
        meta = (
            "<wp:postmeta><wp:meta_key><![CDATA[_thumbnail_id]]></wp:meta_key>"
            "<wp:meta_value><![CDATA[9000]]></wp:meta_value></wp:postmeta>"
            if number == 1
            else ""
        )
        slug = "" if status == "draft" and number % 20 == 0 else f"post-{number}"
        if number == 2:
            slug = "%c3%bcnic%c3%b6de"
        parts.append(
            _item(
                post_id=number,
                title=title,
                slug=slug,
                content=content,
                status=status,
                creator=login,
                when=when,
                categories=categories,
                comments=comments,
                meta=meta,
                excerpt="A short excerpt." if number == 1 else "",
            )
        )
    for number, slug in enumerate(["about", "contact", "colophon", "privacy", "%c3%bcber-uns"]):
        parts.append(
            _item(
                post_id=1001 + number,
                title=f"Page {slug}",
                slug=slug,
                content=f"This is the {slug} page.",
                post_type="page",
                when=BASE,
            )
        )
    parts.append(_item(post_id=500, title="Gone", slug="gone", content="x", status="trash"))
    parts.append(
        _item(post_id=600, title="Menu", slug="menu-1", content="", post_type="nav_menu_item")
    )
    parts.append(
        _item(
            post_id=9000,
            title="photo",
            slug="photo",
            content="",
            status="inherit",
            post_type="attachment",
            extra=f"<wp:attachment_url><![CDATA[{PHOTO_URL}]]></wp:attachment_url>",
        )
    )
    parts.append("\n</channel>\n</rss>\n")
    path.write_text("".join(parts), encoding="utf-8")
    return path


@dataclass(frozen=True)
class Expected:
    posts: int = 200
    pages: int = 5
    published: int = 175  # 171 "publish" and 4 "future" (scheduled)
    scheduled: int = 4
    drafts: int = 21  # 20 drafts and 1 private
    submitted: int = 4
    tags: int = 5  # news, cafe-culture, travel, python, uber ("News" the tag is the category)
    authors: int = 3
    readers: int = 7  # Reader One, Reader Two, Reader 0..4 (Alice's reply is by her account)
    comments: int = 43  # 3 on post 1 (spam, trash, pingback left out) and 40 others
    pending_comments: int = 1
    # /?p= for the 200 posts; a dated path for the 175 published ones; /?page_id= and /slug/
    # for the 5 pages.
    redirects: int = 385


EXPECTED = Expected()

BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol9 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
]>
<rss version="2.0" xmlns:wp="http://wordpress.org/export/1.2/"><channel>
<wp:wxr_version>1.2</wp:wxr_version><item><title>&lol9;</title></item></channel></rss>
"""


# --- Ghost ---------------------------------------------------------------------------------

GHOST_USERS = [
    ("u1", "Zoë Ünal", "zoe", "zoe@example.com"),
    ("u2", "Sam Writer", "sam", "sam@example.com"),
    ("u3", "Kim", "kim", "kim@example.com"),
]
GHOST_TAGS = [
    ("t1", "Getting Started", "getting-started"),
    ("t2", "Café", "cafe"),
    ("t3", "Python", "python"),
    ("t4", "Travel", "travel"),
    ("t5", "日本", "ri-ben"),
    ("t6", "#hidden", "hash-hidden"),
]


GHOST_IMAGE = "__GHOST_URL__/content/images/2019/03/ghost.png"


def _mobiledoc(markdown: str) -> str:
    return json.dumps(
        {
            "version": "0.3.1",
            "atoms": [],
            "markups": [],
            "cards": [["markdown", {"markdown": markdown}]],
            "sections": [[10, 0]],
        }
    )


def _lexical(number: int) -> str:
    def text(value: str, fmt: int = 0) -> dict[str, object]:
        return {"type": "text", "text": value, "format": fmt}

    return json.dumps(
        {
            "root": {
                "type": "root",
                "children": [
                    {"type": "heading", "tag": "h2", "children": [text(f"Lexical {number}")]},
                    {
                        "type": "paragraph",
                        "children": [
                            text("Some "),
                            text("bold", 1),
                            text(" and a "),
                            {
                                "type": "link",
                                "url": "https://example.org/",
                                "children": [text("link")],
                            },
                        ],
                    },
                    {
                        "type": "list",
                        "listType": "bullet",
                        "children": [
                            {"type": "listitem", "children": [text("first")]},
                            {"type": "listitem", "children": [text("second")]},
                        ],
                    },
                    {"type": "markdown", "markdown": "A *markdown* card."},
                    {
                        "type": "image",
                        "src": "https://ghost.example/content/images/x.png",
                        "alt": "X",
                        "caption": "An x",
                    },
                ],
            }
        }
    )


def _ghost_status(number: int) -> str:
    if number % 10 == 0:
        return "draft"
    if number % 50 == 5:
        return "scheduled"
    return "published"


def ghost_export(path: Path, *, version: str = "5.75.0", duplicate: bool = False) -> Path:
    posts: list[dict[str, object]] = []
    posts_tags: list[dict[str, object]] = []
    posts_authors: list[dict[str, object]] = []
    for number in range(1, 201):
        status = _ghost_status(number)
        when = (FUTURE if status == "scheduled" else BASE) + timedelta(days=number)
        post: dict[str, object] = {
            "id": f"p{number}",
            "uuid": f"uuid-{number}",
            "title": "Ghost ünïcode 😀" if number == 1 else f"Ghost post {number}",
            "slug": "ghost-post-1" if duplicate and number == 2 else f"ghost-post-{number}",
            "type": "post",
            "status": status,
            "created_at": (BASE + timedelta(days=number)).strftime("%Y-%m-%dT%H:%M:%S.000Z"),
            "updated_at": (BASE + timedelta(days=number)).strftime("%Y-%m-%dT%H:%M:%S.000Z"),
            "published_at": None if status == "draft" else when.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
            "custom_excerpt": f"Excerpt {number}" if number % 4 == 0 else None,
            "feature_image": GHOST_IMAGE
            if number == 14
            else f"https://ghost.example/content/images/{number}.jpg"
            if number % 7 == 0
            else None,
        }
        if number <= 60:
            post["mobiledoc"] = _mobiledoc(f"# Heading {number}\n\nMarkdown **body** {number}.")
        elif number <= 120:
            post["html"] = f"<p>HTML body {number} <script>alert(1)</script><em>ok</em></p>"
            if number == 61:
                post["html"] += f'<p><img src="{GHOST_IMAGE}" alt="Own"></p>'
        else:
            post["lexical"] = _lexical(number)
        posts.append(post)
        posts_authors.append(
            {"post_id": f"p{number}", "author_id": f"u{number % 3 + 1}", "sort_order": 0}
        )
        posts_tags.append(
            {"post_id": f"p{number}", "tag_id": f"t{number % 5 + 1}", "sort_order": 0}
        )
        if number % 6 == 0:
            posts_tags.append({"post_id": f"p{number}", "tag_id": "t6", "sort_order": 1})
    for number, slug in enumerate(["about", "contact", "team", "privacy", "terms"], start=1):
        posts.append(
            {
                "id": f"page{number}",
                "title": f"Page {slug}",
                "slug": slug,
                "type": "page",
                "status": "published",
                "html": f"<p>The {slug} page.</p>",
                "created_at": BASE.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
                "updated_at": BASE.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
                "published_at": BASE.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
            }
        )
        posts_authors.append({"post_id": f"page{number}", "author_id": "u1", "sort_order": 0})
    posts.append(
        {
            "id": "sent1",
            "title": "Email only",
            "slug": "email-only",
            "type": "post",
            "status": "sent",
            "html": "<p>x</p>",
        }
    )
    document = {
        "db": [
            {
                "meta": {"exported_on": 1700000000000, "version": version},
                "data": {
                    "posts": posts,
                    "tags": [
                        {
                            "id": i,
                            "name": n,
                            "slug": s,
                            "visibility": "internal" if n.startswith("#") else "public",
                        }
                        for i, n, s in GHOST_TAGS
                    ],
                    "posts_tags": posts_tags,
                    "users": [
                        {
                            "id": i,
                            "name": n,
                            "slug": s,
                            "email": e,
                            "bio": f"Bio of {n}",
                            "status": "active",
                        }
                        for i, n, s, e in GHOST_USERS
                    ],
                    "posts_authors": posts_authors,
                },
            }
        ]
    }
    path.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
    return path


@dataclass(frozen=True)
class GhostExpected:
    posts: int = 200  # the email-only ("sent") post is left out
    pages: int = 5
    drafts: int = 20
    published: int = 180  # 176 published, 4 scheduled
    tags: int = 5  # the internal #hidden tag is left out
    users: int = 3


GHOST_EXPECTED = GhostExpected()
