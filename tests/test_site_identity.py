"""The site's identity settings reach what readers see: every page's <title>, header, footer,
navigation, language, colours and OpenGraph tags, the feeds, the emails and ``GET
/api/v1/site``; and a change shows at once on every instance, page cache included."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET  # noqa: N817

from flask import Flask
from flask.testing import FlaskClient

from bench.queries import counting
from penpress.blog import services as blog
from penpress.blog.models import Page
from penpress.blog.services import pages
from penpress.extensions import db
from penpress.settings import services as settings
from tests import factories
from tests.conftest import postgres_backend
from tests.html_dom import parse
from tests.pages import login

ATOM = "{http://www.w3.org/2005/Atom}"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"


def configure(app: Flask, **changes: Any) -> None:
    """Save settings as an administrator does (through the service, committed)."""
    with app.app_context():
        admin = factories.UserFactory(role_name="admin")
        settings.update_settings(admin, changes)
        db.session.commit()


def html(client: FlaskClient, path: str) -> str:
    response = client.get(path)
    assert response.status_code == 200, path
    return response.get_data(as_text=True)


# --- pages ------------------------------------------------------------------------------------


def test_title_and_tagline_reach_every_page(app: Flask, client: FlaskClient, make) -> None:
    post = make.post(title="Harbour lights")
    configure(app, site_title="The Daily Quill", site_description="Notes & news")
    for path in ("/", "/blog/", f"/blog/post/{post.slug}", "/about", "/auth/login"):
        page = html(client, path)
        assert re.search(r"<title>[^<]* · The Daily Quill</title>", page), path
        assert '<a class="brand" href="/">' in page
        assert "<span>The Daily Quill</span>" in page, path
        assert '<p class="tagline">Notes &amp; news</p>' in page, path
        assert "Penpress" not in page, path
    home = html(client, "/")
    assert '<meta property="og:site_name" content="The Daily Quill">' in home
    assert '<meta property="og:description" content="Notes &amp; news">' in home
    assert '<meta name="description" content="Notes &amp; news">' in home
    # A post describes itself, under the site's name.
    post_page = html(client, f"/blog/post/{post.slug}")
    assert '<meta property="og:site_name" content="The Daily Quill">' in post_page
    assert '<meta property="og:title" content="Harbour lights">' in post_page
    assert post_page.count('property="og:site_name"') == 1


def test_language_sets_html_lang(app: Flask, client: FlaskClient) -> None:
    assert '<html lang="en">' in html(client, "/")
    configure(app, language="fr-CA")
    assert '<html lang="fr-CA">' in html(client, "/")


def test_accent_colour_comes_in_a_generated_stylesheet(app: Flask, client: FlaskClient) -> None:
    assert "/site.css" not in html(client, "/")
    configure(app, accent_color="#118844")
    page = html(client, "/")
    found = re.search(r'<link rel="stylesheet" href="(/site\.css\?v=([0-9a-f]+))">', page)
    assert found is not None
    assert "style=" not in page  # the CSP allows no inline styles
    response = client.get(found.group(1))
    assert response.status_code == 200
    assert response.mimetype == "text/css"
    assert "--color-accent: #118844;" in response.get_data(as_text=True)
    assert "immutable" in response.headers["Cache-Control"]
    csp = response.headers["Content-Security-Policy"]
    assert "style-src 'self'" in csp
    assert "unsafe-inline" not in csp
    # Another colour, another address: browsers holding the old one fetch the new one.
    configure(app, accent_color="#aa2200")
    second = re.search(r'href="/site\.css\?v=([0-9a-f]+)"', html(client, "/"))
    assert second is not None
    assert second.group(1) != found.group(2)
    assert "#aa2200" in client.get(f"/site.css?v={second.group(1)}").get_data(as_text=True)
    # A stale or missing version is answered, but not for keeps.
    stale = client.get("/site.css?v=old")
    assert "#aa2200" in stale.get_data(as_text=True)
    assert "immutable" not in stale.headers["Cache-Control"]


def test_navigation_links_in_their_order(app: Flask, client: FlaskClient, make) -> None:
    make.post(tags=["news"])
    configure(
        app,
        nav_links="Docs | https://docs.example.org/\nNews | tag:news\nArchive | /blog/\n"
        "About us | page:about",
    )
    page = html(client, "/")
    nav = page[page.index('<nav id="site-nav"') : page.index("</nav>")]
    links = re.findall(r'<li><a href="([^"]+)"[^>]*>([^<]+)</a></li>', nav)
    added = [link for link in links if link[1] in ("Docs", "News", "Archive", "About us")]
    assert added == [
        ("https://docs.example.org/", "Docs"),
        ("/blog/tag/news", "News"),
        ("/blog/", "Archive"),
        ("/about", "About us"),
    ]
    assert client.get("/blog/tag/news").status_code == 200
    assert 'href="/blog/tag/news" aria-current="page"' in html(client, "/blog/tag/news")


def test_footer_text_is_sanitised_markdown(app: Flask, client: FlaskClient) -> None:
    configure(
        app,
        footer_text="© The Quill — [contact](mailto:ed@example.org) <script>alert(1)</script>"
        " <a href='javascript:alert(2)'>x</a>",
    )
    page = html(client, "/")
    footer = page[page.index('<footer class="site-footer">') :]
    assert re.search(r'<a href="mailto:ed@example.org"[^>]*>contact</a>', footer)
    assert "<script>" not in footer
    assert "javascript:" not in footer


def test_posts_per_page(app: Flask, client: FlaskClient, make) -> None:
    for number in range(5):
        make.post(title=f"Listed post {number}")
    configure(app, posts_per_page=2)
    assert html(client, "/blog/").count("Listed post") == 2
    assert html(client, "/").count("Listed post") == 2
    configure(app, posts_per_page="5")
    assert html(client, "/blog/").count("Listed post") == 5


# --- feeds, emails, the API -------------------------------------------------------------------


def test_the_feeds_carry_title_tagline_and_language(app: Flask, client: FlaskClient, make) -> None:
    make.post(tags=["news"])
    configure(app, site_title="The Daily Quill", site_description="Notes", language="de")
    feed = ET.fromstring(client.get("/feed.xml").get_data())  # noqa: S314  (our own output)
    assert feed.findtext(f"{ATOM}title") == "The Daily Quill"
    assert feed.findtext(f"{ATOM}subtitle") == "Notes"
    assert feed.get(XML_LANG) == "de"
    tag_feed = ET.fromstring(  # noqa: S314  (our own output)
        client.get("/blog/tag/news/feed.xml").get_data()
    )
    assert tag_feed.findtext(f"{ATOM}title") == "The Daily Quill: news"


def test_emails_are_signed_with_the_site_title(
    app: Flask, client: FlaskClient, make, outbox: list[Any]
) -> None:
    configure(app, site_title="The Daily Quill")
    admin = make.user(role_name="admin")
    login(client, admin.email)
    response = client.post(
        "/admin/invites", data={"email": "new@example.com", "role": "contributor"}
    )
    assert response.status_code == 303
    (message,) = outbox
    assert message.from_email == "The Daily Quill <noreply@localhost>"
    assert message.subject == "You are invited to join The Daily Quill"
    assert "join The Daily Quill as contributor" in message.body
    assert "The Daily Quill sent this email" in message.alternatives[0][0]
    assert "Penpress" not in message.body


def test_the_api_tells_the_site(app: Flask, client: FlaskClient, make) -> None:
    make.post(tags=["news"])
    configure(
        app,
        site_title="The Daily Quill",
        site_description="Notes",
        language="pt-BR",
        accent_color="#123456",
        nav_links="News | tag:news\nElsewhere | https://example.org/x\nPosts | /blog/\n"
        "About | page:about",
        posts_per_page=7,
        comments_mode="registered",
        registration="invite",
    )
    response = client.get("/api/v1/site")
    assert response.status_code == 200
    assert "ETag" in response.headers
    site = response.get_json()
    base = app.config["SITE_URL"].rstrip("/")
    assert site == {
        "title": "The Daily Quill",
        "description": "Notes",
        "url": f"{base}/",
        "language": "pt-BR",
        "time_zone": "UTC",
        "accent_color": "#123456",
        "logo_url": None,
        "favicon_url": None,
        "navigation": [
            {"label": "News", "url": f"{base}/blog/tag/news"},
            {"label": "Elsewhere", "url": "https://example.org/x"},
            {"label": "Posts", "url": f"{base}/blog/"},
            {"label": "About", "url": f"{base}/about"},
        ],
        "posts_per_page": 7,
        "comments": "registered",
        "registration": "invite",
    }
    # Public fields only: nothing an administrator alone should read.
    assert "default_role" not in site
    assert "footer_text" not in site


def test_the_api_site_is_in_the_openapi_document(client: FlaskClient) -> None:
    spec = client.get("/api/v1/openapi.json").get_json()
    operation = spec["paths"]["/api/v1/site"]["get"]
    assert operation["operationId"] == "site_info"
    assert operation["security"] == []
    schema = operation["responses"]["200"]["content"]["application/json"]["schema"]
    assert schema["$ref"].endswith("/Site")


# --- at once, everywhere ------------------------------------------------------------------------


def settings_reads(app: Flask) -> Callable[[], Any]:
    """A context manager listing the statements that read the settings table."""

    @contextmanager
    def watch() -> Iterator[list[str]]:
        with counting(app) as seen:
            reads: list[str] = []
            yield reads
        reads.extend(statement for statement in seen if "site_settings" in statement)

    return watch


def test_a_change_shows_at_once_on_another_instance(
    build_app: Callable[..., Flask], tmp_path: Path
) -> None:
    """Two app instances share one database (and, on the PostgreSQL pass, one Redis); each
    keeps the settings and the anonymous pages in a real cache. A change saved on one shows
    on the other's next request: cached pages, logged-in pages and the API."""
    shared: dict[str, Any] = {"CACHE_TYPE": "SimpleCache"}
    if not postgres_backend():
        shared["SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{tmp_path / 'shared.db'}"
    one, two = build_app(**shared), build_app(**shared)
    with one.app_context():
        writer = factories.UserFactory(username="writer")
        admin = factories.UserFactory(username="boss", role_name="admin")
        blog.create_post(writer, title="Shared news", body="b", published=True)
        db.session.commit()
        admin_email = admin.email
    anonymous = two.test_client()
    reader = two.test_client()
    login(reader, "writer@example.com")
    for client in (anonymous, reader):
        assert "<span>Penpress</span>" in html(client, "/")  # now in two's caches
    assert two.test_client().get("/api/v1/site").get_json()["title"] == "Penpress"
    # Warm: two reads the settings from its cache, not the table.
    with settings_reads(two)() as reads:
        html(reader, "/blog/")
    assert reads == []

    boss = one.test_client()
    login(boss, admin_email)
    saved = boss.post(
        "/admin/settings",
        data={
            "site_title": "Renamed",
            "posts_per_page": "10",
            "language": "nl",
            "comments_mode": "off",
            "registration": "open",
            "default_role": "reader",
        },
    )
    assert saved.status_code == 303

    assert "<span>Renamed</span>" in html(anonymous, "/")  # the page cache moved on
    assert '<html lang="nl">' in html(anonymous, "/blog/")
    assert "<span>Renamed</span>" in html(reader, "/")
    assert two.test_client().get("/api/v1/site").get_json()["title"] == "Renamed"
    with two.app_context():
        post = blog.list_posts(None, blog.PostFilter(), 1, 1).items[0]
        slug = post.slug
    assert reader.post(f"/blog/post/{slug}/comment", data={"body": "Hi"}).status_code == 403


def nav_titles(client: FlaskClient, path: str = "/blog/") -> list[str]:
    """The names of the site navigation's links to static pages on ``path``."""
    nav = parse(html(client, path)).find("nav", id="site-nav")
    return [a.text for a in nav.iter("a") if a.attrs.get("href") in ("/contact",)]


def test_a_navigation_page_shows_at_once_on_another_instance(
    build_app: Callable[..., Flask], tmp_path: Path
) -> None:
    """Two app instances share one database (and, on the PostgreSQL pass, one Redis); each
    keeps the navigation's pages and the anonymous pages in a real cache. A page added to the
    navigation on one shows on the other's next request, and no request on the other can keep
    the old navigation: not one made while the change is not committed, not after a change
    that rolled back."""
    shared: dict[str, Any] = {"CACHE_TYPE": "SimpleCache"}
    if not postgres_backend():
        shared["SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{tmp_path / 'shared.db'}"
    one, two = build_app(**shared), build_app(**shared)
    with one.app_context():
        factories.UserFactory(username="writer")
        admin = factories.UserFactory(username="boss", role_name="admin")
        db.session.commit()
        admin_email = admin.email
    anonymous, member = two.test_client(), two.test_client()
    login(member, "writer@example.com")
    clients = (anonymous, member)
    for client in clients:
        assert nav_titles(client) == []  # now in two's caches

    with one.app_context():
        page = pages.create_page(
            db.session.merge(admin),
            title="Contact",
            body="Write to us.",
            slug="contact",
            published=True,
            show_in_nav=True,
        )
        page_id = page.id
        # The request that made the change sees it (and caches nothing under it)...
        assert [link.title for link in pages.nav_pages()] == ["Contact"]
        # ... while two serves, and caches, what is committed.
        for client in clients:
            assert nav_titles(client) == []
        db.session.commit()
    for client in clients:
        assert nav_titles(client) == ["Contact"], client
        assert nav_titles(client, "/about") == ["Contact"]

    # A change that rolls back leaves no trace on either instance.
    with one.app_context():
        pages.update_page(
            db.session.merge(admin), db.session.get_one(Page, page_id), show_in_nav=False
        )
        assert pages.nav_pages() == []
        db.session.rollback()
    assert nav_titles(one.test_client()) == ["Contact"]
    assert nav_titles(anonymous) == ["Contact"]

    # Through the console: renamed, then deleted, on one; two follows each time.
    boss = one.test_client()
    login(boss, admin_email)
    renamed = boss.post(
        f"/admin/pages/{page_id}/edit",
        data={
            "title": "Write to us",
            "slug": "contact",
            "body": "Write to us.",
            "published": "y",
            "show_in_nav": "y",
            "nav_order": "0",
        },
    )
    assert renamed.status_code == 303
    for client in clients:
        assert nav_titles(client) == ["Write to us"]
    assert boss.post(f"/admin/pages/{page_id}/delete").status_code == 303
    for client in clients:
        assert nav_titles(client) == []
    assert anonymous.get("/contact").status_code == 404


def test_with_a_real_cache_a_page_reads_only_the_settings_generation(
    build_app: Callable[..., Flask],
) -> None:
    app = build_app(CACHE_TYPE="SimpleCache", PAGE_CACHE_ENABLED=False)
    client = app.test_client()
    html(client, "/about")  # the settings are now cached under their generation
    with counting(app) as statements:
        html(client, "/about")
    assert not [s for s in statements if "site_settings" in s]
    assert len([s for s in statements if "FROM counters" in s]) == 1
