"""Odd input and constraint races through every front door, and per-app extension state."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from penpress.accounts import services as accounts
from penpress.accounts import tokens
from penpress.accounts.models import User
from penpress.blog import services as blog
from penpress.blog.models import Post
from penpress.errors import NUL_MESSAGE, Invalid
from penpress.extensions import db
from penpress.http import MAX_ID
from tests.conftest import Make
from tests.web.conftest import login

CONDUIT = "/realworld/api"
HTTPS = "https://localhost"


def v1_headers(app: Flask, user: Any) -> dict[str, str]:
    with app.app_context():
        pair = tokens.issue_token_pair(db.session.get_one(User, user.id))
        db.session.commit()
    return {"Authorization": f"Bearer {pair.access_token}"}


def conduit_headers(app: Flask, user: Any) -> dict[str, str]:
    with app.app_context():
        token = tokens.issue_realworld_token(db.session.get_one(User, user.id))
        db.session.commit()
    return {"Authorization": f"Token {token}"}


def post_count(app: Flask) -> int:
    with app.app_context():
        return int(db.session.scalar(select(func.count()).select_from(Post)) or 0)


# --- a unique constraint lost during a flush ----------------------------------------------------


@pytest.fixture
def slug_collides(app: Flask, make: Make, monkeypatch: pytest.MonkeyPatch) -> Any:
    """Every new post gets the slug of an existing one, as when two identical titles are
    posted in the same instant: the INSERT fails inside ``create_post``'s flush."""
    author = make.user(role_name="author")
    existing = make.post(author=author, title="Taken", published=True)
    monkeypatch.setattr(blog.posts, "_unique_slug", lambda *_args, **_kwargs: existing.slug)
    return author


def test_a_collision_in_a_flush_is_a_409_on_the_site(
    app: Flask, client: FlaskClient, slug_collides: Any, caplog: pytest.LogCaptureFixture
) -> None:
    assert login(client, slug_collides.email).status_code == 303
    before = post_count(app)
    with caplog.at_level(logging.INFO, logger="penpress.errors"):
        response = client.post("/blog/create", data={"title": "Taken", "body": "Again."})
    assert response.status_code == 409
    assert response.mimetype == "text/html"
    assert "conflicts with a change made just now" in response.get_data(as_text=True)
    assert "IntegrityError" not in response.get_data(as_text=True)
    assert post_count(app) == before
    assert any("lost a race" in record.getMessage() for record in caplog.records)


def test_a_collision_in_a_flush_is_a_409_in_the_v1_api(
    app: Flask, client: FlaskClient, slug_collides: Any
) -> None:
    before = post_count(app)
    response = client.post(
        "/api/v1/posts",
        json={"title": "Taken", "body": "Again."},
        headers=v1_headers(app, slug_collides),
    )
    assert response.status_code == 409
    assert response.get_json()["error"]["code"] == 409
    assert post_count(app) == before


def test_a_collision_in_a_flush_is_a_validation_error_in_conduit(
    app: Flask, client: FlaskClient, slug_collides: Any
) -> None:
    article = {"title": "Taken", "description": "d", "body": "Again."}
    before = post_count(app)
    response = client.post(
        f"{CONDUIT}/articles",
        json={"article": article},
        headers=conduit_headers(app, slug_collides),
    )
    assert response.status_code == 422  # Conduit has no 409
    assert "errors" in response.get_json()
    assert post_count(app) == before


def test_the_session_is_usable_after_a_collision(
    app: Flask, client: FlaskClient, slug_collides: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    headers = v1_headers(app, slug_collides)
    collided = client.post("/api/v1/posts", json={"title": "T", "body": "B"}, headers=headers)
    assert collided.status_code == 409
    monkeypatch.undo()
    response = client.post("/api/v1/posts", json={"title": "Fresh", "body": "B"}, headers=headers)
    assert response.status_code == 201


# --- NUL characters -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "status", "mimetype"),
    [
        ("/about?x=a%00b", 400, "text/html"),
        ("/blog/post/a%00b", 400, "text/html"),
        ("/api/v1/posts?q=a%00b", 422, "application/json"),
        ("/api/v1/posts/a%00b", 404, "application/json"),
        (f"{CONDUIT}/articles?tag=a%00b", 422, "application/json"),
        (f"{CONDUIT}/profiles/a%00b", 404, "application/json"),
    ],
)
def test_nul_characters_are_refused_in_each_front_doors_shape(
    client: FlaskClient, url: str, status: int, mimetype: str
) -> None:
    response = client.get(url)
    assert response.status_code == status
    assert response.mimetype == mimetype


def test_nul_in_a_query_value_names_the_field(client: FlaskClient) -> None:
    v1 = client.get("/api/v1/posts?q=a%00b").get_json()["error"]
    assert v1["details"] == {"q": [NUL_MESSAGE]}
    conduit = client.get(f"{CONDUIT}/articles?author=%00").get_json()["errors"]
    assert conduit == {"author": [NUL_MESSAGE]}


def test_services_refuse_nul_in_what_they_store(ctx: None, make: Make) -> None:
    author = make.user(role_name="author")
    with pytest.raises(Invalid) as post_error:
        blog.create_post(author, title="a\x00b", body="b\x00", summary="fine")
    assert post_error.value.details == {"title": [NUL_MESSAGE], "body": [NUL_MESSAGE]}
    with pytest.raises(Invalid) as tag_error:
        blog.create_post(author, title="Fine", body="Fine", tags=["t\x00"])
    assert tag_error.value.details == {"tags": [NUL_MESSAGE]}
    post = make.post(author=author, published=True)
    with pytest.raises(Invalid) as comment_error:
        blog.add_comment(author, db.session.merge(post), "x\x00y")
    assert comment_error.value.details == {"body": [NUL_MESSAGE]}
    with pytest.raises(Invalid) as bio_error:
        accounts.update_profile(author, author, bio="zero\x00byte")
    assert bio_error.value.details == {"bio": [NUL_MESSAGE]}
    with pytest.raises(Invalid) as register_error:
        accounts.register_user(username="nul\x00", email="n@example.com", password="x" * 12)
    assert "username" in register_error.value.details
    assert accounts.find_user_by_email("a\x00@example.com") is None
    db.session.flush()  # nothing half-made is left to store


# --- numbers beyond the database's integers -----------------------------------------------------


@pytest.mark.parametrize(
    ("method", "url", "mimetype"),
    [
        ("GET", f"/api/v1/comments/{MAX_ID + 1}", "application/json"),
        ("DELETE", "/api/v1/comments/99999999999999999999", "application/json"),  # not a 405
        ("GET", "/api/v1/comments/0", "application/json"),
        ("DELETE", f"{CONDUIT}/articles/some-slug/comments/{MAX_ID + 1}", "application/json"),
        ("POST", f"/blog/delete/{MAX_ID + 1}", "text/html"),
        ("POST", f"/admin/comments/{2**63}/approve", "text/html"),
    ],
)
def test_ids_no_row_can_have_are_404_everywhere(
    client: FlaskClient, method: str, url: str, mimetype: str
) -> None:
    response = client.open(url, method=method)
    assert response.status_code == 404
    assert response.mimetype == mimetype


def test_services_keep_any_page_number_in_range(ctx: None, make: Make) -> None:
    author = make.user(role_name="admin")
    moderator = db.session.merge(author)
    make.post(author=author, published=True)
    huge = 10**30  # an OFFSET far beyond BIGINT: SQLite and PostgreSQL both refuse it
    assert blog.list_posts(None, blog.PostFilter(), page=huge, per_page=10).items == []
    assert blog.pending_comments(moderator, page=huge, per_page=20).items == []
    assert accounts.list_users(None, huge, 50).items == []
    assert blog.list_posts(None, blog.PostFilter(), page=-5, per_page=10**9).page == 1
    items, total = blog.list_posts_window(None, blog.PostFilter(), limit=20, offset=huge)
    assert (list(items), total) == ([], 1)


def test_huge_page_numbers_are_empty_pages_on_the_site(client: FlaskClient) -> None:
    assert client.get("/blog/?page=99999999999999999999999").status_code == 200


# --- extension state of one app does not leak into another --------------------------------------


def test_production_security_headers_stay_with_the_production_app(
    client: FlaskClient, build_app: Callable[..., Flask]
) -> None:
    production = build_app(
        ENV_NAME="production",
        SECRET_KEY="production-secret-" + "x" * 40,
        SITE_URL="https://localhost",
    )
    production_response = production.test_client().get("/about", base_url=HTTPS)
    assert "Strict-Transport-Security" in production_response.headers
    response = client.get("/about", base_url=HTTPS)  # the session app, built for testing
    assert "Strict-Transport-Security" not in response.headers
    assert response.headers["X-Frame-Options"] == "DENY"
