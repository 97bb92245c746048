"""The comments mode (on, approval, registered, off) holds on every front door: the site, /api/v1
and the Conduit API all reach the one comment service, which enforces it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from penpress.accounts import tokens
from penpress.accounts.models import User
from penpress.blog.models import Comment
from penpress.database import utcnow
from penpress.extensions import db
from penpress.settings import services as settings
from tests.api.v1.conftest import issue_pair
from tests.factories import UserFactory
from tests.pages import login

Door = Callable[[FlaskClient, Flask, Any, str, str], int]


def by_site(client: FlaskClient, app: Flask, user: Any, slug: str, body: str) -> int:
    login(client, user.email)
    return client.post(f"/blog/post/{slug}/comment", data={"body": body}).status_code


def by_api(client: FlaskClient, app: Flask, user: Any, slug: str, body: str) -> int:
    headers = {"Authorization": f"Bearer {issue_pair(app, user).access_token}"}
    return client.post(
        f"/api/v1/posts/{slug}/comments", json={"body": body}, headers=headers
    ).status_code


def by_conduit(client: FlaskClient, app: Flask, user: Any, slug: str, body: str) -> int:
    with app.app_context():
        token = tokens.issue_realworld_token(db.session.get_one(User, user.id))
        db.session.commit()
    prefix = app.config["REALWORLD_PREFIX"]
    return client.post(
        f"{prefix}/articles/{slug}/comments",
        json={"comment": {"body": body}},
        headers={"Authorization": f"Token {token}"},
    ).status_code


DOORS = {"site": by_site, "api": by_api, "conduit": by_conduit}
ACCEPTED = {"site": 303, "api": 201, "conduit": 200}


def set_mode(app: Flask, mode: str) -> None:
    with app.app_context():
        settings.set_comments_mode(UserFactory(role_name="admin"), mode)
        db.session.commit()


def stored(app: Flask, body: str) -> Comment | None:
    with app.app_context():
        return db.session.scalar(select(Comment).where(Comment.body == body))


@pytest.fixture
def reader(make) -> Any:
    return make.user(role_name="reader", email_confirmed_at=utcnow())


@pytest.fixture
def unconfirmed(make) -> Any:
    return make.user(role_name="reader")


@pytest.mark.parametrize("door", DOORS)
def test_on_shows_comments_at_once(
    app: Flask, client: FlaskClient, make, reader, door: str
) -> None:
    post = make.post()
    set_mode(app, "on")
    assert DOORS[door](client, app, reader, post.slug, "Shown at once") == ACCEPTED[door]
    comment = stored(app, "Shown at once")
    assert comment is not None
    assert comment.approved


@pytest.mark.parametrize("door", DOORS)
def test_approval_holds_comments(app: Flask, client: FlaskClient, make, reader, door: str) -> None:
    post = make.post()
    set_mode(app, "approval")
    assert DOORS[door](client, app, reader, post.slug, "Waits") == ACCEPTED[door]
    comment = stored(app, "Waits")
    assert comment is not None
    assert not comment.approved


@pytest.mark.parametrize("door", DOORS)
def test_off_refuses_everyone(app: Flask, client: FlaskClient, make, reader, door: str) -> None:
    post = make.post()
    set_mode(app, "off")
    assert DOORS[door](client, app, reader, post.slug, "Not taken") == 403
    assert stored(app, "Not taken") is None


@pytest.mark.parametrize("door", DOORS)
def test_registered_takes_confirmed_accounts_only(
    app: Flask, client: FlaskClient, make, reader, unconfirmed, door: str
) -> None:
    post = make.post()
    set_mode(app, "registered")
    assert not app.config["REQUIRE_CONFIRMED_EMAIL"]  # the mode asks for it on its own
    assert DOORS[door](client, app, unconfirmed, post.slug, "Unconfirmed") == 403
    assert stored(app, "Unconfirmed") is None
    other = app.test_client()
    assert DOORS[door](other, app, reader, post.slug, "Confirmed") == ACCEPTED[door]
    comment = stored(app, "Confirmed")
    assert comment is not None
    assert comment.approved


def test_the_post_page_says_when_comments_are_off(
    app: Flask, client: FlaskClient, make, reader
) -> None:
    post = make.post()
    login(client, reader.email)
    assert 'class="comment-form"' in client.get(f"/blog/post/{post.slug}").get_data(as_text=True)
    set_mode(app, "off")
    page = client.get(f"/blog/post/{post.slug}").get_data(as_text=True)
    assert 'class="comment-form"' not in page
    assert "Comments are switched off on this site." in page


def test_registered_mode_offers_the_confirmation_link(
    app: Flask, client: FlaskClient, make, unconfirmed
) -> None:
    post = make.post()
    set_mode(app, "registered")
    login(client, unconfirmed.email)
    page = client.get(f"/blog/post/{post.slug}").get_data(as_text=True)
    assert "Confirm your email address to comment" in page
    assert 'class="comment-form"' not in page


def test_the_old_approval_switch_maps_to_the_mode(app: Flask) -> None:
    with app.app_context():
        admin = UserFactory(role_name="admin")
        settings.set_comments_require_approval(admin, False)
        assert settings.comments_mode() == "on"
        settings.set_comments_require_approval(admin, True)
        assert settings.comments_mode() == "approval"
        assert settings.comments_require_approval()
        db.session.rollback()
