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
from sqlalchemy import delete

from penpress.accounts.models import User
from penpress.blog.models import Post
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
    assert int(response.headers["Retry-After"]) > 0
    assert response.mimetype == mimetype
    body = response.get_data(as_text=True)
    for internal in INTERNALS:
        assert internal not in body


def test_database_outage_is_503_and_recovers(
    prod_app: Flask, own_postgres: PostgresServer, post: Seeded
) -> None:
    client = prod_app.test_client()
    assert "Outage proof" in client.get("/probe/posts").get_data(as_text=True)

    own_postgres.stop()
    try:
        assert_unavailable(client.get("/probe/posts"), "text/html")
        api = client.get("/api/probe/posts")
        assert_unavailable(api, "application/json")
        assert api.json["error"]["code"] == 503
        ready = client.get("/readyz")
        assert ready.status_code == 503
        assert ready.json["checks"]["database"] == "unreachable"
        assert client.get("/healthz").status_code == 200  # alive, just not ready
    finally:
        own_postgres.start()

    # The pool checks connections before use, so nothing needs restarting.
    assert "Outage proof" in client.get("/probe/posts").get_data(as_text=True)
    assert client.get("/readyz").status_code == 200


def test_database_outage_during_a_session_keeps_cookies_working(
    prod_app: Flask, own_postgres: PostgresServer, post: Seeded
) -> None:
    client = prod_app.test_client()
    client.post("/probe/login", data={"email": post.email, "password": DEFAULT_PASSWORD})
    assert client.get("/probe/me").status_code == 200
    own_postgres.stop()
    try:
        assert_unavailable(client.get("/probe/me"), "text/html")
    finally:
        own_postgres.start()
    assert client.get("/probe/me").json == {"username": post.username}


def _limiter_back_on_redis(server: RedisServer) -> bool:
    client = redis_client.Redis(port=server.port)
    try:
        return bool(client.keys("LIMITS*"))
    finally:
        client.close()


def test_redis_outage_degrades_then_recovers(
    prod_app: Flask, own_redis: RedisServer, post: Seeded
) -> None:
    client = prod_app.test_client()
    tags_before = client.get("/probe/tags")
    assert tags_before.status_code == 200
    assert client.get("/probe/limited").status_code == 200
    assert _limiter_back_on_redis(own_redis)  # the limit is counted in Redis

    own_redis.stop()
    try:
        # The cache reads as a miss: pages still come from the database.
        assert client.get("/probe/tags").json == tags_before.json
        assert "Outage proof" in client.get("/probe/posts").get_data(as_text=True)
        # Rate limits fall back to this process's memory: still enforced, never an error.
        statuses = [client.get("/probe/limited").status_code for _ in range(7)]
        assert set(statuses) == {200, 429}
        assert statuses[-1] == 429
        # A change whose cache entry cannot be invalidated fails cleanly and is rolled back.
        author_client = prod_app.test_client()
        author_client.post("/probe/login", data={"email": post.email, "password": DEFAULT_PASSWORD})
        # (the login itself works: sessions live in the database, not in Redis)
        assert author_client.get("/probe/me").status_code == 200
        edit = author_client.post(f"/probe/post/{post.id}", data={"tags": "outage"})
        assert_unavailable(edit, "text/html")
        ready = client.get("/readyz")
        assert ready.status_code == 503
        assert ready.json["checks"]["redis"] == "unreachable"
    finally:
        own_redis.start()

    assert client.get("/readyz").status_code == 200
    assert client.get("/probe/tags").json == tags_before.json  # the failed edit left no trace
    # Flask-Limiter re-checks Redis with a backoff (1, 2, 4... seconds) and moves back to it.
    deadline = time.monotonic() + 40
    while not _limiter_back_on_redis(own_redis):
        assert time.monotonic() < deadline, "rate limits never moved back to Redis"
        client.get("/probe/limited")
        time.sleep(0.5)
