"""Accounts pages: register, log in, log out, profile and password change."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from penpress.accounts.models import User, UserSession
from penpress.accounts.services import INVALID_LOGIN
from penpress.database import utcnow
from penpress.extensions import db
from penpress.http import safe_next
from tests.factories import DEFAULT_PASSWORD
from tests.pages import (
    CSRF_INPUT,
    REMEMBER_COOKIE,
    SESSION_COOKIE,
    copy_cookie,
    is_logged_in,
    login,
)

NEW_PASSWORD = "a-brand-new-passphrase"


def register_data(**overrides: str) -> dict[str, str]:
    data = {
        "username": "newbie",
        "email": "newbie@example.com",
        "password": "s3cret-enough",
        "password_confirm": "s3cret-enough",
    }
    data.update(overrides)
    return data


def find_user(app: Flask, **where: object) -> User | None:
    with app.app_context():
        return db.session.scalar(select(User).filter_by(**where))


def count_users(app: Flask) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(User)) or 0


def count_sessions(app: Flask, user: User) -> int:
    with app.app_context():
        stmt = select(func.count()).where(UserSession.user_id == user.id)
        return db.session.scalar(stmt) or 0


# --- register ---------------------------------------------------------------------------------


def test_register_page_has_labelled_fields(client: FlaskClient) -> None:
    response = client.get("/auth/register")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    for name in ("username", "email", "password", "password_confirm"):
        assert f'<label for="{name}">' in html
        assert f'name="{name}"' in html
    assert 'aria-describedby="username-help"' in html


def test_register_creates_the_account_and_logs_it_in(app: Flask, client: FlaskClient) -> None:
    response = client.post("/auth/register", data=register_data())
    assert response.status_code == 303
    assert response.headers["Location"] == "/"
    user = find_user(app, username="newbie")
    assert user is not None
    assert user.email == "newbie@example.com"
    assert user.password_hash.startswith("scrypt:")
    assert "Welcome to Penpress, newbie!" in client.get("/").get_data(as_text=True)
    assert is_logged_in(client)


def test_register_normalises_the_email_so_login_ignores_case(
    app: Flask, client: FlaskClient
) -> None:
    client.post("/auth/register", data=register_data(email="MixedCase@Example.COM"))
    assert find_user(app, email="mixedcase@example.com") is not None
    client.post("/auth/logout")
    assert login(client, "MIXEDCASE@example.com", "s3cret-enough").status_code == 303


HELPED_FIELDS = {"username", "password"}


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"password_confirm": "something-else"}, "password_confirm", "do not match"),
        ({"username": "no spaces allowed"}, "username", "Username must be"),
        ({"username": ""}, "username", "This field is required."),
        ({"email": "not-an-email"}, "email", "email address"),
        ({"password": "short", "password_confirm": "short"}, "password", "8 to 128"),
    ],
)
def test_register_shows_validation_errors_next_to_the_field(
    app: Flask, client: FlaskClient, overrides: dict[str, str], field: str, message: str
) -> None:
    response = client.post("/auth/register", data=register_data(**overrides))
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert f'<ul class="field-errors" id="{field}-error">' in html
    # Fields with help text (username, password) are described by both, the help first.
    described_by = f"{field}-help {field}-error" if field in HELPED_FIELDS else f"{field}-error"
    assert f'aria-describedby="{described_by}"' in html
    assert message in html
    assert count_users(app) == 0
    assert not is_logged_in(client)


def test_register_refuses_a_taken_username_or_email(app: Flask, client: FlaskClient, make) -> None:
    make.user(username="taken", email="taken@example.com")
    response = client.post(
        "/auth/register", data=register_data(username="TAKEN", email="Taken@example.com")
    )
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "That username is taken." in html
    assert "That email is already registered." in html
    assert count_users(app) == 1


def test_register_when_logged_in_goes_home(client: FlaskClient, make) -> None:
    user = make.user()
    login(client, user.email)
    response = client.get("/auth/register")
    assert response.status_code == 302
    assert response.headers["Location"] == "/"


# --- login ------------------------------------------------------------------------------------


def test_login_page_has_labelled_fields(client: FlaskClient) -> None:
    html = client.get("/auth/login").get_data(as_text=True)
    for name in ("email", "password", "remember"):
        assert f'<label for="{name}">' in html
    assert 'type="checkbox"' in html


def test_login_succeeds_and_starts_a_server_side_session(
    app: Flask, client: FlaskClient, make
) -> None:
    user = make.user()
    response = login(client, user.email)
    assert response.status_code == 303
    assert response.headers["Location"] == "/"
    assert is_logged_in(client)
    assert count_sessions(app, user) == 1
    # The cookie carries the session's secret, never the user id.
    cookie = client.get_cookie(SESSION_COOKIE)
    assert cookie is not None
    assert client.get_cookie(REMEMBER_COOKIE) is None


def test_login_goes_back_to_a_same_site_next_path(client: FlaskClient, make) -> None:
    user = make.user()
    redirect = client.get("/auth/profile")
    assert redirect.status_code == 302
    assert redirect.headers["Location"] == "/auth/login?next=%2Fauth%2Fprofile"
    response = login(client, user.email, next="%2Fauth%2Fprofile")
    assert response.headers["Location"] == "/auth/profile"


@pytest.mark.parametrize(
    "target",
    [
        "//evil.example",
        "https://evil.example/",
        "http:evil.example",
        "%5C%5Cevil.example",  # \\evil.example
        "/%5Cevil.example",  # /\evil.example
        "/%09/evil.example",  # a tab that browsers drop
        "javascript:alert(1)",
        "evil.example",
        "%2F%2Fevil.example",
    ],
)
def test_login_never_redirects_off_site(client: FlaskClient, make, target: str) -> None:
    user = make.user()
    response = login(client, user.email, next=target)
    assert response.status_code == 303
    assert response.headers["Location"] == "/"


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("/blog/my-posts?page=2", "/blog/my-posts?page=2"),
        ("/", "/"),
        (None, None),
        ("", None),
        ("//evil", None),
        ("\\\\evil", None),
        ("/\\evil", None),
        ("https://evil", None),
        ("/\r\n/evil", None),
    ],
)
def test_safe_next_accepts_only_local_paths(target: str | None, expected: str | None) -> None:
    assert safe_next(target) == expected


def test_login_failure_never_reveals_whether_the_email_exists(client: FlaskClient, make) -> None:
    user = make.user()
    unknown = login(client, "nobody@example.com", "whatever-password")
    wrong = login(client, user.email, "wrong-password")
    assert unknown.status_code == wrong.status_code == 422
    for response in (unknown, wrong):
        html = response.get_data(as_text=True)
        assert INVALID_LOGIN in html
        assert html.count('role="alert"') == 1
    # Apart from the echoed email (and the CSRF token's timestamp) the pages are the same.
    pages = [
        CSRF_INPUT.sub("", r.get_data(as_text=True)).replace("nobody@example.com", user.email)
        for r in (unknown, wrong)
    ]
    assert pages[0] == pages[1]
    assert not is_logged_in(client)


def test_login_with_missing_fields_is_a_validation_error(client: FlaskClient) -> None:
    response = client.post("/auth/login", data={"email": "", "password": ""})
    assert response.status_code == 422
    assert "This field is required." in response.get_data(as_text=True)


def test_inactive_user_cannot_log_in(app: Flask, client: FlaskClient, make) -> None:
    user = make.user(active=False)
    response = login(client, user.email)
    assert response.status_code == 422
    assert "deactivated" in response.get_data(as_text=True)
    assert not is_logged_in(client)
    assert count_sessions(app, user) == 0


def test_logging_in_as_someone_else_ends_the_previous_session(
    app: Flask, client: FlaskClient, make
) -> None:
    first, second = make.user(), make.user()
    login(client, first.email)
    login(client, second.email)
    assert count_sessions(app, first) == 0
    assert count_sessions(app, second) == 1


def test_login_page_when_logged_in_goes_to_next(client: FlaskClient, make) -> None:
    user = make.user()
    login(client, user.email)
    response = client.get("/auth/login?next=/about")
    assert response.status_code == 302
    assert response.headers["Location"] == "/about"


# --- logout -----------------------------------------------------------------------------------


def test_logout_is_post_only(client: FlaskClient, make) -> None:
    user = make.user()
    login(client, user.email)
    response = client.get("/auth/logout")
    assert response.status_code == 405
    assert is_logged_in(client)


def test_logout_ends_the_session(app: Flask, client: FlaskClient, make) -> None:
    user = make.user()
    login(client, user.email)
    response = client.post("/auth/logout")
    assert response.status_code == 303
    assert response.headers["Location"] == "/"
    assert not is_logged_in(client)
    assert count_sessions(app, user) == 0
    assert "You have been logged out." in client.get("/").get_data(as_text=True)


def test_logout_when_anonymous_just_goes_home(client: FlaskClient) -> None:
    response = client.post("/auth/logout")
    assert response.status_code == 303
    assert response.headers["Location"] == "/"


def test_copied_session_cookie_stops_working_after_logout(
    app: Flask, client: FlaskClient, make
) -> None:
    user = make.user()
    login(client, user.email)
    thief = app.test_client()
    copy_cookie(client, thief, SESSION_COOKIE)
    assert is_logged_in(thief)
    client.post("/auth/logout")
    assert not is_logged_in(thief)


def test_copied_remember_cookie_stops_working_after_logout(
    app: Flask, client: FlaskClient, make
) -> None:
    user = make.user()
    login(client, user.email, remember=True)
    thief = app.test_client()
    copy_cookie(client, thief, REMEMBER_COOKIE)
    assert is_logged_in(thief), "a remember-me cookie alone logs in"
    response = client.post("/auth/logout")
    # The browser is told to drop the remember-me cookie as well.
    cleared = [h for h in response.headers.getlist("Set-Cookie") if h.startswith("remember")]
    assert cleared
    assert "Expires=Thu, 01 Jan 1970" in cleared[0]
    fresh_thief = app.test_client()
    copy_cookie(thief, fresh_thief, REMEMBER_COOKIE)
    assert not is_logged_in(fresh_thief)


# --- profile ----------------------------------------------------------------------------------


def test_profile_needs_login(client: FlaskClient) -> None:
    for response in (
        client.get("/auth/profile"),
        client.post("/auth/profile", data={"bio": "x"}),
        client.post("/auth/profile/password", data={}),
    ):
        assert response.status_code == 302
        assert response.headers["Location"].startswith("/auth/login?next=")


def test_profile_shows_the_account(client: FlaskClient, make) -> None:
    user = make.user(bio="I write things.", image_url="https://img.example/me.png")
    login(client, user.email)
    html = client.get("/auth/profile").get_data(as_text=True)
    assert user.username in html
    assert user.email in html
    assert "I write things." in html
    assert 'src="https://img.example/me.png"' in html
    assert f'href="/blog/author/{user.username}"' in html
    for name in ("bio", "image_url", "current_password", "new_password"):
        assert f'<label for="{name}">' in html


def test_profile_edit_saves_bio_and_picture(app: Flask, client: FlaskClient, make) -> None:
    user = make.user()
    login(client, user.email)
    response = client.post(
        "/auth/profile", data={"bio": "  Hello there.  ", "image_url": "https://img.example/a.png"}
    )
    assert response.status_code == 303
    assert response.headers["Location"] == "/auth/profile"
    saved = find_user(app, id=user.id)
    assert saved is not None
    assert saved.bio == "Hello there."
    assert saved.image_url == "https://img.example/a.png"
    client.post("/auth/profile", data={"bio": "", "image_url": ""})
    cleared = find_user(app, id=user.id)
    assert cleared is not None
    assert cleared.bio == ""
    assert cleared.image_url is None


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"image_url": "javascript:alert(1)"}, "image_url", "Image must be an http(s) URL."),
        ({"image_url": "ftp://files.example/me.png"}, "image_url", "http(s) URL"),
        ({"bio": "x" * 2001}, "bio", "2000"),
    ],
)
def test_profile_edit_rejects_invalid_values(
    app: Flask, client: FlaskClient, make, data: dict[str, str], field: str, message: str
) -> None:
    user = make.user(bio="unchanged")
    login(client, user.email)
    response = client.post("/auth/profile", data=data)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert f'id="{field}-error"' in html
    assert message in html
    saved = find_user(app, id=user.id)
    assert saved is not None
    assert saved.bio == "unchanged"
    assert saved.image_url is None


# --- password change --------------------------------------------------------------------------


def change_password(client: FlaskClient, current: str = DEFAULT_PASSWORD, new: str = NEW_PASSWORD):
    return client.post(
        "/auth/profile/password",
        data={"current_password": current, "new_password": new, "new_password_confirm": new},
    )


def test_password_change_keeps_this_browser_logged_in(
    app: Flask, client: FlaskClient, make
) -> None:
    user = make.user()
    login(client, user.email)
    response = change_password(client)
    assert response.status_code == 303
    assert is_logged_in(client)
    assert count_sessions(app, user) == 1
    client.post("/auth/logout")
    assert login(client, user.email, DEFAULT_PASSWORD).status_code == 422
    assert login(client, user.email, NEW_PASSWORD).status_code == 303


def test_password_change_ends_every_other_session(app: Flask, client: FlaskClient, make) -> None:
    user = make.user()
    login(client, user.email, remember=True)
    copied_session = app.test_client()
    copy_cookie(client, copied_session, SESSION_COOKIE)
    copied_remember = app.test_client()
    copy_cookie(client, copied_remember, REMEMBER_COOKIE)
    other_device = app.test_client()
    login(other_device, user.email)
    assert is_logged_in(copied_session)
    assert is_logged_in(other_device)

    assert change_password(client).status_code == 303

    assert is_logged_in(client)
    assert not is_logged_in(other_device)
    assert not is_logged_in(copied_session)
    remember_only = app.test_client()
    copy_cookie(copied_remember, remember_only, REMEMBER_COOKIE)
    assert not is_logged_in(remember_only)
    # This browser asked to be remembered: its new remember-me cookie works on its own.
    new_remember = app.test_client()
    copy_cookie(client, new_remember, REMEMBER_COOKIE)
    assert is_logged_in(new_remember)


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        (
            {"current_password": "not-it", "new_password": NEW_PASSWORD},
            "current_password",
            "Your current password is not correct.",
        ),
        ({"new_password": "short", "new_password_confirm": "short"}, "new_password", "8 to 128"),
        ({"new_password_confirm": "different-one"}, "new_password_confirm", "do not match"),
        ({"current_password": ""}, "current_password", "This field is required."),
    ],
)
def test_password_change_rejects_invalid_input(
    app: Flask, client: FlaskClient, make, data: dict[str, str], field: str, message: str
) -> None:
    user = make.user()
    login(client, user.email)
    form = {
        "current_password": DEFAULT_PASSWORD,
        "new_password": NEW_PASSWORD,
        "new_password_confirm": NEW_PASSWORD,
    }
    form.update(data)
    response = client.post("/auth/profile/password", data=form)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert f'id="{field}-error"' in html
    assert message in html
    # Nothing changed: still logged in with the old password.
    assert is_logged_in(client)
    client.post("/auth/logout")
    assert login(client, user.email, DEFAULT_PASSWORD).status_code == 303


def test_service_errors_without_a_matching_field_show_above_the_form(app: Flask) -> None:
    from penpress.accounts.forms import LoginForm
    from penpress.errors import Conflict, Invalid
    from penpress.forms import apply_errors

    with app.test_request_context("/auth/login", method="POST"):
        form = LoginForm()
        apply_errors(form, Invalid("Bad.", {"password": ["Too weak."], "elsewhere": ["Odd."]}))
        apply_errors(form, Conflict("Someone else changed it."))
        assert form.password.errors == ["Too weak."]
        assert form.form_errors == ["Odd.", "Someone else changed it."]


# --- recovery links -----------------------------------------------------------------------


def test_the_login_page_links_to_the_password_reset(client: FlaskClient) -> None:
    html = client.get("/auth/login").get_data(as_text=True)
    assert '<a href="/auth/reset">Forgot your password?</a>' in html
    assert client.get("/auth/reset").status_code == 200


def test_the_profile_offers_to_resend_the_confirmation_until_confirmed(
    app: Flask, client: FlaskClient, make
) -> None:
    user = make.user()
    login(client, user.email)
    html = client.get("/auth/profile").get_data(as_text=True)
    assert 'action="/auth/confirm/resend"' in html
    assert "Send the link again" in html

    with app.app_context():
        db.session.get_one(User, user.id).email_confirmed_at = utcnow()
        db.session.commit()
    assert 'action="/auth/confirm/resend"' not in client.get("/auth/profile").get_data(as_text=True)
