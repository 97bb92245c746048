"""The pages behind emailed links: confirm an address, reset a forgotten password."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

import pytest
from flask import Flask
from werkzeug.security import check_password_hash

from penpress.accounts import email_tokens, sessions
from penpress.accounts.models import SessionKind, User
from penpress.accounts.recovery_routes import RESET_REQUESTED
from penpress.database import utcnow
from penpress.extensions import db
from tests import factories
from tests.factories import DEFAULT_PASSWORD
from tests.mailbox import html_of, links_in
from tests.pages import is_logged_in


def reload(app: Flask, user: User) -> User:
    with app.app_context():
        found = db.session.get(User, user.id)
        assert found is not None
        return found


def path_of(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def confirmation_token(app: Flask, user: User) -> str:
    with app.app_context():
        return email_tokens.make_confirmation_token(reload(app, user))


def reset_token(app: Flask, user: User) -> str:
    with app.app_context():
        return email_tokens.make_reset_token(reload(app, user))


@pytest.fixture
def csrf_on(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", True)


@pytest.fixture
def limited(build_app: Any) -> Flask:
    """An app of its own with rate limits on (the shared test app has them off)."""
    app: Flask = build_app(RATELIMIT_ENABLED=True)
    app.extensions["mailman"].outbox = []
    return app


def logged_in_client(app: Flask) -> Any:
    """A client of ``app`` with a browser session for a new, unconfirmed user."""
    client = app.test_client()
    with app.app_context():
        user = factories.UserFactory(email_confirmed_at=None)
        secret, _ = sessions.start_session(user, SessionKind.WEB, timedelta(hours=1))
        db.session.commit()
    with client.session_transaction() as session:
        session["_user_id"] = secret
        session["_fresh"] = True
    return client


# --- email confirmation -----------------------------------------------------------------


def test_confirmation_link_confirms_the_address(app: Flask, client: Any, make: Any) -> None:
    user = make.user()
    response = client.get(f"/auth/confirm/{confirmation_token(app, user)}")
    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    assert reload(app, user).email_confirmed_at is not None
    page = client.get("/auth/reset")  # any page shows the flashed message
    assert b"your email address is confirmed" in page.data


def test_confirmation_link_works_twice_without_harm(app: Flask, client: Any, make: Any) -> None:
    user = make.user()
    token = confirmation_token(app, user)
    assert client.get(f"/auth/confirm/{token}").status_code == 302
    first = reload(app, user).email_confirmed_at
    assert client.get(f"/auth/confirm/{token}").status_code == 302
    assert reload(app, user).email_confirmed_at == first


@pytest.mark.parametrize("token", ["garbage", "a.b.c", "x" * 3000])
def test_bad_confirmation_link_says_so(client: Any, token: str) -> None:
    response = client.get(f"/auth/confirm/{token}")
    assert response.status_code == 400
    assert email_tokens.INVALID_CONFIRMATION.encode() in response.data
    assert b'href="/auth/login"' in response.data


def test_bad_confirmation_link_sends_logged_in_users_to_their_profile(
    client: Any, make: Any, login: Any
) -> None:
    login(client, make.user())
    response = client.get("/auth/confirm/garbage")
    assert response.status_code == 400
    assert b'href="/auth/profile"' in response.data


def test_expired_confirmation_link_says_so(
    app: Flask, client: Any, make: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    user = make.user()
    token = confirmation_token(app, user)
    monkeypatch.setitem(app.config, "EMAIL_CONFIRM_MAX_AGE", -1)
    response = client.get(f"/auth/confirm/{token}")
    assert response.status_code == 400
    assert b"has expired" in response.data
    assert reload(app, user).email_confirmed_at is None


def test_resend_sends_a_fresh_link_to_an_unconfirmed_user(
    app: Flask, client: Any, make: Any, login: Any, outbox: list[Any]
) -> None:
    user = make.user(email="unconfirmed@example.com")
    login(client, user)
    response = client.post("/auth/confirm/resend")
    assert response.status_code == 302
    assert response.headers["Location"] == "/auth/profile"
    assert [m.to for m in outbox] == [["unconfirmed@example.com"]]
    (link,) = [url for url in links_in(outbox[0]) if "/auth/confirm/" in url]
    assert link in html_of(outbox[0])
    assert client.get(path_of(link)).status_code == 302
    assert reload(app, user).email_confirmed_at is not None


def test_resend_to_a_confirmed_user_sends_nothing(
    client: Any, make: Any, login: Any, outbox: list[Any]
) -> None:
    login(client, make.user(email_confirmed_at=utcnow()))
    assert client.post("/auth/confirm/resend").status_code == 302
    assert outbox == []


def test_resend_needs_a_login(client: Any, outbox: list[Any]) -> None:
    assert client.post("/auth/confirm/resend").status_code == 401
    assert outbox == []


def test_resend_needs_a_csrf_token(
    client: Any, make: Any, login: Any, outbox: list[Any], csrf_on: None
) -> None:
    login(client, make.user())
    assert client.post("/auth/confirm/resend").status_code == 400
    assert outbox == []


def test_resend_is_rate_limited(limited: Flask) -> None:
    client = logged_in_client(limited)
    statuses = [client.post("/auth/confirm/resend").status_code for _ in range(6)]
    assert statuses == [302] * 5 + [429]
    assert len(limited.extensions["mailman"].outbox) == 5


# --- password reset -----------------------------------------------------------------------


def test_reset_request_page_has_a_protected_form(client: Any, csrf_on: None) -> None:
    response = client.get("/auth/reset")
    assert response.status_code == 200
    assert b'name="email"' in response.data
    assert b'name="csrf_token"' in response.data


def test_reset_request_answers_the_same_whether_or_not_the_address_is_known(
    client: Any, make: Any, outbox: list[Any]
) -> None:
    make.user(email="known@example.com")
    known = client.post("/auth/reset", data={"email": "Known@Example.com"})
    unknown = client.post("/auth/reset", data={"email": "nobody@example.com"})
    assert known.status_code == unknown.status_code == 302
    assert known.headers["Location"] == unknown.headers["Location"] == "/auth/reset"
    assert [m.to for m in outbox] == [["known@example.com"]]
    page = client.get("/auth/reset")
    assert RESET_REQUESTED.encode() in page.data.replace(b"&#39;", b"'")


def test_reset_request_for_a_deactivated_account_sends_nothing(
    client: Any, make: Any, outbox: list[Any]
) -> None:
    make.user(email="banned@example.com", active=False)
    assert client.post("/auth/reset", data={"email": "banned@example.com"}).status_code == 302
    assert outbox == []


def test_reset_request_with_a_malformed_address_is_422(client: Any, outbox: list[Any]) -> None:
    response = client.post("/auth/reset", data={"email": "not an address"})
    assert response.status_code == 422
    assert b"Invalid email address" in response.data
    assert outbox == []


def test_reset_request_needs_a_csrf_token(
    client: Any, make: Any, outbox: list[Any], csrf_on: None
) -> None:
    make.user(email="csrf@example.com")
    assert client.post("/auth/reset", data={"email": "csrf@example.com"}).status_code == 400
    assert outbox == []


def test_reset_requests_are_rate_limited(limited: Flask) -> None:
    client = limited.test_client()
    statuses = [
        client.post("/auth/reset", data={"email": f"n{i}@example.com"}).status_code
        for i in range(6)
    ]
    assert statuses == [302] * 5 + [429]
    assert client.get("/auth/reset").status_code == 200  # reading the form is not limited


def test_reset_link_sets_a_new_password_and_ends_other_logins(
    app: Flask, make: Any, login: Any, outbox: list[Any]
) -> None:
    user = make.user(email="forgetful@example.com")
    elsewhere = app.test_client()
    login(elsewhere, user)
    assert elsewhere.post("/auth/confirm/resend").status_code == 302  # logged in there

    outbox.clear()
    client = app.test_client()
    client.post("/auth/reset", data={"email": "forgetful@example.com"})
    (message,) = outbox
    assert message.subject == "Reset your password"
    (link,) = [url for url in links_in(message) if "/auth/reset/" in url]
    assert link in html_of(message)

    form = client.get(path_of(link))
    assert form.status_code == 200
    assert user.username.encode() in form.data
    new_password = "a-much-better-password"
    response = client.post(
        path_of(link), data={"password": new_password, "password_confirm": new_password}
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "/"

    changed = reload(app, user)
    assert check_password_hash(changed.password_hash, new_password)
    assert not check_password_hash(changed.password_hash, DEFAULT_PASSWORD)
    assert changed.email_confirmed_at is not None  # the link proved the address
    assert elsewhere.post("/auth/confirm/resend").status_code == 401  # that login ended
    assert client.post("/auth/confirm/resend").status_code == 302  # this browser is logged in

    again = client.get(path_of(link))
    assert again.status_code == 400
    assert b"already been used" in again.data
    reused = client.post(path_of(link), data={"password": "x" * 12, "password_confirm": "x" * 12})
    assert reused.status_code == 400
    assert check_password_hash(reload(app, user).password_hash, new_password)


def test_reset_with_mismatched_or_short_passwords_is_422(
    app: Flask, client: Any, make: Any
) -> None:
    user = make.user()
    token = reset_token(app, user)
    mismatch = client.post(
        f"/auth/reset/{token}",
        data={"password": "first-password-1", "password_confirm": "second-password-2"},
    )
    assert mismatch.status_code == 422
    assert b"The passwords do not match." in mismatch.data
    short = client.post(
        f"/auth/reset/{token}", data={"password": "short", "password_confirm": "short"}
    )
    assert short.status_code == 422
    assert check_password_hash(reload(app, user).password_hash, DEFAULT_PASSWORD)


@pytest.mark.parametrize("token", ["garbage", "a.b.c", "x" * 3000])
def test_bad_reset_link_says_so(
    app: Flask, client: Any, make: Any, outbox: list[Any], token: str
) -> None:
    user = make.user()
    for response in (
        client.get(f"/auth/reset/{token}"),
        client.post(
            f"/auth/reset/{token}", data={"password": "p" * 10, "password_confirm": "p" * 10}
        ),
    ):
        assert response.status_code == 400
        assert email_tokens.INVALID_RESET.encode() in response.data
        assert b'href="/auth/reset"' in response.data
    # Nobody's password changed, nobody was logged in or emailed.
    assert check_password_hash(reload(app, user).password_hash, DEFAULT_PASSWORD)
    assert not is_logged_in(client)
    assert outbox == []


def test_expired_reset_link_says_so(
    app: Flask, client: Any, make: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = reset_token(app, make.user())
    monkeypatch.setitem(app.config, "PASSWORD_RESET_MAX_AGE", -1)
    response = client.get(f"/auth/reset/{token}")
    assert response.status_code == 400
    assert b"has expired" in response.data


def test_reset_form_needs_a_csrf_token(app: Flask, client: Any, make: Any, csrf_on: None) -> None:
    user = make.user()
    token = reset_token(app, user)
    response = client.post(
        f"/auth/reset/{token}", data={"password": "p" * 12, "password_confirm": "p" * 12}
    )
    assert response.status_code == 400
    assert check_password_hash(reload(app, user).password_hash, DEFAULT_PASSWORD)


def test_links_use_the_configured_site_url(
    app: Flask, client: Any, make: Any, outbox: list[Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    make.user(email="sited@example.com")
    monkeypatch.setitem(app.config, "SITE_URL", "https://blog.example.org/")
    client.post("/auth/reset", data={"email": "sited@example.com"}, headers={"Host": "evil.test"})
    (link,) = [url for url in links_in(outbox[0]) if "/auth/reset/" in url]
    assert link.startswith("https://blog.example.org/auth/reset/")


def test_password_rules_of_the_service_show_on_the_form(
    app: Flask, client: Any, make: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from penpress.accounts import services
    from penpress.errors import Invalid

    def stricter(password: str, field: str = "password") -> str:
        raise Invalid.field(field, "That password is on a list of leaked passwords.")

    monkeypatch.setattr(services, "check_password", stricter)
    user = make.user()
    token = reset_token(app, user)
    response = client.post(
        f"/auth/reset/{token}", data={"password": "p" * 12, "password_confirm": "p" * 12}
    )
    assert response.status_code == 422
    assert b"leaked passwords" in response.data
    assert check_password_hash(reload(app, user).password_hash, DEFAULT_PASSWORD)
