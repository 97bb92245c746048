"""Script-injection vectors through every front door and every field that is rendered, checked
on the parsed pages (html5lib parses as browsers do), not by looking for substrings.

Each vector goes in through create and edit on the website, /api/v1 and Conduit (posts),
through each door's comment, and through each door's profile (bio); then the post page, the
list, the author page and the Atom feed's HTML content are parsed and must hold no script of
the writer's: no event handler or ``style`` attribute, no URL with a scheme other than http(s)
or mailto, no svg/math/iframe/object/embed/style/base/form element, no inline script.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from typing import Any

import html5lib
import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from penpress.accounts import tokens
from penpress.accounts.models import User
from penpress.blog.models import Comment, Page, Post, Tag, post_tags
from penpress.blog.services import pages as site_pages
from penpress.extensions import db
from tests.conftest import Make

# Routes, roles and markup: the same on either database, so once (on the SQLite pass).
pytestmark = pytest.mark.any_database

CONDUIT = "/realworld/api"
ATOM = "{http://www.w3.org/2005/Atom}"

VECTORS = {
    "img-javascript": '<img src="javascript:alert(1)" alt="x">',
    "img-onerror-unquoted": "<img src=x onerror=alert(1)>",
    "a-single-quoted": "<a href='javascript:alert(1)'>x</a>",
    "a-unquoted": "<a href=javascript:alert(1)>x</a>",
    "a-mixed-case": '<a href="JaVaScRiPt:alert(1)">x</a>',
    "a-decimal-entities": '<a href="&#106;&#97;vascript:alert(1)">x</a>',
    "a-hex-entities": '<a href="&#x6A;avascript&#x3A;alert(1)">x</a>',
    "a-tab-in-scheme": '<a href="java&#x09;script:alert(1)">x</a>',
    "a-leading-space": '<a href="  javascript:alert(1)">x</a>',
    "a-data-html": '<a href="data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==">x</a>',
    "img-data-svg": '<img src="data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+" alt="">',
    "a-vbscript": '<a href="vbscript:msgbox(1)">x</a>',
    "a-vbscript-upper": "<a href='VBScript:msgbox(1)'>x</a>",
    "svg-onload": "<svg onload=alert(1)><circle r=1 /></svg>",
    "svg-script": "<svg><script>alert(1)</script></svg>",
    "math-href": '<math><mi xlink:href="javascript:alert(1)">x</mi></math>',
    "iframe": '<iframe src="https://evil.example/"></iframe>',
    "iframe-srcdoc": '<iframe srcdoc="<script>alert(1)</script>"></iframe>',
    "style-element": "<style>body { display: none }</style>",
    "style-attribute": '<p style="background:url(javascript:alert(1))">x</p>',
    "div-onclick": '<div onclick="alert(1)">x</div>',
    "details-ontoggle": "<details open ontoggle=alert(1)><summary>x</summary></details>",
    "script": "<script>alert(1)</script>",
    "object": '<object data="javascript:alert(1)"></object>',
    "embed": '<embed src="javascript:alert(1)">',
    "base": '<base href="javascript:alert(1)//">',
    "form-action": '<form action="javascript:alert(1)"><button>x</button></form>',
    "noscript-mxss": '<noscript><p title="</noscript><img src=x onerror=alert(1)>">',
    "markdown-link": "[x](javascript:alert(1))",
    "markdown-image": "![x](javascript:alert(1))",
    "markdown-autolink": "<javascript:alert(1)>",
    "markdown-reference": "[x][1]\n\n[1]: vbscript:msgbox(1)",
    "input-onfocus": "<input autofocus onfocus=alert(1)>",
    "meta-refresh": '<meta http-equiv="refresh" content="0;url=javascript:alert(1)">',
}
# Every vector at once, for fields shown as text (titles, summaries, comments, bios): they must
# come out escaped, whatever they hold.
ALL_AT_ONCE = " ".join(VECTORS.values())

URL_ATTRIBUTES = {"href", "src", "action", "formaction", "data", "xlink:href", "background",
                  "poster", "srcdoc", "srcset", "cite", "ping"}  # fmt: skip
FORBIDDEN_ELEMENTS = {"svg", "math", "iframe", "object", "embed", "style", "base", "frame",
                      "frameset", "applet", "template", "noscript"}  # fmt: skip
SAFE_SCHEMES = {"http", "https", "mailto"}
SCHEME = re.compile(r"^([a-z][a-z0-9+.\-]*):")
# What a browser ignores in a URL before reading its scheme (WHATWG URL: C0 controls and
# space at the ends, tabs and newlines anywhere).
STRIPPED = re.compile(r"[\x00-\x20]")


def unsafe_markup(html: str, *, fragment: bool = False) -> list[str]:
    """What in ``html``, parsed as a browser would, could run a script or restyle the page."""
    parser = html5lib.HTMLParser(namespaceHTMLElements=False)
    tree = parser.parseFragment(html) if fragment else parser.parse(html)
    problems = []
    for element in tree.iter():
        if not isinstance(element.tag, str):
            continue  # a comment
        tag = element.tag.rpartition("}")[2].lower()
        if tag in FORBIDDEN_ELEMENTS:
            problems.append(f"<{tag}>")
        if tag == "script" and (element.text or "").strip():
            problems.append("inline <script>")
        if tag == "script" and not (element.get("src") or "").startswith("/static/"):
            problems.append(f"<script src={element.get('src')!r}>")
        if tag == "meta" and (element.get("http-equiv") or "").lower() == "refresh":
            problems.append("<meta http-equiv=refresh>")
        for raw_name, value in element.attrib.items():
            name = raw_name.rpartition("}")[2].lower() if "}" in raw_name else raw_name.lower()
            if raw_name.startswith("{http://www.w3.org/1999/xlink}"):
                name = "xlink:href" if name == "href" else name
            if name.startswith("on"):
                problems.append(f"<{tag} {name}>")
            if name == "style":
                problems.append(f"<{tag} style>")
            if name in URL_ATTRIBUTES:
                scheme = SCHEME.match(STRIPPED.sub("", value).lower())
                if scheme and scheme.group(1) not in SAFE_SCHEMES:
                    problems.append(f"<{tag} {name}={value!r}>")
    return problems


def shown(html: str, value: str) -> bool:
    """Whether ``value`` reaches the parsed page as text or as an attribute's value (spaces
    normalised): the control that the field under test is on the page at all."""
    tree = html5lib.HTMLParser(namespaceHTMLElements=False).parse(html)
    pieces: list[str] = []
    for element in tree.iter():
        pieces.extend([element.text or "", element.tail or "", *element.attrib.values()])
    wanted = " ".join(value.split())
    return any(wanted in " ".join(piece.split()) for piece in pieces)


def test_the_checker_finds_what_it_looks_for() -> None:
    """The control: each vector, unsanitized, is found (so a clean page means something)."""
    missed = [
        name
        for name, vector in VECTORS.items()
        if not name.startswith("markdown-") and not unsafe_markup(vector, fragment=True)
    ]
    assert missed == []
    assert unsafe_markup("<p>Plain <a href='/blog/'>text</a></p>", fragment=True) == []


# --- sending through the doors ----------------------------------------------------------------


def headers_for(app: Flask, door: str, user: Any, client: FlaskClient) -> dict[str, str]:
    """Log ``user`` in the way the door's clients do."""
    if door == "site":
        form = {"email": user.email, "password": "correct-horse-battery"}
        assert client.post("/auth/login", data=form).status_code == 303
        return {}
    with app.app_context():
        found = db.session.get_one(User, user.id)
        if door == "api":
            header = f"Bearer {tokens.issue_token_pair(found).access_token}"
        else:
            header = f"Token {tokens.issue_realworld_token(found)}"
        db.session.commit()
    return {"Authorization": header}


POST_FIELDS = ("title", "summary", "body", "tags")
DOORS = ("site", "api", "conduit")
OK = {("site", "create"): 303, ("site", "edit"): 303, ("api", "create"): 201,
      ("api", "edit"): 200, ("conduit", "create"): 201, ("conduit", "edit"): 200}  # fmt: skip


def post_request(door: str, post: Any | None, values: dict[str, str]) -> tuple[str, str, Any]:
    """(method, path, payload) creating a post (``post`` None) or editing ``post``."""
    if door == "site":
        form = values | {"published": "y"}
        return "POST", "/blog/create" if post is None else f"/blog/edit/{post.id}", form
    if door == "api":
        body: dict[str, Any] = {k: v for k, v in values.items() if k != "tags"}
        body["tags"] = [values["tags"]] if values.get("tags") else []
        if post is None:
            return "POST", "/api/v1/posts", body | {"published": True}
        return "PATCH", f"/api/v1/posts/{post.slug}", body
    article: dict[str, Any] = {
        "title": values["title"],
        "description": values["summary"],
        "body": values["body"],
        "tagList": [values["tags"]] if values.get("tags") else [],
    }
    if post is None:
        return "POST", f"{CONDUIT}/articles", {"article": article}
    return "PUT", f"{CONDUIT}/articles/{post.slug}", {"article": article}


def send(client: FlaskClient, method: str, path: str, payload: Any, headers: dict[str, str]) -> Any:
    if isinstance(payload, dict) and not path.startswith(("/api/", CONDUIT)):
        return client.open(path, method=method, data=payload, headers=headers)
    return client.open(path, method=method, json=payload, headers=headers)


def pages_of(client: FlaskClient, app: Flask, post_id: int) -> dict[str, str]:
    """The HTML of every place the post's fields are shown (the feed's entry content too)."""
    with app.app_context():
        post = db.session.get_one(Post, post_id)
        slug = post.slug
        author = db.session.scalar(select(User.username).where(User.id == post.author_id))
        tag_slugs = list(
            db.session.scalars(
                select(Tag.slug).join(post_tags).where(post_tags.c.post_id == post_id)
            )
        )
    pages = {
        "post page": f"/blog/post/{slug}",
        "list": "/blog/",
        "author page": f"/blog/author/{author}",
        **{f"tag page {s}": f"/blog/tag/{s}" for s in tag_slugs},
    }
    found = {}
    for name, path in pages.items():
        response = client.get(path)
        assert response.status_code == 200, (name, path)
        found[name] = response.get_data(as_text=True)
    feed = client.get("/feed.xml")
    assert feed.status_code == 200
    root = ET.fromstring(feed.data)  # noqa: S314  (our own server's output)
    for entry in root.iter(f"{ATOM}entry"):
        content = entry.find(f"{ATOM}content")
        if content is not None and content.text:
            found["feed content"] = found.get("feed content", "") + content.text
    return found


def assert_pages_safe(client: FlaskClient, app: Flask, post_id: int) -> None:
    reader = client.application.test_client()  # a visitor sees the same pages
    for name, html in pages_of(reader, app, post_id).items():
        assert unsafe_markup(html, fragment=name == "feed content") == [], name
    with app.app_context():
        stored = db.session.get_one(Post, post_id).body_html
    assert unsafe_markup(stored, fragment=True) == []


@pytest.mark.parametrize("vector", sorted(VECTORS))
@pytest.mark.parametrize("action", ["create", "edit"])
@pytest.mark.parametrize("door", DOORS)
def test_a_post_body_vector_is_neutralised(
    app: Flask, make: Make, door: str, action: str, vector: str
) -> None:
    author = make.user(role_name="author")
    post = None if action == "create" else make.post(author=author, title="Before")
    client = app.test_client()
    headers = headers_for(app, door, author, client)
    values = {"title": "Vector", "summary": "Short.", "body": VECTORS[vector], "tags": "safe"}
    response = send(client, *post_request(door, post, values), headers)
    assert response.status_code == OK[(door, action)], response.get_data(as_text=True)[:500]
    with app.app_context():
        saved = db.session.scalar(select(Post).where(Post.title == "Vector"))
        assert saved is not None
        assert saved.body == VECTORS[vector]  # kept as written; only the HTML is cleaned
        post_id = saved.id
    assert_pages_safe(client, app, post_id)


# Conduit's articles have no meta fields and no featured image.
TEXT_FIELDS = [
    (door, field)
    for door in DOORS
    for field in (
        "title",
        "summary",
        "tags",
        "meta_title",
        "meta_description",
        "featured_image_alt",
    )
    if door != "conduit" or field in ("title", "summary", "tags")
]


@pytest.mark.parametrize("action", ["create", "edit"])
@pytest.mark.parametrize(("door", "field"), TEXT_FIELDS)
def test_text_fields_are_escaped(
    app: Flask, make: Make, door: str, action: str, field: str
) -> None:
    author = make.user(role_name="author")
    post = None if action == "create" else make.post(author=author, title="Before")
    client = app.test_client()
    headers = headers_for(app, door, author, client)
    values = {"title": "Vector", "summary": "Short.", "body": "Text.", "tags": "safe"}
    # Tags are short names: one vector, with the markup characters a tag could carry.
    values[field] = '<svg onload=alert(1)>"x' if field == "tags" else ALL_AT_ONCE[:200]
    if field == "featured_image_alt":  # shown with its image only
        values["featured_image"] = "https://images.example.com/picture.png"
    response = send(client, *post_request(door, post, values), headers)
    assert response.status_code == OK[(door, action)], response.get_data(as_text=True)[:500]
    with app.app_context():
        saved = db.session.scalar(select(Post).order_by(Post.id.desc()))
        assert saved is not None
        post_id = saved.id
        slug = saved.slug
    assert_pages_safe(client, app, post_id)
    page = app.test_client().get(f"/blog/post/{slug}")
    assert page.status_code == 200
    assert shown(page.get_data(as_text=True), values[field].strip())  # kept as written


def comment_request(door: str, post: Any, body: str) -> tuple[str, str, Any]:
    if door == "site":
        return "POST", f"/blog/post/{post.slug}/comment", {"body": body}
    if door == "api":
        return "POST", f"/api/v1/posts/{post.slug}/comments", {"body": body}
    return "POST", f"{CONDUIT}/articles/{post.slug}/comments", {"comment": {"body": body}}


@pytest.mark.parametrize("door", DOORS)
def test_a_comment_is_escaped_and_its_links_are_safe(app: Flask, make: Make, door: str) -> None:
    post = make.post(author=make.user(role_name="author"), title="Commented")
    moderator = make.user(role_name="moderator")  # shown at once, without approval
    client = app.test_client()
    headers = headers_for(app, door, moderator, client)
    body = ALL_AT_ONCE[:1900] + " javascript:alert(1) https://example.com/ok"
    response = send(client, *comment_request(door, post, body), headers)
    assert response.status_code == {"site": 303, "api": 201, "conduit": 200}[door]
    with app.app_context():
        assert db.session.scalars(select(Comment.body)).all() == [body]
    page = app.test_client().get(f"/blog/post/{post.slug}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert unsafe_markup(html) == []
    # The http(s) addresses in the comment became links; the javascript: text did not.
    parser = html5lib.HTMLParser(namespaceHTMLElements=False)
    comment_links = [
        a.get("href")
        for p in parser.parse(html).iter("p")
        if "comment-body" in (p.get("class") or "")
        for a in p.iter("a")
    ]
    assert comment_links == ["https://evil.example/", "https://example.com/ok"]


def profile_request(door: str, bio: str) -> tuple[str, str, Any]:
    if door == "site":
        return "POST", "/auth/profile", {"bio": bio}
    if door == "api":
        return "PATCH", "/api/v1/me", {"bio": bio}
    return "PUT", f"{CONDUIT}/user", {"user": {"bio": bio}}


@pytest.mark.parametrize("door", DOORS)
def test_a_bio_is_escaped(app: Flask, make: Make, door: str) -> None:
    author = make.user(role_name="author", username="biographer")
    make.post(author=author, title="By the biographer")
    client = app.test_client()
    headers = headers_for(app, door, author, client)
    bio = ALL_AT_ONCE[:500]
    response = send(client, *profile_request(door, bio), headers)
    assert response.status_code == {"site": 303, "api": 200, "conduit": 200}[door]
    with app.app_context():
        assert db.session.scalar(select(User.bio).where(User.username == "biographer")) == bio
    page = app.test_client().get("/blog/author/biographer")
    assert page.status_code == 200
    assert unsafe_markup(page.get_data(as_text=True)) == []
    assert shown(page.get_data(as_text=True), bio)  # on the page, as text


IMAGE_VECTORS = [
    "javascript:alert(1)",
    "JaVaScRiPt:alert(1)",
    " javascript:alert(1)",
    "data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+",
    "vbscript:msgbox(1)",
    'https://example.com/a.png" onerror="alert(1)',
    "//evil.example/a.png",
]


def picture_request(door: str, url: str) -> tuple[str, str, Any]:
    if door == "site":
        return "POST", "/auth/profile", {"bio": "", "image_url": url}
    if door == "api":
        return "PATCH", "/api/v1/me", {"image_url": url}
    return "PUT", f"{CONDUIT}/user", {"user": {"image": url}}


@pytest.mark.parametrize("url", IMAGE_VECTORS)
@pytest.mark.parametrize("door", DOORS)
def test_a_picture_url_must_be_http(app: Flask, make: Make, door: str, url: str) -> None:
    """The picture is an <img src> on the author page: any other scheme is refused (422) on
    every door, and the page keeps the picture it had."""
    author = make.user(
        role_name="author", username="pictured", image_url="https://ok.example/me.png"
    )
    make.post(author=author, title="By the pictured")
    client = app.test_client()
    headers = headers_for(app, door, author, client)
    response = send(client, *picture_request(door, url), headers)
    assert response.status_code == 422, response.get_data(as_text=True)[:300]
    with app.app_context():
        stored = db.session.scalar(select(User.image_url).where(User.username == "pictured"))
        assert stored == "https://ok.example/me.png"
    page = app.test_client().get("/blog/author/pictured")
    assert page.status_code == 200
    assert unsafe_markup(page.get_data(as_text=True)) == []


@pytest.mark.parametrize("vector", sorted(VECTORS))
@pytest.mark.parametrize("action", ["create", "edit"])
def test_a_static_page_body_vector_is_neutralised(
    app: Flask, make: Make, action: str, vector: str
) -> None:
    """Static pages (/<slug>) are Markdown too, written on the site's admin pages."""
    admin = make.user(role_name="admin")
    client = app.test_client()
    headers_for(app, "site", admin, client)
    form = {
        "title": "Vector page",
        "slug": "vector-page",
        "body": VECTORS[vector],
        "published": "y",
    }
    if action == "create":
        response = client.post("/admin/pages/new", data=form)
    else:
        with app.app_context():
            actor = db.session.get_one(User, admin.id)
            page_id = site_pages.create_page(actor, title="Before", body="Safe.", published=True).id
            db.session.commit()
        response = client.post(f"/admin/pages/{page_id}/edit", data=form)
    assert response.status_code == 303, response.get_data(as_text=True)[:500]
    with app.app_context():
        stored = db.session.scalar(select(Page).where(Page.slug == "vector-page"))
        assert stored is not None
        assert stored.body == VECTORS[vector]
        assert unsafe_markup(stored.body_html, fragment=True) == []
    shown_page = app.test_client().get("/vector-page")
    assert shown_page.status_code == 200
    assert unsafe_markup(shown_page.get_data(as_text=True)) == []
