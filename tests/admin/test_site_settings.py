"""The site settings form at /admin/settings: administrators only, CSRF-protected, every value
checked by the service with its message on the form (422) and nothing saved then."""

from __future__ import annotations

from collections.abc import Callable
from io import BytesIO
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from markupsafe import escape

from penpress.extensions import db
from penpress.settings import services as settings
from penpress.settings.models import SiteSetting
from tests import images
from tests.pages import csrf_token, login

# What the form sends when nothing is changed (a fresh site).
DEFAULTS: dict[str, str] = {
    "site_title": "Penpress",
    "site_description": "",
    "accent_color": "",
    "nav_links": "",
    "footer_text": "",
    "posts_per_page": "10",
    "language": "en",
    "comments_mode": "approval",
    "registration": "open",
    "default_role": "reader",
}


def form(**changes: Any) -> dict[str, Any]:
    return {**DEFAULTS, **changes}


def as_role(client: FlaskClient, make, role: str) -> None:
    assert login(client, make.user(role_name=role).email).status_code == 303


def saved(app: Flask) -> dict[str, str]:
    with app.app_context():
        return {s.key: s.value for s in db.session.scalars(db.select(SiteSetting))}


def test_an_admin_saves_every_setting(app: Flask, client: FlaskClient, make) -> None:
    as_role(client, make, "admin")
    response = client.post(
        "/admin/settings",
        data=form(
            site_title="  The Daily Quill ",
            site_description="Notes from the harbour",
            accent_color="#C0F",
            nav_links="News | tag:news\nAbout us | page:about\nCode | https://example.org/code",
            footer_text="Made with *care*.",
            posts_per_page="3",
            language="PT-br",
            comments_mode="registered",
            registration="invite",
            default_role="contributor",
            require_confirmed_email="y",
        ),
    )
    assert response.status_code == 303
    with app.app_context():
        assert settings.site_title() == "The Daily Quill"
        assert settings.site_description() == "Notes from the harbour"
        assert settings.accent_color() == "#cc00ff"
        assert [(link.label, link.target) for link in settings.nav_links()] == [
            ("News", "tag:news"),
            ("About us", "page:about"),
            ("Code", "https://example.org/code"),
        ]
        assert settings.footer_text() == "Made with *care*."
        assert settings.posts_per_page() == 3
        assert settings.language() == "pt-BR"
        assert settings.comments_mode() == "registered"
        assert settings.registration_policy() == "invite"
        assert settings.default_role() == "contributor"
        assert settings.email_confirmation_required() is True
    page = client.get("/admin/settings").get_data(as_text=True)
    assert 'value="The Daily Quill"' in page
    assert "News | tag:news\nAbout us | page:about" in page
    assert '<option selected value="registered">' in page


BAD_VALUES = [
    ("site_title", "   ", "This cannot be empty."),
    ("site_title", "x" * 101, "Use at most 100 characters."),
    ("site_title", "two\nlines", "Use one line of text"),
    ("site_description", "y" * 301, "Use at most 300 characters."),
    ("accent_color", "blue", "Give a colour as #rrggbb"),
    ("accent_color", "#12345g", "Give a colour as #rrggbb"),
    ("accent_color", "red;}body{", "Use at most 7 characters."),
    ("nav_links", "Just a label", "Line 1: write “Label | target”"),
    ("nav_links", "Home | /\nEvil | javascript:alert(1)", "Line 2: link to page:"),
    ("nav_links", "Proto | //evil.example/", "Line 1: link to page:"),
    ("nav_links", "Bad | page:Not A Slug", "Line 1: a page's address"),
    ("nav_links", "\n".join(f"L{n} | /x" for n in range(21)), "Add at most 20 links."),
    ("footer_text", "z" * 2001, "Use at most 2000 characters."),
    ("posts_per_page", "0", "Give a whole number from 1 to 100."),
    ("posts_per_page", "101", "Give a whole number from 1 to 100."),
    ("posts_per_page", "ten", "Give a whole number from 1 to 100."),
    ("language", "english", "Give a language tag such as en"),
    ("language", "en_US", "Give a language tag such as en"),
    ("comments_mode", "sometimes", "Choose one of: on, approval, registered, off."),
    ("registration", "everyone", "Choose one of: open, approval, invite, closed."),
    ("default_role", "owner", "Choose one of:"),
]


@pytest.mark.parametrize(("field", "value", "message"), BAD_VALUES)
def test_a_bad_value_is_refused_on_the_form_and_nothing_is_saved(
    app: Flask, client: FlaskClient, make, field: str, value: str, message: str
) -> None:
    as_role(client, make, "admin")
    assert client.post("/admin/settings", data=form(site_title="Kept")).status_code == 303
    before = saved(app)
    # Another field changed at the same time is not saved either, and comes back as typed.
    other = "footer_text" if field != "footer_text" else "site_description"
    response = client.post("/admin/settings", data=form(**{other: "Fresh words", field: value}))
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert f'id="{field}-error"' in page
    assert str(escape(message)) in page
    assert "Fresh words" in page  # nothing typed is lost
    assert saved(app) == before


def test_several_bad_values_are_all_named(app: Flask, client: FlaskClient, make) -> None:
    as_role(client, make, "admin")
    response = client.post(
        "/admin/settings", data=form(accent_color="nope", posts_per_page="-1", language="??")
    )
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    for field in ("accent_color", "posts_per_page", "language"):
        assert f'id="{field}-error"' in page


@pytest.mark.parametrize("role", ["reader", "contributor", "author", "editor", "moderator"])
def test_only_admins_see_or_change_settings(
    app: Flask, client: FlaskClient, make, role: str
) -> None:
    as_role(client, make, role)
    assert client.get("/admin/settings").status_code == 403
    refused = client.post("/admin/settings", data=form(site_title="Taken over"))
    assert refused.status_code == 403
    with app.app_context():
        assert settings.site_title() == "Penpress"


def test_anonymous_visitors_are_sent_to_log_in(client: FlaskClient) -> None:
    response = client.post("/admin/settings", data=form(site_title="Taken over"))
    assert response.status_code in (302, 303)
    assert "/auth/login" in response.headers["Location"]


def test_the_form_needs_its_csrf_token(build_app: Callable[..., Flask], make) -> None:
    app = build_app(WTF_CSRF_ENABLED=True)
    with app.app_context():
        from tests.factories import UserFactory

        admin = UserFactory(role_name="admin")
        email = admin.email
    client = app.test_client()
    assert login(client, email, csrf=True).status_code == 303
    forged = client.post("/admin/settings", data=form(site_title="Forged"))
    assert forged.status_code == 400
    with app.app_context():
        assert settings.site_title() == "Penpress"
    token = csrf_token(client, "/admin/settings")
    honest = client.post("/admin/settings", data=form(site_title="Honest", csrf_token=token))
    assert honest.status_code == 303
    with app.app_context():
        assert settings.site_title() == "Honest"


def test_the_service_refuses_non_admins(app: Flask, make) -> None:
    from penpress.errors import Forbidden, Unauthorized

    with app.app_context():
        editor = make.user(role_name="editor")
        with pytest.raises(Forbidden):
            settings.update_settings(editor, {settings.SITE_TITLE: "Mine"})
        with pytest.raises(Unauthorized):
            settings.update_settings(None, {settings.SITE_TITLE: "Mine"})


# --- logo and favicon ---------------------------------------------------------------------------


def upload(client: FlaskClient, **files: tuple[bytes, str]) -> Any:
    data: dict[str, Any] = form()
    for field, (content, name) in files.items():
        data[field] = (BytesIO(content), name)
    return client.post("/admin/settings", data=data, content_type="multipart/form-data")


def test_logo_and_favicon_are_uploaded_cleaned_and_shown(
    app: Flask, client: FlaskClient, make
) -> None:
    as_role(client, make, "admin")
    response = upload(
        client,
        logo=(images.photo_with_gps((400, 200)), "logo.jpg"),
        favicon=(images.png((64, 64)), "icon.png"),
    )
    assert response.status_code == 303
    with app.app_context():
        logo, favicon = settings.logo(), settings.favicon()
    assert logo
    assert logo.endswith(".jpg")
    assert favicon
    assert favicon.endswith(".png")
    with client.get(f"/media/{logo}") as stored:  # closes the file served
        assert stored.status_code == 200
        assert images.gps_of(stored.get_data()) == {}  # written again without its metadata
    page = client.get("/").get_data(as_text=True)
    assert f'<img class="brand-logo" src="/media/{logo}" alt="">' in page
    assert f'<link rel="icon" href="/media/{favicon}">' in page
    assert f'<meta property="og:image" content="http://localhost/media/{logo}">' in page
    site = client.get("/api/v1/site").get_json()
    assert site["logo_url"].endswith(f"/media/{logo}")
    assert site["favicon_url"].endswith(f"/media/{favicon}")

    removed = client.post("/admin/settings", data=form(remove_logo="y"))
    assert removed.status_code == 303
    with app.app_context():
        assert settings.logo() is None
        assert settings.favicon() == favicon  # untouched without its box
    assert "brand-logo" not in client.get("/").get_data(as_text=True)


def test_a_file_that_is_not_an_image_is_refused_on_its_field(
    app: Flask, client: FlaskClient, make
) -> None:
    as_role(client, make, "admin")
    response = upload(client, favicon=(b"<svg onload=alert(1)>", "icon.svg"))
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert 'id="favicon-error"' in page
    assert "not a JPEG, PNG, WebP or GIF image" in page
    with app.app_context():
        assert settings.favicon() is None


def test_a_bad_value_elsewhere_uploads_nothing(app: Flask, client: FlaskClient, make) -> None:
    as_role(client, make, "admin")
    data: dict[str, Any] = form(accent_color="purple")
    data["logo"] = (BytesIO(images.png((100, 40))), "logo.png")
    response = client.post("/admin/settings", data=data, content_type="multipart/form-data")
    assert response.status_code == 422
    with app.app_context():
        assert settings.logo() is None
        from penpress.media.models import Media

        assert db.session.scalar(db.select(db.func.count()).select_from(Media)) == 0
