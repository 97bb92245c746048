"""Home and about pages, the shared layout, template helpers and static files."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from flask import Flask, flash, render_template_string
from flask.testing import FlaskClient

from penpress.templating import format_iso
from tests.pages import audit_markup, is_logged_in, login, older_link

# --- home -------------------------------------------------------------------------------------


def test_home_shows_recent_published_posts_only(client: FlaskClient, make) -> None:
    make.post(title="Hello from the front page", tags=["Python"])
    make.post(title="A quiet draft", published=False)
    response = client.get("/")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "Hello from the front page" in html
    assert "A quiet draft" not in html
    assert 'class="post-card"' in html


def test_home_shows_the_newest_page_and_links_to_older_posts(
    app: Flask, client: FlaskClient, make
) -> None:
    author = make.user()
    per_page = app.config["POSTS_PER_PAGE"]
    for n in range(per_page + 1):
        make.post(author=author, title=f"Entry {n:02d}")
    html = client.get("/").get_data(as_text=True)
    assert html.count('class="post-card"') == per_page
    assert f"Entry {per_page:02d}" in html  # the newest
    assert "Entry 00" not in html  # the oldest is on page 2
    older = older_link(html)
    assert older is not None
    assert older.startswith("/blog/?cursor=")
    assert "Entry 00" in client.get(older).get_data(as_text=True)


def test_home_without_posts_says_so(client: FlaskClient, make) -> None:
    html = client.get("/").get_data(as_text=True)
    assert "Nothing has been published yet." in html
    assert "No tags yet." in html
    assert 'href="/blog/?page=2"' not in html
    login(client, make.user().email)
    assert 'href="/blog/create">Write the first post' in client.get("/").get_data(as_text=True)


def test_home_sidebar_lists_tags_with_published_counts(client: FlaskClient, make) -> None:
    make.post(tags=["Flask", "Python"])
    make.post(tags=["Python"])
    make.post(tags=["Secret"], published=False)
    html = client.get("/").get_data(as_text=True)
    sidebar = html[html.index('id="tags-title"') :]
    assert 'href="/blog/tag/python">Python' in sidebar
    assert 'aria-label="2 posts">2</span>' in sidebar
    assert 'href="/blog/tag/flask">Flask' in sidebar
    assert 'aria-label="1 post">1</span>' in sidebar
    assert "Secret" not in sidebar
    assert sidebar.index("Python") < sidebar.index("Flask")  # most used first


def test_home_runs_the_same_queries_for_any_number_of_posts(
    app: Flask, client: FlaskClient, make, page_queries
) -> None:
    make.post(tags=["one"])
    few = page_queries(client, "/")
    for n in range(8):
        make.post(tags=[f"tag{n}", "shared"])
    assert page_queries(client, "/") == few


def test_about_page(client: FlaskClient, make) -> None:
    response = client.get("/about")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert '<h1 id="page-title">About</h1>' in html
    assert 'href="/auth/register"' in html
    assert 'href="/auth/profile"' in html
    login(client, make.user().email)
    assert client.get("/about").status_code == 200


# --- layout -----------------------------------------------------------------------------------


def test_layout_has_landmarks_skip_link_and_assets(client: FlaskClient) -> None:
    html = client.get("/about").get_data(as_text=True)
    assert '<html lang="en">' in html
    assert '<a class="skip-link" href="#main">' in html
    assert '<main id="main"' in html
    assert '<header class="site-header">' in html
    assert '<nav id="site-nav" class="site-nav" aria-label="Main">' in html
    assert '<footer class="site-footer">' in html
    assert '<link rel="stylesheet" href="/static/css/style.css">' in html
    assert '<link rel="stylesheet" href="/static/css/blog.css">' in html
    assert '<script src="/static/js/main.js" defer></script>' in html
    assert "<title>About · Penpress</title>" in html


def nav_of(html: str) -> str:
    return html[html.index('<nav id="site-nav"') : html.index("</nav>")]


def test_nav_for_visitors(client: FlaskClient) -> None:
    nav = nav_of(client.get("/").get_data(as_text=True))
    assert 'href="/" aria-current="page">Home' in nav
    assert 'href="/blog/">Posts' in nav
    assert 'href="/auth/login">Log in' in nav
    assert 'href="/auth/register">Register' in nav
    assert "Log out" not in nav
    assert "/blog/create" not in nav


@pytest.mark.parametrize(
    ("role", "writes", "review", "moderation", "admin"),
    [("reader", False, False, False, False), ("contributor", True, False, False, False),
     ("author", True, False, False, False), ("moderator", True, False, True, False),
     ("editor", True, True, True, False), ("admin", True, True, True, True)],
)  # fmt: skip
def test_nav_for_members_by_role(
    client: FlaskClient,
    make,
    role: str,
    writes: bool,
    review: bool,
    moderation: bool,
    admin: bool,
) -> None:
    user = make.user(role_name=role)
    login(client, user.email)
    nav = nav_of(client.get("/").get_data(as_text=True))
    for link in ("/blog/feed", "/auth/profile"):
        assert f'href="{link}"' in nav
    for link in ("/blog/create", "/blog/my-posts"):
        assert (f'href="{link}"' in nav) is writes
    assert '<form class="inline-form" method="post" action="/auth/logout">' in nav
    assert 'name="csrf_token"' in nav
    assert "Log in" not in nav
    assert ('href="/admin/review"' in nav) is review
    assert ('href="/admin/comments"' in nav) is moderation
    assert ('href="/admin/users"' in nav) is admin


def test_flash_messages_show_with_their_category(app: Flask) -> None:
    with app.test_request_context("/"):
        flash("Saved!", "success")
        flash("Careful", "warning")
        flash("Plain message")
        html = render_template_string('{% extends "base.html" %}')
    assert '<div class="flashes" role="status" aria-live="polite">' in html
    assert '<p class="flash flash-success">Saved!</p>' in html
    assert '<p class="flash flash-warning">Careful</p>' in html
    assert '<p class="flash flash-info">Plain message</p>' in html


@pytest.mark.parametrize(
    "path", ["/", "/about", "/auth/login", "/auth/register", "/auth/profile", "/admin/comments",
             "/admin/users", "/admin/settings", "/admin/pages", "/admin/pages/new",
             "/no/such/page"],
)  # fmt: skip
def test_pages_have_no_inline_script_or_style(client: FlaskClient, make, path: str) -> None:
    make.post(tags=["x"])
    login(client, make.user(role_name="admin").email)
    html = client.get(path).get_data(as_text=True)
    assert "<style" not in html
    assert not re.search(r"\sstyle=", html)
    assert not re.search(r"\son[a-z]+=", html)  # no inline event handlers
    for script in re.findall(r"<script[^>]*>", html):
        assert 'src="/static/' in script
    assert "javascript:" not in html


@pytest.mark.parametrize(
    "path", ["/", "/about", "/auth/login", "/auth/register", "/auth/profile", "/admin/comments",
             "/admin/users", "/admin/settings", "/admin/review", "/admin/invites", "/admin/tags",
             "/admin/pages", "/admin/pages/new",
             "/blog/create"],
)  # fmt: skip
def test_pages_have_unique_ids_and_labelled_controls(
    app: Flask, client: FlaskClient, make, path: str
) -> None:
    with app.app_context():
        make.comment(approved=False)
        make.post(published=False, status="submitted", tags=["waiting"])
        make.post(published=False, status="submitted")
    make.user()
    make.user(active=False, pending_approval=True)
    login(client, make.user(role_name="admin").email)
    audit_markup(client.get(path).get_data(as_text=True))


# --- template helpers and static files -------------------------------------------------------


def test_date_filters(app: Flask) -> None:
    moment = datetime(2026, 11, 5, 14, 30, tzinfo=UTC)
    with app.test_request_context("/"):
        assert render_template_string("{{ m | dt }}", m=moment) == "Nov 5, 2026"
        assert render_template_string("{{ m | dt }}", m=None) == ""
        # The day it is in the site's zone: 14:30 UTC is already the 6th in Auckland.
        shown = render_template_string("{{ m | dt }}", m=moment, site_time_zone="Pacific/Auckland")
        assert shown == "Nov 6, 2026"
    assert format_iso(moment) == "2026-11-05T14:30:00+00:00"
    assert format_iso(None) == ""


def test_filters_and_site_name_are_registered(app: Flask) -> None:
    with app.test_request_context("/"):
        out = render_template_string(
            "{{ site_name }}|{{ when | dt }}|{{ when | iso }}|{{ none | dt }}",
            when=datetime(2026, 1, 2, tzinfo=UTC),
            none=None,
        )
    assert out == "Penpress|Jan 2, 2026|2026-01-02T00:00:00+00:00|"


@pytest.mark.parametrize(
    ("path", "mimetype"),
    [("/static/css/style.css", "text/css"), ("/static/js/main.js", "text/javascript")],
)
def test_static_assets_are_served_by_the_app(client: FlaskClient, path: str, mimetype: str) -> None:
    response = client.get(path)
    assert response.status_code == 200
    assert response.mimetype == mimetype
    response.close()


# --- the whole story of the "done when" ----------------------------------------------


def test_a_member_writes_publishes_gets_a_comment_approved_and_changes_password(
    app: Flask, client: FlaskClient, make, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Register, draft, publish, appear on home and tag page, comment, moderate, password, out.

    On a site whose owner lets everyone who signs up write (``DEFAULT_ROLE=author``).
    """
    monkeypatch.setitem(app.config, "DEFAULT_ROLE", "author")
    response = client.post(
        "/auth/register",
        data={"username": "alice", "email": "alice@example.com", "password": "alice-password",
              "password_confirm": "alice-password"},
    )  # fmt: skip
    assert response.status_code == 303
    client.post("/auth/logout")
    assert login(client, "alice@example.com", "alice-password").status_code == 303

    draft = client.post(
        "/blog/create",
        data={"title": "Café notes", "summary": "Coffee.", "body": "# Beans\n\n*Roasted*.",
              "tags": "Coffee, Mornings"},
    )  # fmt: skip
    assert draft.status_code == 303
    post_url = draft.headers["Location"]
    assert post_url == "/blog/post/cafe-notes"
    assert "Café notes" not in client.get("/").get_data(as_text=True)
    assert app.test_client().get(post_url).status_code == 404  # a draft is private

    edit_url = re.search(r'href="(/blog/edit/\d+)"', client.get(post_url).get_data(as_text=True))
    assert edit_url
    published = client.post(
        edit_url.group(1),
        data={"title": "Café notes", "summary": "Coffee.", "body": "# Beans\n\n*Roasted*.",
              "tags": "Coffee, Mornings", "published": "y"},
    )  # fmt: skip
    assert published.status_code == 303
    visitor = app.test_client()
    assert "Café notes" in visitor.get("/").get_data(as_text=True)
    assert "Café notes" in visitor.get("/blog/tag/coffee").get_data(as_text=True)
    assert "<em>Roasted</em>" in visitor.get(post_url).get_data(as_text=True)

    reader = app.test_client()
    bob = make.user(username="bob")
    login(reader, bob.email)
    commented = reader.post(f"{post_url}/comment", data={"body": "Lovely beans, Alice."})
    assert commented.status_code == 303
    assert "Lovely beans" not in visitor.get(post_url).get_data(as_text=True)

    moderator = app.test_client()
    login(moderator, make.user(role_name="moderator").email)
    queue = moderator.get("/admin/comments").get_data(as_text=True)
    assert "Lovely beans, Alice." in queue
    approve = re.search(r'action="(/admin/comments/\d+/approve[^"]*)"', queue)
    assert approve
    assert moderator.post(approve.group(1).replace("&amp;", "&")).status_code == 303
    assert "Lovely beans, Alice." in visitor.get(post_url).get_data(as_text=True)

    changed = client.post(
        "/auth/profile/password",
        data={"current_password": "alice-password", "new_password": "alice-new-password",
              "new_password_confirm": "alice-new-password"},
    )  # fmt: skip
    assert changed.status_code == 303
    assert client.post("/auth/logout").status_code == 303
    assert not is_logged_in(client)
    assert login(client, "alice@example.com", "alice-password").status_code == 422
    assert login(client, "alice@example.com", "alice-new-password").status_code == 303
