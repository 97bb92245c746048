"""The whole newsletter through a real SMTP server (aiosmtpd on 127.0.0.1), with CSRF on:
subscribe (form, API, one click), confirm by the emailed link, publish with "Email this post
to subscribers", one email per confirmed subscriber with RFC 8058 headers, one-click
unsubscribe without cookies, and the next post not reaching them."""

from __future__ import annotations

import re
from collections.abc import Iterator
from email.message import EmailMessage
from typing import Any
from urllib.parse import urlsplit

import pytest
from flask import Flask

from penpress.database import utcnow
from penpress.extensions import db
from penpress.newsletter.models import PAUSED, UNSUBSCRIBED, Subscriber
from tests import factories
from tests.newsletter.conftest import subscriber_of
from tests.pages import csrf_token, login
from tests.smtp_sink import SmtpSink, duplicates, smtp_sink

SITE_URL = "https://penpress.test"
LINK = re.compile(r"https://penpress\.test/[^\s\"'<>]+")


@pytest.fixture
def sink() -> Iterator[SmtpSink]:
    with smtp_sink() as started:
        yield started


@pytest.fixture
def site(build_app: Any, sink: SmtpSink) -> Flask:
    """A site with CSRF on, its mail going to the SMTP server; jobs run in process."""
    return build_app(
        WTF_CSRF_ENABLED=True,
        SITE_URL=SITE_URL,
        MAIL_BACKEND="smtp",
        MAIL_SERVER="127.0.0.1",
        MAIL_PORT=sink.port,
        MAIL_TIMEOUT=5,
    )


def text_of(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain",))
    assert part is not None
    return str(part.get_content())


def html_part(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("html",))
    assert part is not None
    return str(part.get_content())


def only_link(message: EmailMessage, path: str) -> str:
    (link,) = [url for url in LINK.findall(text_of(message)) if urlsplit(url).path.startswith(path)]
    return urlsplit(link).path


def confirm_by_email(site: Flask, sink: SmtpSink, address: str) -> None:
    (message,) = sink.to(address)
    link = only_link(message, "/newsletter/confirm/")
    reader = site.test_client()  # the person reading their mail, not the browser that asked
    assert reader.get(link).status_code == 200
    assert reader.post(link).status_code == 200


def test_subscribe_confirm_publish_unsubscribe(site: Flask, sink: SmtpSink) -> None:
    visitor = site.test_client()
    # By the footer's form, which carries no CSRF token: the same answer for every address.
    first = visitor.post("/newsletter/subscribe", data={"email": "ann@example.com"})
    assert first.status_code == 303
    # By the API.
    assert visitor.post("/api/v1/subscribers", json={"email": "bob@example.com"}).status_code == 202
    # Someone who never confirms.
    assert (
        visitor.post("/newsletter/subscribe", data={"email": "cy@example.com"}).status_code == 303
    )
    sink.wait_until(lambda got: len(got) == 3, 10, "confirmation emails")
    confirm_by_email(site, sink, "ann@example.com")
    confirm_by_email(site, sink, "bob@example.com")
    again = visitor.post("/newsletter/subscribe", data={"email": "ann@example.com"})
    fresh = visitor.post("/newsletter/subscribe", data={"email": "dee@example.com"})
    assert (again.status_code, again.headers["Location"]) == (
        fresh.status_code,
        fresh.headers["Location"],
    )
    # A confirmed reader whose mail server refused us too often.
    with site.app_context():
        db.session.add(
            Subscriber(
                email="paused@example.com",
                status=PAUSED,
                secret="s" * 32,
                failures=3,
                source="form",
            )
        )
        reader = factories.UserFactory(
            role_name="reader", email="eve@example.com", email_confirmed_at=utcnow()
        )
        author = factories.UserFactory(email="writer@example.com")
        db.session.commit()
    # A signed-in reader, in one click (a CSRF-checked button).
    eve = site.test_client()
    assert login(eve, reader.email, csrf=True).status_code == 303
    token = csrf_token(eve, "/blog/")
    assert eve.post("/newsletter/account/subscribe", data={"csrf_token": token}).status_code == 303
    before_posts = len(sink.received())  # 4 confirmation emails (ann, bob, cy, dee): eve needs none

    # The author publishes with "Email this post to subscribers" ticked.
    writer = site.test_client()
    assert login(writer, author.email, csrf=True).status_code == 303
    form = {
        "csrf_token": csrf_token(writer, "/blog/create"),
        "title": "News for subscribers",
        "summary": "",
        "body": "See [the tags](/blog/) and ![logo](/static/favicon.svg).",
        "published": "y",
        "newsletter_option": "1",
        "email_subscribers": "1",
    }
    assert writer.post("/blog/create", data=form).status_code == 303

    posts = sink.received()[before_posts:]
    assert sorted(str(m["To"]) for m in posts) == [
        "ann@example.com",
        "bob@example.com",
        "eve@example.com",
    ]
    for message in posts:
        assert message["Subject"] == "News for subscribers"
        unsubscribe = only_link(message, "/newsletter/unsubscribe/")
        https = f"{SITE_URL}{unsubscribe}"
        token = unsubscribe.rsplit("/", 1)[-1]
        # Long, so folded onto a line of its own (RFC 5322): compare the unfolded value.
        assert str(message["List-Unsubscribe"]).strip() == (
            f"<{https}>, <mailto:noreply@localhost?subject=unsubscribe%20{token}>"
        )
        assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        html = html_part(message)
        assert f'href="{https}"' in html
        assert f'src="{SITE_URL}/static/favicon.svg"' in html
        assert f'href="{SITE_URL}/blog/"' in html

    # Ann unsubscribes with her mail client's one-click button: a POST without any cookie.
    (ann_post,) = [m for m in posts if m["To"] == "ann@example.com"]
    provider = site.test_client()
    response = provider.post(
        only_link(ann_post, "/newsletter/unsubscribe/"), data={"List-Unsubscribe": "One-Click"}
    )
    assert response.status_code == 200
    assert subscriber_of(site, "ann@example.com").status == UNSUBSCRIBED
    # Bob follows the link in the email and presses the page's button.
    (bob_post,) = [m for m in posts if m["To"] == "bob@example.com"]
    page = site.test_client()
    link = only_link(bob_post, "/newsletter/unsubscribe/")
    assert page.get(link).status_code == 200
    assert page.post(link).status_code == 200
    assert subscriber_of(site, "bob@example.com").status == UNSUBSCRIBED

    # The next post reaches only Eve.
    form.update(csrf_token=csrf_token(writer, "/blog/create"), title="The next one")
    assert writer.post("/blog/create", data=form).status_code == 303
    latest = [m for m in sink.received() if m["Subject"] == "The next one"]
    assert [str(m["To"]) for m in latest] == ["eve@example.com"]

    everything = sink.received()
    assert duplicates(everything) == {}
    for address in ("cy@example.com", "dee@example.com", "paused@example.com"):
        assert all(m["Subject"].startswith("Confirm") for m in sink.to(address))
