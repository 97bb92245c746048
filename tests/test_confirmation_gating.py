"""An unconfirmed address gates publishing, submitting for review and commenting, on every
front door, when the site asks for it (``REQUIRE_CONFIRMED_EMAIL``, on in production); the
pages say so and offer to send the link again. Reading, following, favoriting and drafts stay
open."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from markupsafe import escape
from sqlalchemy import select

from penpress.accounts import tokens
from penpress.accounts.models import User
from penpress.accounts.services import CONFIRM_EMAIL_FIRST
from penpress.blog.models import Post
from penpress.config import DevelopmentConfig, ProductionConfig, TestingConfig
from penpress.database import utcnow
from penpress.extensions import db
from penpress.settings import services as settings
from tests.api.v1.conftest import issue_pair
from tests.mailbox import links_in
from tests.pages import login

RESEND = 'action="/auth/confirm/resend"'


@pytest.fixture(autouse=True)
def confirmation_required(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(app.config, "REQUIRE_CONFIRMED_EMAIL", True)


@pytest.fixture
def writer(make) -> User:
    return make.user(username="newbie")  # an author who has not confirmed their address


def conduit_token(app: Flask, user: User) -> dict[str, str]:
    with app.app_context():
        token = tokens.issue_realworld_token(db.session.get_one(User, user.id))
        db.session.commit()
    return {"Authorization": f"Token {token}"}


def confirm(app: Flask, user: User) -> None:
    with app.app_context():
        db.session.get_one(User, user.id).email_confirmed_at = utcnow()
        db.session.commit()


def test_the_default_is_on_in_production_only() -> None:
    assert ProductionConfig.REQUIRE_CONFIRMED_EMAIL is True
    assert DevelopmentConfig.REQUIRE_CONFIRMED_EMAIL is False
    assert TestingConfig.REQUIRE_CONFIRMED_EMAIL is False


def test_the_site_says_so_and_refuses_publishing(
    app: Flask, client: FlaskClient, writer: User
) -> None:
    login(client, writer.email)
    editor = client.get("/blog/create").get_data(as_text=True)
    assert "Confirm your email address before you publish" in editor
    assert RESEND in editor
    assert 'name="next" value="/blog/create"' in editor  # the button comes back here

    refused = client.post("/blog/create", data={"title": "Hi", "body": "Text", "published": "y"})
    assert refused.status_code == 403
    assert escape(CONFIRM_EMAIL_FIRST) in refused.get_data(as_text=True)
    draft = client.post("/blog/create", data={"title": "Hi", "body": "Text"})
    assert draft.status_code == 303  # drafts need no confirmation
    with app.app_context():
        post_id = db.session.scalar(select(Post.id).where(Post.title == "Hi"))
    publish = {"title": "Hi", "body": "Text", "published": "y"}
    assert client.post(f"/blog/edit/{post_id}", data=publish).status_code == 403

    confirm(app, writer)
    assert "Confirm your email address" not in client.get("/blog/create").get_data(as_text=True)
    assert client.post(f"/blog/edit/{post_id}", data=publish).status_code == 303


def test_a_contributor_cannot_submit_unconfirmed(app: Flask, client: FlaskClient, make) -> None:
    contributor = make.user(role_name="contributor")
    post = make.post(author=contributor, published=False)
    login(client, contributor.email)
    assert client.post(f"/blog/submit/{post.id}").status_code == 403
    refused = client.post(
        "/blog/create", data={"title": "T", "body": "B", "submit_for_review": "y"}
    )
    assert refused.status_code == 403


def test_the_comment_form_becomes_a_resend_button(
    app: Flask, client: FlaskClient, make, writer: User, outbox: list[Any]
) -> None:
    post = make.post()
    login(client, writer.email)
    page = client.get(f"/blog/post/{post.slug}").get_data(as_text=True)
    assert "Confirm your email address to comment" in page
    assert RESEND in page
    assert 'class="comment-form"' not in page
    refused = client.post(f"/blog/post/{post.slug}/comment", data={"body": "Hello"})
    assert refused.status_code == 403

    resent = client.post("/auth/confirm/resend", data={"next": f"/blog/post/{post.slug}"})
    assert resent.headers["Location"] == f"/blog/post/{post.slug}"
    (message,) = outbox
    assert message.subject == "Confirm your email address"
    link = links_in(message)[0].removeprefix("http://localhost")
    client.get(link)
    page = client.get(f"/blog/post/{post.slug}").get_data(as_text=True)
    assert 'class="comment-form"' in page
    assert client.post(f"/blog/post/{post.slug}/comment", data={"body": "Hello"}).status_code == 303


def test_the_api_refuses_until_confirmed(app: Flask, client: FlaskClient, make, writer) -> None:
    headers = {"Authorization": f"Bearer {issue_pair(app, writer).access_token}"}
    published = client.post(
        "/api/v1/posts", json={"title": "T", "body": "B", "published": True}, headers=headers
    )
    assert published.status_code == 403
    assert published.get_json()["error"]["message"] == CONFIRM_EMAIL_FIRST
    draft = client.post("/api/v1/posts", json={"title": "T", "body": "B"}, headers=headers)
    assert draft.status_code == 201
    slug = draft.get_json()["slug"]
    patch = client.patch(f"/api/v1/posts/{slug}", json={"published": True}, headers=headers)
    assert patch.status_code == 403
    assert client.post(f"/api/v1/posts/{slug}/submit", headers=headers).status_code == 403
    other = make.post()
    comment = client.post(
        f"/api/v1/posts/{other.slug}/comments", json={"body": "Hi"}, headers=headers
    )
    assert comment.status_code == 403
    me = client.get("/api/v1/me", headers=headers).get_json()
    assert me["email_confirmed"] is False

    confirm(app, writer)
    assert (
        client.patch(f"/api/v1/posts/{slug}", json={"published": True}, headers=headers).status_code
        == 200
    )
    assert (
        client.post(
            f"/api/v1/posts/{other.slug}/comments", json={"body": "Hi"}, headers=headers
        ).status_code
        == 201
    )


def test_conduit_refuses_until_confirmed(app: Flask, client: FlaskClient, make, writer) -> None:
    headers = conduit_token(app, writer)
    article = {"title": "T", "description": "D", "body": "B"}
    refused = client.post("/realworld/api/articles", json={"article": article}, headers=headers)
    assert refused.status_code == 403
    assert refused.get_json() == {"errors": {"email": [CONFIRM_EMAIL_FIRST]}}
    other = make.post()
    comment = client.post(
        f"/realworld/api/articles/{other.slug}/comments",
        json={"comment": {"body": "Hi"}},
        headers=headers,
    )
    assert comment.status_code == 403
    # Following and favoriting stay open.
    assert (
        client.post(f"/realworld/api/articles/{other.slug}/favorite", headers=headers).status_code
        == 200
    )

    confirm(app, writer)
    ok = client.post("/realworld/api/articles", json={"article": article}, headers=headers)
    assert ok.status_code == 201


def test_an_admin_switches_the_rule_on_the_settings_page(
    app: Flask, client: FlaskClient, make, writer: User
) -> None:
    post = make.post()
    login(client, make.user(role_name="admin", email_confirmed_at=utcnow()).email)
    html = client.get("/admin/settings").get_data(as_text=True)
    assert 'id="require_confirmed_email"' in html
    client.post("/admin/settings", data={})  # the box unticked: off
    with app.app_context():
        assert settings.email_confirmation_required() is False
    commenter = app.test_client()
    login(commenter, writer.email)
    response = commenter.post(f"/blog/post/{post.slug}/comment", data={"body": "Now I can"})
    assert response.status_code == 303
