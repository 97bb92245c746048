"""PostgreSQL or Redis going away: 503 with Retry-After (never a 500), and recovery on return.

These tests stop and start servers of their own (see ``conftest.py``), so no other test sees
the outage.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import redis as redis_client
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import delete

from penpress.accounts.models import User
from penpress.blog.models import Post
from penpress.errors import UNAVAILABLE_RETRY_AFTER
from penpress.extensions import db
from tests.factories import DEFAULT_PASSWORD, PostFactory, UserFactory
from tests.servers import PostgresServer, RedisServer

pytestmark = [pytest.mark.postgres, pytest.mark.redis]

INTERNALS = ("Traceback", "psycopg", "OperationalError", "redis.exceptions", "127.0.0.1")


@dataclass
class Seeded:
    id: int
    email: str
    username: str


@pytest.fixture
def post(prod_app: Flask) -> Iterator[Seeded]:
    """A published post and its author (no app context stays pushed during the test)."""
    with prod_app.app_context():
        author = UserFactory()
        made = PostFactory(author=author, published=True, title="Outage proof")
        seeded = Seeded(made.id, author.email, author.username)
    yield seeded
    with prod_app.app_context():
        db.session.execute(delete(Post).where(Post.id == seeded.id))
        db.session.execute(delete(User).where(User.username == seeded.username))
        db.session.commit()


def assert_unavailable(response: Any, mimetype: str) -> None:
    assert response.status_code == 503
    # The documented value, even where Flask-Limiter counts the request (it used to overwrite
    # it with its own window, up to a minute).
    assert response.headers["Retry-After"] == str(UNAVAILABLE_RETRY_AFTER)
    assert response.mimetype == mimetype
    body = response.get_data(as_text=True)
    for internal in INTERNALS:
        assert internal not in body


def assert_every_door_unavailable(client: FlaskClient) -> None:
    """The site's pages, /api/v1 and the Conduit API: 503, each in its own error shape."""
    for page in ("/", "/blog/"):
        assert_unavailable(client.get(page), "text/html")
    api = client.get("/api/v1/posts")
    assert_unavailable(api, "application/json")
    assert api.json["error"]["code"] == 503
    assert api.json["error"]["message"]
    conduit = client.get("/realworld/api/articles")
    assert_unavailable(conduit, "application/json")
    assert list(conduit.json) == ["errors"]
    assert conduit.json["errors"]["body"]


def assert_every_door_shows(client: FlaskClient, title: str) -> None:
    for page in ("/", "/blog/"):
        response = client.get(page)
        assert response.status_code == 200
        assert title in response.get_data(as_text=True)
    api = client.get("/api/v1/posts")
    assert api.status_code == 200
    assert title in [post["title"] for post in api.json["posts"]]
    conduit = client.get("/realworld/api/articles")
    assert conduit.status_code == 200
    assert title in [article["title"] for article in conduit.json["articles"]]


def log_in(client: FlaskClient, email: str, password: str = DEFAULT_PASSWORD) -> int:
    """Log in through the login form; the status code of the answer."""
    response = client.post("/auth/login", data={"email": email, "password": password})
    return response.status_code


def test_database_outage_is_503_and_recovers(
    prod_app: Flask, own_postgres: PostgresServer, post: Seeded
) -> None:
    client = prod_app.test_client()
    assert_every_door_shows(client, "Outage proof")

    own_postgres.stop()
    try:
        assert_every_door_unavailable(client)
        ready = client.get("/readyz")
        assert ready.status_code == 503
        assert ready.json["checks"]["database"] == "unreachable"
        assert client.get("/healthz").status_code == 200  # alive, just not ready
    finally:
        own_postgres.start()

    # The pool checks connections before use, so nothing needs restarting.
    assert_every_door_shows(client, "Outage proof")
    assert client.get("/readyz").status_code == 200


def test_database_outage_during_a_session_keeps_cookies_working(
    prod_app: Flask, own_postgres: PostgresServer, post: Seeded
) -> None:
    client = prod_app.test_client()
    assert log_in(client, post.email) == 303
    assert client.get("/auth/profile").status_code == 200
    own_postgres.stop()
    try:
        assert_unavailable(client.get("/auth/profile"), "text/html")
    finally:
        own_postgres.start()
    profile = client.get("/auth/profile")
    assert profile.status_code == 200
    assert f'<h2 id="account-title">{post.username}</h2>' in profile.get_data(as_text=True)


def client_from(app: Flask, address: str) -> FlaskClient:
    """A test client whose requests come from ``address`` (rate limits count per address)."""
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client


def _limiter_back_on_redis(server: RedisServer) -> bool:
    client = redis_client.Redis(port=server.port)
    try:
        return bool(client.keys("LIMITS*"))
    finally:
        client.close()


def test_redis_outage_degrades_then_recovers(
    prod_app: Flask, own_redis: RedisServer, post: Seeded
) -> None:
    client = client_from(prod_app, "10.30.0.1")
    limit = int(prod_app.config["RATELIMIT_AUTH"].split()[0])
    tags_before = client.get("/realworld/api/tags")
    assert tags_before.status_code == 200
    assert log_in(client, post.email, "wrong password") == 422
    assert _limiter_back_on_redis(own_redis)  # the limit is counted in Redis

    own_redis.stop()
    try:
        # The cache reads as a miss: pages still come from the database.
        assert client.get("/realworld/api/tags").json == tags_before.json
        assert_every_door_shows(client, "Outage proof")
        # Rate limits fall back to this process's memory: still enforced, never an error. (A
        # guess per address here: each account's budget of wrong passwords is a limit too.)
        statuses = [
            log_in(client, f"nobody{n}@example.com", "wrong password") for n in range(limit + 1)
        ]
        assert statuses == [422] * limit + [429]
        # A change whose cache entry cannot be invalidated fails cleanly and is rolled back.
        author = client_from(prod_app, "10.30.0.2")
        # (the login itself works: sessions live in the database, not in Redis)
        assert log_in(author, post.email) == 303
        assert author.get("/auth/profile").status_code == 200
        edit = author.post(
            f"/blog/edit/{post.id}",
            data={"title": "Outage proof", "body": "Body.", "tags": "outage", "published": "y"},
        )
        assert_unavailable(edit, "text/html")
        ready = client.get("/readyz")
        assert ready.status_code == 503
        assert ready.json["checks"]["redis"] == "unreachable"
    finally:
        own_redis.start()

    assert client.get("/readyz").status_code == 200
    assert client.get("/realworld/api/tags").json == tags_before.json  # the failed edit: no trace
    # Flask-Limiter re-checks Redis with a backoff (1, 2, 4... seconds) and moves back to it.
    deadline = time.monotonic() + 40
    while not _limiter_back_on_redis(own_redis):
        assert time.monotonic() < deadline, "rate limits never moved back to Redis"
        log_in(client, "nobody@example.com", "wrong password")
        time.sleep(0.5)
