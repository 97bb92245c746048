"""One budget of new posts, and one of new comments, per account, whatever the front door.

The services count them (``RATELIMIT_WRITE``, in the limiter's storage), so switching from the
site to ``/api/v1`` or the Conduit API does not buy more: the next write after the budget is
spent answers 429 with ``Retry-After``, in the shape of the door it came through.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from penpress.accounts import tokens
from penpress.accounts.models import User
from penpress.blog.services import posts
from penpress.errors import RateLimited
from penpress.extensions import db
from tests.factories import PostFactory, UserFactory
from tests.pages import login

BUDGET = 3


@dataclass
class Writer:
    """One account, logged in at all three front doors."""

    site: FlaskClient
    bearer: dict[str, str]
    conduit: dict[str, str]


@pytest.fixture
def limited(build_app: Callable[..., Flask]) -> Flask:
    return build_app(
        RATELIMIT_ENABLED=True,
        RATELIMIT_WRITE=f"{BUDGET} per minute",
        RATELIMIT_DEFAULT="1000 per minute",
        RATELIMIT_AUTH="1000 per minute",
    )


def writer(app: Flask) -> Writer:
    with app.app_context():
        user = UserFactory()
        bearer = tokens.issue_token_pair(user).access_token
        conduit = tokens.issue_realworld_token(user)
        db.session.commit()
        email = user.email
    site = app.test_client()
    assert login(site, email).status_code == 303
    return Writer(
        site, {"Authorization": f"Bearer {bearer}"}, {"Authorization": f"Token {conduit}"}
    )


def write_post(door: str, who: Writer, n: int) -> Any:
    title = f"Post {n} through {door}"
    if door == "site":
        return who.site.post("/blog/create", data={"title": title, "body": "Text."})
    client = who.site.application.test_client()
    if door == "api":
        return client.post(
            "/api/v1/posts", json={"title": title, "body": "Text."}, **_h(who.bearer)
        )
    article = {"title": title, "description": "d", "body": "Text."}
    return client.post("/realworld/api/articles", json={"article": article}, **_h(who.conduit))


def write_comment(door: str, who: Writer, slug: str, n: int) -> Any:
    body = f"Comment {n} through {door}"
    if door == "site":
        return who.site.post(f"/blog/post/{slug}/comment", data={"body": body})
    client = who.site.application.test_client()
    if door == "api":
        url = f"/api/v1/posts/{slug}/comments"
        return client.post(url, json={"body": body}, **_h(who.bearer))
    url = f"/realworld/api/articles/{slug}/comments"
    return client.post(url, json={"comment": {"body": body}}, **_h(who.conduit))


def _h(headers: dict[str, str]) -> dict[str, Any]:
    return {"headers": headers}


WRITTEN = {"site": 303, "api": 201, "conduit": 201}
COMMENTED = {"site": 303, "api": 201, "conduit": 200}
DOORS = ("site", "api", "conduit")


def assert_refused(door: str, response: Any) -> None:
    """429 with a Retry-After within the minute, in the door's own shape."""
    assert response.status_code == 429, response.get_data(as_text=True)[:300]
    assert 0 < int(response.headers["Retry-After"]) <= 61
    text = response.get_data(as_text=True)
    if door == "site":
        assert response.mimetype == "text/html"
        assert "too fast" in text
    elif door == "api":
        assert response.get_json()["error"]["code"] == 429
    else:
        assert set(response.get_json()["errors"]) == {"body"}


@pytest.mark.parametrize("last", DOORS)
def test_the_three_doors_share_one_budget_of_posts(limited: Flask, last: str) -> None:
    who = writer(limited)
    for n, door in enumerate(DOORS):
        assert write_post(door, who, n).status_code == WRITTEN[door]
    assert_refused(last, write_post(last, who, BUDGET))
    # Another account has a budget of its own.
    assert write_post(last, writer(limited), 0).status_code == WRITTEN[last]


@pytest.mark.parametrize("last", DOORS)
def test_the_three_doors_share_one_budget_of_comments(limited: Flask, last: str) -> None:
    with limited.app_context():
        slug = PostFactory(published=True).slug
    who = writer(limited)
    for n, door in enumerate(DOORS):
        assert write_comment(door, who, slug, n).status_code == COMMENTED[door]
    assert_refused(last, write_comment(last, who, slug, BUDGET))
    # Posts are counted apart from comments.
    assert write_post(last, who, 0).status_code == WRITTEN[last]


def test_the_service_counts_without_any_front_door(limited: Flask) -> None:
    with limited.app_context():
        author = db.session.merge(UserFactory())
        for n in range(BUDGET):
            posts.create_post(author, title=f"Post {n}", body="Text.")
        with pytest.raises(RateLimited) as refused:
            posts.create_post(author, title="One too many", body="Text.")
        assert 0 < refused.value.retry_after <= 61
        db.session.rollback()


def test_a_refused_post_is_not_saved(limited: Flask) -> None:
    who = writer(limited)
    for n in range(BUDGET):
        write_post("api", who, n)
    assert write_post("api", who, BUDGET).status_code == 429
    with limited.app_context():
        titles = set(db.session.scalars(db.select(posts.Post.title)))
    assert f"Post {BUDGET} through api" not in titles
    assert len(titles) == BUDGET


def test_reading_and_editing_are_not_limited(limited: Flask) -> None:
    who = writer(limited)
    for n in range(BUDGET):
        write_post("site", who, n)
    assert who.site.get("/blog/create").status_code == 200
    with limited.app_context():
        user = db.session.scalar(db.select(User).order_by(User.id.desc()))
        post = db.session.scalar(db.select(posts.Post).where(posts.Post.author_id == user.id))
        post_id = post.id
    for n in range(BUDGET + 1):
        edited = who.site.post(f"/blog/edit/{post_id}", data={"title": f"Edit {n}", "body": "B"})
        assert edited.status_code == 303
