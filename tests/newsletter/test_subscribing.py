"""Subscribing: the form on every page, double opt-in, one click for signed-in readers,
unsubscribing, the same answer for every address, rate limits."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from penpress.database import utcnow
from penpress.extensions import db
from penpress.newsletter.models import (
    CONFIRMED,
    PAUSED,
    PENDING,
    QUEUED,
    SKIPPED,
    UNSUBSCRIBED,
    Delivery,
    NewsletterSend,
)
from penpress.newsletter.tokens import make_unsubscribe_token
from tests.html_dom import parse
from tests.mailbox import html_of
from tests.newsletter.conftest import FORM, add_subscriber, link_to, subscriber_of, to
from tests.pages import csrf_token


@pytest.fixture
def csrf_on(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", True)


def footer_form(html: str) -> Any:
    return parse(html).find("section", **{"class": "newsletter-signup"})


# --- the form on every page -----------------------------------------------------------------


@pytest.mark.usefixtures("csrf_on")
def test_every_page_has_a_subscribe_form_without_a_per_visitor_token(
    client: FlaskClient, make: Any
) -> None:
    post = make.post(title="Footer proof")
    for path in ("/", "/blog/", f"/blog/post/{post.slug}", "/about", "/auth/login"):
        response = client.get(path)
        assert response.status_code == 200, path
        section = footer_form(response.get_data(as_text=True))
        form = section.find("form")
        assert form.attrs["action"] == FORM
        assert form.attrs["method"] == "post"
        assert [i.attrs["name"] for i in form.find_all("input")] == ["email"]
    # The home page holds nothing per visitor, so a page cache may serve it to everyone.
    fresh = client.application.test_client()
    home = fresh.get("/").get_data(as_text=True)
    assert "csrf_token" not in home
    assert fresh.get_cookie("session") is None


@pytest.mark.usefixtures("csrf_on")
def test_the_form_works_without_a_csrf_token_and_double_opt_in_confirms(
    app: Flask, client: FlaskClient, outbox: list[Any]
) -> None:
    response = client.post(FORM, data={"email": "Reader@Example.com"})
    assert response.status_code == 303
    assert response.headers["Location"] == "/newsletter/requested"
    assert client.get("/newsletter/requested").status_code == 200
    found = subscriber_of(app, "reader@example.com")
    assert found is not None
    assert found.status == PENDING
    assert found.source == "form"

    (email,) = to(outbox, "reader@example.com")
    assert "Confirm your subscription" in email.subject
    link = link_to(email, "/newsletter/confirm/")
    assert link in html_of(email)

    # Opening the link (a mail scanner, say) confirms nothing: the page has a button.
    page = client.get(link)
    assert page.status_code == 200
    assert "reader@example.com" in page.get_data(as_text=True)
    button = parse(page.get_data(as_text=True)).find("form", method="post")
    assert button.attrs["action"] == link
    assert subscriber_of(app, "reader@example.com").status == PENDING

    # The button's POST needs no session token: the signed link is the proof.
    confirmed = app.test_client().post(link)
    assert confirmed.status_code == 200
    assert "You are subscribed" in confirmed.get_data(as_text=True)
    after = subscriber_of(app, "reader@example.com")
    assert after.status == CONFIRMED
    assert after.confirmed_at is not None

    # The link works once.
    assert client.post(link).status_code == 400
    assert client.get(link).status_code == 400


def test_the_answer_is_the_same_for_known_and_unknown_addresses(
    app: Flask, client: FlaskClient, outbox: list[Any]
) -> None:
    add_subscriber(app, "confirmed@example.com", CONFIRMED)
    add_subscriber(app, "waiting@example.com", PENDING, confirm_nonce="a" * 32)
    add_subscriber(app, "gone@example.com", UNSUBSCRIBED)
    answers = []
    for address in (
        "new@example.com",
        "confirmed@example.com",
        "waiting@example.com",
        "gone@example.com",
    ):
        response = client.post(FORM, data={"email": address}, follow_redirects=True)
        answers.append((response.status_code, response.get_data(as_text=True)))
    assert len(set(answers)) == 1
    assert answers[0][0] == 200
    # Everyone but the confirmed address gets a link; the confirmed one gets nothing at all.
    assert sorted(message.to[0] for message in outbox) == [
        "gone@example.com",
        "new@example.com",
        "waiting@example.com",
    ]
    assert subscriber_of(app, "gone@example.com").status == UNSUBSCRIBED  # until they confirm


def test_an_unsubscribed_reader_is_back_only_after_confirming_again(
    app: Flask, client: FlaskClient, outbox: list[Any]
) -> None:
    add_subscriber(app, "again@example.com", UNSUBSCRIBED)
    client.post(FORM, data={"email": "again@example.com"})
    link = link_to(to(outbox, "again@example.com")[0], "/newsletter/confirm/")
    assert subscriber_of(app, "again@example.com").status == UNSUBSCRIBED
    assert client.post(link).status_code == 200
    assert subscriber_of(app, "again@example.com").status == CONFIRMED


@pytest.mark.parametrize("value", ["", "not-an-address", "a@b", "x" * 300 + "@example.com"])
def test_a_malformed_address_is_a_form_error(
    app: Flask, client: FlaskClient, value: str, outbox: list[Any]
) -> None:
    response = client.post(FORM, data={"email": value})
    assert response.status_code == 422
    page = parse(response.get_data(as_text=True))
    assert page.find_all("ul", **{"class": "field-errors"})
    assert outbox == []


def test_confirmation_links_expire_and_cannot_be_forged(
    app: Flask, client: FlaskClient, outbox: list[Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    client.post(FORM, data={"email": "late@example.com"})
    link = link_to(to(outbox, "late@example.com")[0], "/newsletter/confirm/")
    assert client.post(link[:-3] + "abc").status_code == 400
    assert client.get("/newsletter/confirm/" + "x" * 600).status_code == 400
    monkeypatch.setitem(app.config, "NEWSLETTER_CONFIRM_MAX_AGE", -1)
    expired = client.post(link)
    assert expired.status_code == 400
    assert "expired" in expired.get_data(as_text=True)
    assert subscriber_of(app, "late@example.com").status == PENDING


# --- signed-in readers ----------------------------------------------------------------------


@pytest.mark.usefixtures("csrf_on")
def test_a_signed_in_reader_with_a_confirmed_address_subscribes_with_one_click(
    app: Flask, client: FlaskClient, make: Any, login: Any, outbox: list[Any]
) -> None:
    reader = make.user(role_name="reader", email="me@example.com", email_confirmed_at=utcnow())
    login(client, reader)
    page = client.get("/blog/").get_data(as_text=True)
    form = footer_form(page).find("form")
    assert form.attrs["action"] == "/newsletter/account/subscribe?next=/blog/"
    assert client.post("/newsletter/account/subscribe").status_code == 400  # no CSRF token
    token = csrf_token(client, "/blog/")
    response = client.post("/newsletter/account/subscribe?next=/blog/", data={"csrf_token": token})
    assert response.status_code == 303
    assert response.headers["Location"] == "/blog/"
    found = subscriber_of(app, "me@example.com")
    assert found.status == CONFIRMED
    assert found.source == "account"
    assert outbox == []  # no second confirmation
    status = client.get("/newsletter/").get_data(as_text=True)
    assert "New posts are emailed to" in status

    # And out again, from the newsletter page.
    token = csrf_token(client, "/newsletter/")
    assert (
        client.post("/newsletter/account/unsubscribe", data={"csrf_token": token}).status_code
        == 303
    )
    assert subscriber_of(app, "me@example.com").status == UNSUBSCRIBED


def test_a_signed_in_reader_with_an_unconfirmed_address_gets_a_confirmation_link(
    app: Flask, client: FlaskClient, make: Any, login: Any, outbox: list[Any]
) -> None:
    reader = make.user(role_name="reader", email="unsure@example.com", email_confirmed_at=None)
    login(client, reader)
    assert client.post("/newsletter/account/subscribe").status_code == 303
    assert subscriber_of(app, "unsure@example.com").status == PENDING
    (email,) = to(outbox, "unsure@example.com")
    assert client.post(link_to(email, "/newsletter/confirm/")).status_code == 200
    assert subscriber_of(app, "unsure@example.com").status == CONFIRMED


def test_a_paused_reader_who_subscribes_from_their_account_is_mailed_again(
    app: Flask, client: FlaskClient, make: Any, login: Any
) -> None:
    reader = make.user(email="bouncy@example.com", email_confirmed_at=utcnow())
    add_subscriber(app, "bouncy@example.com", PAUSED, failures=3)
    login(client, reader)
    assert "refused by its mail server" in client.get("/newsletter/").get_data(as_text=True)
    client.post("/newsletter/account/subscribe")
    after = subscriber_of(app, "bouncy@example.com")
    assert (after.status, after.failures) == (CONFIRMED, 0)


def test_account_buttons_send_anonymous_visitors_to_login(client: FlaskClient) -> None:
    for path in ("/newsletter/account/subscribe", "/newsletter/account/unsubscribe"):
        response = client.post(path)
        assert response.status_code == 302
        assert response.headers["Location"].startswith("/auth/login")


# --- unsubscribing --------------------------------------------------------------------------


def unsubscribe_path(app: Flask, email: str) -> str:
    found = subscriber_of(app, email)
    assert found is not None
    with app.app_context():
        return f"/newsletter/unsubscribe/{make_unsubscribe_token(found.id, found.secret)}"


@pytest.mark.usefixtures("csrf_on")
def test_the_unsubscribe_page_asks_and_its_button_unsubscribes_without_a_session(
    app: Flask, client: FlaskClient
) -> None:
    add_subscriber(app, "leaving@example.com")
    path = unsubscribe_path(app, "leaving@example.com")
    page = client.get(path)
    assert page.status_code == 200
    assert "leaving@example.com" in page.get_data(as_text=True)
    assert subscriber_of(app, "leaving@example.com").status == CONFIRMED  # a GET changes nothing
    response = app.test_client().post(path)
    assert response.status_code == 200
    assert "You are unsubscribed" in response.get_data(as_text=True)
    assert subscriber_of(app, "leaving@example.com").status == UNSUBSCRIBED
    assert app.test_client().post(path).status_code == 200  # again: still unsubscribed


@pytest.mark.usefixtures("csrf_on")
def test_one_click_unsubscribe_of_rfc_8058(app: Flask, make: Any) -> None:
    subscriber = add_subscriber(app, "oneclick@example.com")
    post = make.post()
    with app.app_context():
        send = NewsletterSend(post_id=post.id, state="started")
        db.session.add(send)
        db.session.flush()
        db.session.add(Delivery(send_id=send.id, subscriber_id=subscriber.id, state=QUEUED))
        db.session.commit()
    path = unsubscribe_path(app, "oneclick@example.com")
    stranger = app.test_client()  # no cookies at all, as a mail provider's server
    response = stranger.post(path, data={"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200
    assert response.mimetype == "text/plain"
    assert stranger.get_cookie("session") is None
    assert subscriber_of(app, "oneclick@example.com").status == UNSUBSCRIBED
    # The send under way skips them from now on.
    with app.app_context():
        assert set(db.session.scalars(select(Delivery.state))) == {SKIPPED}


def test_bad_unsubscribe_links_are_refused(app: Flask, client: FlaskClient) -> None:
    add_subscriber(app, "kept@example.com")
    path = unsubscribe_path(app, "kept@example.com")
    assert client.get(path + "x").status_code == 400
    refused = client.post(path + "x", data={"List-Unsubscribe": "One-Click"})
    assert refused.status_code == 400
    assert refused.mimetype == "text/plain"
    with app.app_context():
        other_secret = make_unsubscribe_token(subscriber_of(app, "kept@example.com").id, "0" * 32)
    assert client.post(f"/newsletter/unsubscribe/{other_secret}").status_code == 400
    assert subscriber_of(app, "kept@example.com").status == CONFIRMED


# --- rate limits ----------------------------------------------------------------------------


def test_subscribing_is_rate_limited_per_client_and_per_address(build_app: Any) -> None:
    limited: Flask = build_app(
        RATELIMIT_ENABLED=True,
        RATELIMIT_SUBSCRIBE="4 per hour",
        RATELIMIT_SUBSCRIBE_EMAIL="2 per day",
    )
    outbox = limited.extensions["mailman"].outbox = []
    client = limited.test_client()
    statuses = [
        client.post(FORM, data={"email": "target@example.com"}).status_code for _ in range(3)
    ]
    # The same answer every time, but the address gets two links, not three.
    assert statuses == [303, 303, 303]
    assert len(outbox) == 2
    # The client's own budget (shared with POST /api/v1/subscribers) is spent after four.
    assert (
        client.post("/api/v1/subscribers", json={"email": "other@example.com"}).status_code == 202
    )
    response = client.post(FORM, data={"email": "third@example.com"})
    assert response.status_code == 429
    assert "Retry-After" in response.headers
