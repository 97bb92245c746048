"""Static pages: written by admins in the admin area, served at /<slug>, never over a route,
drafts hidden, listed in the navigation in order and in the sitemap; /about is one of them."""

from __future__ import annotations

from typing import Any
from xml.etree import ElementTree as ET

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from penpress.blog.models import Page
from penpress.blog.services import pages
from penpress.errors import Forbidden, Invalid, Unauthorized
from penpress.extensions import db
from tests.conftest import Make
from tests.pages import login


def page_data(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {"title": "Contact us", "slug": "", "body": "Write to **us**."}
    data.update(overrides)
    return data


def as_admin(client: FlaskClient, make: Make) -> Any:
    admin = make.user(role_name="admin")
    login(client, admin.email)
    return admin


def stored(app: Flask, slug: str) -> Page | None:
    with app.app_context():
        return db.session.scalar(select(Page).where(Page.slug == slug))


def test_an_admin_writes_a_page_served_at_its_slug(
    app: Flask, client: FlaskClient, make: Make
) -> None:
    as_admin(client, make)
    response = client.post("/admin/pages/new", data=page_data(published="y"))
    assert response.status_code == 303
    assert response.headers["Location"] == "/contact-us"
    page = client.get("/contact-us")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert '<h1 id="page-title">Contact us</h1>' in html
    assert "Write to <strong>us</strong>." in html
    assert "Contact us" in client.get("/admin/pages").get_data(as_text=True)


def test_admins_edit_and_delete_pages(app: Flask, client: FlaskClient, make: Make) -> None:
    as_admin(client, make)
    client.post("/admin/pages/new", data=page_data(published="y"))
    page = stored(app, "contact-us")
    assert page is not None
    form = client.get(f"/admin/pages/{page.id}/edit").get_data(as_text=True)
    assert 'value="contact-us"' in form
    response = client.post(
        f"/admin/pages/{page.id}/edit",
        data=page_data(title="Contact", slug="contact", body="New text.", published="y"),
    )
    assert response.status_code == 303
    assert client.get("/contact-us").status_code == 404  # moved
    assert "New text." in client.get("/contact").get_data(as_text=True)
    assert client.post(f"/admin/pages/{page.id}/delete").status_code == 303
    assert client.get("/contact").status_code == 404
    assert stored(app, "contact") is None


@pytest.mark.parametrize("role", ["reader", "author", "moderator"])
def test_others_may_not_manage_pages(
    app: Flask, client: FlaskClient, make: Make, role: str
) -> None:
    admin = make.user(role_name="admin")
    with app.app_context():
        page = pages.create_page(db.session.merge(admin), title="Rules", body="Be kind.")
        db.session.commit()
    login(client, make.user(role_name=role).email)
    assert client.get("/admin/pages").status_code == 403
    assert client.get("/admin/pages/new").status_code == 403
    assert client.post("/admin/pages/new", data=page_data()).status_code == 403
    assert client.get(f"/admin/pages/{page.id}/edit").status_code == 403
    assert client.post(f"/admin/pages/{page.id}/edit", data=page_data()).status_code == 403
    assert client.post(f"/admin/pages/{page.id}/delete").status_code == 403
    assert stored(app, "rules") is not None


def test_drafts_are_seen_only_by_those_who_manage_pages(
    app: Flask, client: FlaskClient, make: Make
) -> None:
    admin = as_admin(client, make)
    client.post("/admin/pages/new", data=page_data(title="Soon", body="Not yet."))
    html = client.get("/soon").get_data(as_text=True)
    assert "Not yet." in html
    assert "Draft" in html
    assert '<meta name="robots" content="noindex">' in html
    client.post("/auth/logout")
    assert client.get("/soon").status_code == 404
    login(client, make.user(role_name="moderator").email)
    assert client.get("/soon").status_code == 404
    assert "/soon" not in client.get("/sitemap.xml").get_data(as_text=True)
    assert admin  # the draft's writer saw it


def test_markdown_is_sanitized(client: FlaskClient, make: Make) -> None:
    as_admin(client, make)
    client.post(
        "/admin/pages/new",
        data=page_data(
            title="Tricks",
            body="<script>alert(1)</script>\n\n"
            '[x](javascript:alert(1)) <a href="javascript:alert(1)">y</a>'
            ' <img src=x onerror="alert(1)">',
            published="y",
        ),
    )
    html = client.get("/tricks").get_data(as_text=True)
    body = html[html.index('id="page-title"') :]
    assert "<script>alert" not in body
    assert 'href="javascript:' not in body
    assert "onerror" not in body


def route_segments(app: Flask) -> set[str]:
    """The first path segment of every route the app has (but the page routes' own)."""
    found = set()
    for rule in app.url_map.iter_rules():
        first = rule.rule.lstrip("/").split("/", 1)[0]
        if first and "<" not in first and rule.endpoint != "main.about":
            found.add(first)
    return found


def test_no_page_slug_can_shadow_a_route(app: Flask, make: Make) -> None:
    admin = make.user(role_name="admin")
    segments = route_segments(app)
    assert {"blog", "auth", "admin", "api", "realworld", "static", "healthz", "sitemap.xml"} <= (
        segments
    )
    with app.app_context():
        reserved = pages.reserved_slugs()
        assert segments <= reserved
        assert {"search", "feed.rss", "robots.txt", "media", "favorites"} <= reserved
        assert "about" not in reserved  # /about is served by the page "about"
        for slug in sorted(segments | {"search", "media", "favorites", "feed"}):
            with pytest.raises(Invalid) as refused:
                pages.create_page(db.session.merge(admin), title="x", body="y", slug=slug)
            assert "slug" in refused.value.details
        # A title that slugifies to a route's segment is refused the same way.
        with pytest.raises(Invalid):
            pages.create_page(db.session.merge(admin), title="Blog", body="y")
        db.session.rollback()


def test_a_route_added_later_is_reserved_at_once(app: Flask, build_app: Any) -> None:
    other = build_app()
    other.add_url_rule("/gallery/<int:n>", "gallery", lambda n: str(n))
    with other.app_context():
        assert "gallery" in pages.reserved_slugs()
    with app.app_context():
        assert "gallery" not in pages.reserved_slugs()


def test_bad_slugs_and_taken_slugs_are_refused_with_the_field_named(
    client: FlaskClient, make: Make
) -> None:
    as_admin(client, make)
    for slug in ("two words", "a/b", "dots.too", "-dash", "a--b", "é", "x" * 101):
        response = client.post("/admin/pages/new", data=page_data(slug=slug))
        assert response.status_code == 422, slug
        assert "lower-case letters" in response.get_data(as_text=True)
    reserved = client.post("/admin/pages/new", data=page_data(slug="admin"))
    assert reserved.status_code == 422
    assert "/admin is an address the site uses already" in reserved.get_data(as_text=True)
    client.post("/admin/pages/new", data=page_data(slug="contact"))
    taken = client.post("/admin/pages/new", data=page_data(slug="contact"))
    assert taken.status_code == 422
    assert "Another page has the address /contact" in taken.get_data(as_text=True)


def nav_of(html: str) -> str:
    return html[html.index('<nav id="site-nav"') : html.index("</nav>")]


def test_the_navigation_shows_chosen_published_pages_in_order(
    app: Flask, client: FlaskClient, make: Make
) -> None:
    admin = make.user(role_name="admin")
    with app.app_context():
        me = db.session.merge(admin)
        pages.create_page(me, title="Zeta", body="z", published=True, show_in_nav=True, nav_order=1)
        pages.create_page(
            me, title="Alpha", body="a", published=True, show_in_nav=True, nav_order=2
        )
        pages.create_page(me, title="Hidden", body="h", published=True)
        pages.create_page(me, title="Draft", body="d", show_in_nav=True)
        db.session.commit()
    nav = nav_of(client.get("/").get_data(as_text=True))
    assert 'href="/zeta">Zeta' in nav
    assert 'href="/alpha">Alpha' in nav
    assert nav.index("Zeta") < nav.index("Alpha")  # by position, not by title
    assert "Hidden" not in nav
    assert "Draft" not in nav
    assert 'href="/zeta" aria-current="page">Zeta' in nav_of(client.get("/zeta").get_data(True))
    # Reordered in the admin form: the navigation follows at once.
    login(client, admin.email)
    zeta = stored(app, "zeta")
    assert zeta is not None
    client.post(
        f"/admin/pages/{zeta.id}/edit",
        data=page_data(title="Zeta", slug="zeta", body="z", published="y", show_in_nav="y",
                       nav_order="3"),
    )  # fmt: skip
    nav = nav_of(client.get("/").get_data(as_text=True))
    assert nav.index("Alpha") < nav.index("Zeta")


def test_about_is_an_editable_page_with_its_text_by_default(
    app: Flask, client: FlaskClient, make: Make
) -> None:
    # No page "about" yet (the migration's was wiped with the test database): the built-in text.
    default = client.get("/about").get_data(as_text=True)
    assert "self-hosted blog for several authors" in default
    with app.test_request_context():
        from flask import url_for

        assert url_for("main.about") == "/about"
    admin = as_admin(client, make)
    assert 'href="/admin/pages/new?slug=about' in client.get("/about").get_data(as_text=True)
    form = client.get("/admin/pages/new?slug=about").get_data(as_text=True)
    assert "self-hosted blog for several authors" in form
    client.post(
        "/admin/pages/new",
        data=page_data(title="About us", slug="about", body="We write.", published="y"),
    )
    html = client.get("/about").get_data(as_text=True)
    assert '<h1 id="page-title">About us</h1>' in html
    assert "We write." in html
    assert "several authors" not in html
    # A draft About page is hidden like any draft (404), not replaced by the default.
    about = stored(app, "about")
    assert about is not None
    with app.app_context():
        pages.update_page(db.session.merge(admin), db.session.merge(about), published=False)
        db.session.commit()
    client.post("/auth/logout")
    assert client.get("/about").status_code == 404
    assert 'href="/about"' in client.get("/").get_data(as_text=True)  # the footer link


def test_the_migration_creates_the_about_page(app: Flask) -> None:
    from importlib import import_module

    migration = import_module(
        "penpress.migrations.versions.3c9e41d7a2b8_scheduled_posts_time_zones_and_pages"
    )
    assert migration.ABOUT_BODY == pages.ABOUT_BODY
    from penpress.blog.markdown import render_markdown

    assert render_markdown(pages.ABOUT_BODY, site_url=None) == migration.ABOUT_HTML


def test_the_sitemap_lists_published_pages(app: Flask, client: FlaskClient, make: Make) -> None:
    admin = make.user(role_name="admin")
    with app.app_context():
        me = db.session.merge(admin)
        pages.create_page(me, title="Contact", body="c", published=True)
        pages.create_page(me, title="Secret", body="s")
        db.session.commit()
    root = ET.fromstring(client.get("/sitemap.xml").data)  # noqa: S314  (our own output)
    locations = [loc.text for loc in root.iter("{http://www.sitemaps.org/schemas/sitemap/0.9}loc")]
    assert "http://localhost/contact" in locations
    assert "http://localhost/about" in locations  # the built-in About page
    assert "http://localhost/secret" not in locations
    assert len(locations) == len(set(locations))


def test_pages_need_a_title_and_a_body(app: Flask, make: Make) -> None:
    admin = make.user(role_name="admin")
    with app.app_context():
        with pytest.raises(Invalid) as refused:
            pages.create_page(db.session.merge(admin), title=" ", body="")
        assert set(refused.value.details) == {"title", "body"}
        with pytest.raises(Unauthorized):
            pages.create_page(None, title="x", body="y")
        reader = make.user(role_name="reader")
        with pytest.raises(Forbidden):
            pages.create_page(db.session.merge(reader), title="x", body="y")
        db.session.rollback()


def test_unknown_top_level_paths_are_404_and_routes_still_win(client: FlaskClient) -> None:
    assert client.get("/no-such-page").status_code == 404
    assert client.get("/blog").status_code == 308  # the blog's own redirect, not a page
    assert client.get("/healthz").status_code == 200
