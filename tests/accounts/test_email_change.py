"""Changing the email address: proof first, a link to the new address, word to the old one.

A token (or a logged-in browser) alone must not be able to move an account to another
address: the change needs the current password (site, ``/api/v1``) or a fresh login (Conduit,
see ``tests/api/realworld/test_users.py``), and it happens only when the link emailed to the
new address is followed. Until then the old address is the account's, for logging in too.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient

from penpress.accounts import email_tokens, recovery, services
from penpress.accounts.models import User
from penpress.errors import Conflict, Invalid
from penpress.extensions import db
from tests.accounts.test_recovery_routes import reload
from tests.factories import DEFAULT_PASSWORD, UserFactory
from tests.mailbox import links_in
from tests.pages import CSRF_INPUT, audit_markup, csrf_token, login

OLD = "old@example.com"
NEW = "new@example.com"


def path_of(url: str) -> str:
    return urlsplit(url).path


def mail_to(outbox: list[Any], address: str) -> Any:
    (message,) = [m for m in outbox if m.to == [address]]
    return message


def change_link(outbox: list[Any], address: str = NEW) -> str:
    (link,) = [url for url in links_in(mail_to(outbox, address)) if "/auth/email-change/" in url]
    return path_of(link)


def follow(client: FlaskClient, link: str) -> Any:
    """Open the link's page, then press its button (with the page's CSRF token, if any)."""
    page = client.get(link)
    assert page.status_code == 200, page.get_data(as_text=True)
    token = CSRF_INPUT.search(page.get_data(as_text=True))
    return client.post(link, data={"csrf_token": token.group(1)} if token else {})


def can_log_in(app: Flask, email: str) -> bool:
    return login(app.test_client(), email).status_code == 303


# --- the service ----------------------------------------------------------------------------


def test_a_change_needs_the_current_password(ctx: None, make: Any) -> None:
    user = make.user(email=OLD)
    with pytest.raises(Invalid) as missing:
        services.request_email_change(user, NEW)
    assert "current_password" in missing.value.details
    with pytest.raises(Invalid) as wrong:
        services.request_email_change(user, NEW, "not-my-password")
    assert wrong.value.details == {"current_password": [services.WRONG_PASSWORD]}
    assert (user.email, user.pending_email) == (OLD, None)


def test_a_request_changes_nothing_until_the_link_is_followed(
    app: Flask, ctx: None, make: Any, outbox: list[Any]
) -> None:
    user = make.user(email=OLD)
    assert services.request_email_change(user, " New@Example.com ", DEFAULT_PASSWORD) is True
    db.session.commit()
    assert (user.email, user.pending_email) == (OLD, NEW)
    assert services.find_user_by_email(NEW) is None  # logins and resets use the old address
    assert sorted(m.to for m in outbox) == [[NEW], [OLD]]
    assert change_link(outbox).startswith("/auth/email-change/")


def test_the_old_address_is_told_without_a_link_that_acts_on_the_account(
    ctx: None, make: Any, outbox: list[Any]
) -> None:
    user = make.user(email=OLD)
    services.request_email_change(user, NEW, DEFAULT_PASSWORD)
    db.session.commit()
    notice = mail_to(outbox, OLD)
    assert NEW in notice.body
    assert OLD in notice.body
    # Only the page where anyone asks for a reset link: no token, nothing to take over with.
    assert [path_of(url) for url in links_in(notice)] == ["/auth/reset"]


def test_the_current_address_changes_nothing(ctx: None, make: Any, outbox: list[Any]) -> None:
    user = make.user(email=OLD)
    assert services.request_email_change(user, OLD.upper()) is False  # no password needed
    db.session.commit()
    assert outbox == []
    assert user.pending_email is None


def test_a_taken_address_is_refused_at_once(ctx: None, make: Any, outbox: list[Any]) -> None:
    user = make.user(email=OLD)
    make.user(email=NEW)
    with pytest.raises(Conflict):
        services.request_email_change(user, NEW, DEFAULT_PASSWORD)


def test_an_invalid_address_is_refused_before_the_password_is_checked(ctx: None, make: Any) -> None:
    user = make.user(email=OLD)
    with pytest.raises(Invalid) as error:
        services.request_email_change(user, "not an address", "wrong")
    assert set(error.value.details) == {"email"}


# --- the link -------------------------------------------------------------------------------


@pytest.fixture
def requested(app: Flask, make: Any, outbox: list[Any]) -> tuple[User, str]:
    """A user at OLD who asked to move to NEW, and the path of the link sent to NEW."""
    user = make.user(email=OLD)
    with app.app_context():
        services.request_email_change(db.session.merge(user), NEW, DEFAULT_PASSWORD)
        db.session.commit()
    return user, change_link(outbox)


def test_following_the_link_moves_the_account(
    app: Flask, client: FlaskClient, requested: tuple[User, str]
) -> None:
    user, link = requested
    assert can_log_in(app, OLD)
    page = client.get(link)
    assert NEW in page.get_data(as_text=True)
    assert OLD not in page.get_data(as_text=True)  # whoever holds the link learns no more
    audit_markup(page.get_data(as_text=True))
    assert reload(app, user).email == OLD  # looking (or a mail scanner) changes nothing
    response = follow(client, link)
    assert response.status_code == 303
    changed = reload(app, user)
    assert (changed.email, changed.pending_email) == (NEW, None)
    assert changed.email_confirmed_at is not None  # the link proved the address
    assert can_log_in(app, NEW)
    assert not can_log_in(app, OLD)


def test_the_link_works_once(app: Flask, client: FlaskClient, requested: tuple[User, str]) -> None:
    _, link = requested
    assert follow(client, link).status_code == 303
    again = client.get(link)
    assert again.status_code == 400
    assert "not valid" in again.get_data(as_text=True)
    token = link.rsplit("/", 1)[1]
    with app.app_context(), pytest.raises(Invalid):
        recovery.change_email_with_token(token)


def test_a_newer_request_kills_the_older_link(
    app: Flask, client: FlaskClient, requested: tuple[User, str], outbox: list[Any]
) -> None:
    user, first = requested
    outbox.clear()
    with app.app_context():
        # The same address again still gets a new link, and the old one dies.
        services.request_email_change(db.session.merge(user), NEW, DEFAULT_PASSWORD)
        db.session.commit()
    second = change_link(outbox)
    assert second != first
    assert client.get(first).status_code == 400
    assert follow(client, second).status_code == 303
    assert reload(app, user).email == NEW


@pytest.mark.parametrize("how", ["change", "reset"])
def test_a_password_change_kills_the_link(
    app: Flask, client: FlaskClient, requested: tuple[User, str], how: str
) -> None:
    user, link = requested
    with app.app_context():
        me = db.session.merge(user)
        if how == "change":
            services.change_password(me, DEFAULT_PASSWORD, "a-brand-new-password")
        else:
            services.reset_password(me, "a-brand-new-password")
        db.session.commit()
    assert client.get(link).status_code == 400
    changed = reload(app, user)
    assert (changed.email, changed.pending_email) == (OLD, None)


def test_a_password_change_stops_a_link_not_sent_yet(
    app: Flask, ctx: None, make: Any, outbox: list[Any]
) -> None:
    """A link queued (a retrying email task) must not come out valid after the password that
    asked for it has been changed."""
    user = make.user(email=OLD)
    services.request_email_change(user, NEW, DEFAULT_PASSWORD)
    services.reset_password(user, "a-brand-new-password")
    assert recovery.email_change_to_send(user.id) is None


def test_the_address_is_checked_again_when_the_link_is_followed(
    app: Flask, client: FlaskClient, requested: tuple[User, str], make: Any
) -> None:
    user, link = requested
    make.user(email=NEW)  # someone registered it in the meantime
    response = follow(client, link)
    assert response.status_code == 400
    assert "already registered" in response.get_data(as_text=True)
    assert reload(app, user).email == OLD


def test_a_forged_or_foreign_token_does_nothing(app: Flask, ctx: None, make: Any) -> None:
    user = make.user(email=OLD)
    services.request_email_change(user, NEW, DEFAULT_PASSWORD)
    other = make.user()
    services.request_email_change(other, "other-new@example.com", DEFAULT_PASSWORD)
    token = email_tokens.make_email_change_token(other)
    assert recovery.check_email_change_token(token).id == other.id
    for bad in ("", "x" * 2000, token[:-2] + "xx", email_tokens.make_reset_token(user)):
        with pytest.raises(Invalid):
            recovery.check_email_change_token(bad)


def test_an_expired_link_says_so(
    app: Flask, client: FlaskClient, requested: tuple[User, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    _, link = requested
    monkeypatch.setitem(app.config, "EMAIL_CONFIRM_MAX_AGE", -1)
    response = client.get(link)
    assert response.status_code == 400
    assert "expired" in response.get_data(as_text=True)


def test_the_button_needs_a_csrf_token(
    app: Flask, client: FlaskClient, requested: tuple[User, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    user, link = requested
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", True)
    assert client.post(link).status_code == 400
    assert reload(app, user).email == OLD
    assert csrf_token(client, link)  # the page's button carries one
    assert follow(client, link).status_code == 303
    assert reload(app, user).email == NEW


# --- the profile page -----------------------------------------------------------------------


def test_the_profile_page_asks_for_the_new_address_and_the_password(
    client: FlaskClient, make: Any
) -> None:
    login(client, make.user(email=OLD).email)
    html = client.get("/auth/profile").get_data(as_text=True)
    assert 'action="/auth/profile/email"' in html
    assert 'name="email"' in html
    assert re.search(r'<input[^>]*id="email_current_password"[^>]*name="current_password"', html)


def test_the_profile_form_sends_the_link(
    app: Flask, client: FlaskClient, make: Any, outbox: list[Any]
) -> None:
    user = make.user(email=OLD)
    login(client, user.email)
    response = client.post(
        "/auth/profile/email", data={"email": NEW, "current_password": DEFAULT_PASSWORD}
    )
    assert response.status_code == 303
    html = client.get("/auth/profile").get_data(as_text=True)
    assert f"We have emailed a link to {NEW}" in html
    assert f"Changing to</dt><dd>{NEW}" in html
    assert reload(app, user).email == OLD
    assert follow(client, change_link(outbox)).status_code == 303
    assert reload(app, user).email == NEW


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"email": NEW, "current_password": "wrong-password"}, "current_password", "not correct"),
        ({"email": NEW}, "current_password", "This field is required."),
        ({"email": "nope", "current_password": DEFAULT_PASSWORD}, "email", "@-sign"),
        (
            {"email": "taken@example.com", "current_password": DEFAULT_PASSWORD},
            "email",
            "That email is already registered.",
        ),
    ],
)
def test_the_profile_form_shows_what_is_wrong(
    app: Flask,
    client: FlaskClient,
    make: Any,
    outbox: list[Any],
    data: dict[str, str],
    field: str,
    message: str,
) -> None:
    make.user(email="taken@example.com")
    user = make.user(email=OLD)
    login(client, user.email)
    response = client.post("/auth/profile/email", data=data)
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert outbox == []
    assert reload(app, user).pending_email is None


def test_the_profile_form_needs_a_login(client: FlaskClient) -> None:
    response = client.post("/auth/profile/email", data={"email": NEW, "current_password": "x"})
    assert response.status_code == 302
    assert "/auth/login" in response.headers["Location"]


def test_a_deactivated_account_cannot_be_moved(app: Flask, ctx: None, make: Any) -> None:
    user = UserFactory(email=OLD)
    services.request_email_change(user, NEW, DEFAULT_PASSWORD)
    db.session.commit()
    token = email_tokens.make_email_change_token(user)
    user.active = False
    db.session.commit()
    with pytest.raises(Invalid):
        recovery.change_email_with_token(token)
