"""Two gunicorn instances (production config) on one PostgreSQL and one Redis.

They run ``deploy/gunicorn.conf.py`` with two workers each, so this also checks the serving
config, multiprocess metrics and request ids in the access log. The checks go through the
real site and APIs: the login form (CSRF on), ``/auth/profile``, the post editor, the post
page, ``/api/v1`` and the Conduit API.
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from flask import Flask

from penpress.extensions import db
from tests.conftest import test_settings as settings_for
from tests.factories import DEFAULT_PASSWORD, PostFactory, UserFactory, recount_for_tests
from tests.prod.browser import Browser
from tests.prod.conftest import Gunicorn, migrated_app, start_gunicorn
from tests.servers import PostgresServer, RedisServer, free_port

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.slow]

SECRET_KEY = "multi-instance-test-secret-0123456789-abcdefghijklmnop"
METRICS_TOKEN = "metrics-token-for-tests"
AUTH_LIMIT = 5  # the instances' RATELIMIT_AUTH, per minute and client address


_addresses = iter(range(1, 250))


def browser() -> Browser:
    """A browser from a client address that no other browser of this module uses."""
    return Browser(address=f"10.20.0.{next(_addresses)}")


@dataclass
class Site:
    a: Gunicorn
    b: Gunicorn
    post_id: int
    post_slug: str
    email: str
    username: str


@pytest.fixture(scope="module")
def site(
    postgres_server: PostgresServer,
    redis_server: RedisServer,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Site]:
    folder = tmp_path_factory.mktemp("instances")
    database = postgres_server.create_database("penpress_multi")
    redis_url = redis_server.url(db=3)  # a database of its own on the shared test server
    seeder: Flask = migrated_app(
        settings_for(folder, SQLALCHEMY_DATABASE_URI=database, REDIS_URL=None)
    )
    with seeder.app_context():
        author = UserFactory()
        post = PostFactory(author=author, published=True, title="Before the edit", body="The body.")
        from penpress.blog.services.tags import resolve_tags

        post.tags = resolve_tags(["original"])
        db.session.commit()
        recount_for_tests()  # the counters and post_tags copies the services would keep
        seeded = (post.id, post.slug, author.email, author.username)
        db.session.remove()
        db.engine.dispose()

    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("PENPRESS_", "PROMETHEUS_", "CELERY_", "MAIL_"))
    }
    env.update(
        PENPRESS_CONFIG="production",
        SECRET_KEY=SECRET_KEY,
        SITE_URL="https://blog.example.com",
        PROXY_FIX_X_FOR="1",
        RATELIMIT_AUTH=f"{AUTH_LIMIT} per minute",
        DATABASE_URL=database,
        REDIS_URL=redis_url,
        METRICS_TOKEN=METRICS_TOKEN,
        MAIL_SERVER="127.0.0.1",
        MAIL_PORT=str(free_port()),  # nothing listens: no test here sends mail
        TMPDIR=tempfile.gettempdir(),
    )
    a, b = start_gunicorn(env, folder), start_gunicorn(env, folder)
    try:
        for instance in (a, b):
            instance.wait_until_serving()
        yield Site(a, b, *seeded)
    finally:
        a.stop()
        b.stop()


def _login(site: Site, port: int) -> Browser:
    """Log in through the login form of the instance on ``port``."""
    user = browser()
    token = user.csrf_token(port, "/auth/login")
    form = {"csrf_token": token, "email": site.email, "password": DEFAULT_PASSWORD}
    reply = user.post(port, "/auth/login", form)
    assert reply.status == 303, reply.body
    return user


def test_both_instances_are_ready(site: Site) -> None:
    for instance in (site.a, site.b):
        reply = browser().get(instance.port, "/readyz")
        assert reply.status == 200, reply.body
        assert reply.json()["checks"] == {"database": "ok", "migrations": "ok", "redis": "ok"}


def test_a_login_on_one_instance_is_valid_on_the_other(site: Site) -> None:
    user = _login(site, site.a.port)
    for port in (site.b.port, site.a.port):
        for _ in range(3):  # whichever worker answers
            reply = user.get(port, "/auth/profile")
            assert reply.status == 200, reply.body
            assert f'<h2 id="account-title">{site.username}</h2>' in reply.text
    anonymous = browser().get(site.b.port, "/auth/profile")
    assert anonymous.status == 302  # the cookie is what counts
    assert "/auth/login" in anonymous.headers["Location"]


def test_a_login_form_from_one_instance_is_accepted_by_the_other(site: Site) -> None:
    user = browser()
    token = user.csrf_token(site.a.port, "/auth/login")
    form = {"email": site.email, "password": DEFAULT_PASSWORD}
    assert user.post(site.b.port, "/auth/login", form).status == 400  # CSRF is on
    reply = user.post(site.b.port, "/auth/login", {"csrf_token": token, **form})
    assert reply.status == 303, reply.body
    assert user.get(site.a.port, "/auth/profile").status == 200


def test_the_login_rate_limit_counts_across_instances(site: Site) -> None:
    user = browser()
    token = user.csrf_token(site.a.port, "/auth/login")
    wrong = {"csrf_token": token, "email": site.email, "password": "not-the-password"}
    ports = [site.a.port, site.b.port] * AUTH_LIMIT
    statuses = [user.post(port, "/auth/login", wrong).status for port in ports[: AUTH_LIMIT + 1]]
    # Counting per process would allow the limit on each instance (and on each worker).
    assert statuses == [422] * AUTH_LIMIT + [429]
    right = {**wrong, "password": DEFAULT_PASSWORD}
    assert user.post(site.b.port, "/auth/login", right).status == 429  # even the right one
    assert _login(site, site.b.port).cookies  # another client address has its own allowance


def test_wrong_passwords_count_per_account_across_instances(site: Site) -> None:
    """RATELIMIT_LOGIN_FAILURES is kept in Redis: guesses from many addresses, spread over both
    instances and both APIs, spend one budget of the account."""
    email, password = "guessed@example.com", "the-right-password"
    account = {"username": "guessed", "email": email, "password": password}
    assert browser().request(site.a.port, "POST", "/api/v1/users", json_body=account).status == 201
    failures = 10  # the default RATELIMIT_LOGIN_FAILURES: 10 per 15 minutes
    for n in range(failures):
        port = (site.a.port, site.b.port)[n % 2]
        if n % 4 < 2:
            path, body = "/api/v1/auth/tokens", {"email": email, "password": f"guess-{n}"}
        else:
            path = "/realworld/api/users/login"
            body = {"user": {"email": email, "password": f"guess-{n}"}}
        reply = browser().request(port, "POST", path, json_body=body)  # a new address each time
        assert reply.status == 401, reply.body
    for port in (site.a.port, site.b.port):
        right = {"email": email, "password": password}
        reply = browser().request(port, "POST", "/api/v1/auth/tokens", json_body=right)
        assert reply.status == 429, reply.body
        assert int(reply.headers["Retry-After"]) > 60


def _assert_everyone_sees(site: Site, title: str, tags: list[str]) -> None:
    reader = browser()
    for port in (site.b.port, site.a.port):  # every worker of both instances agrees at once
        for _ in range(4):
            page = reader.get(port, f"/blog/post/{site.post_slug}")
            assert page.status == 200, page.body
            assert f'<h1 id="post-title">{title}</h1>' in page.text
            api = reader.get(port, f"/api/v1/posts/{site.post_slug}")
            assert api.status == 200, api.body
            assert api.json()["title"] == title
            assert reader.get(port, "/realworld/api/tags").json() == {"tags": tags}  # cached


def test_a_post_edited_through_one_is_not_served_stale_by_the_other(site: Site) -> None:
    _assert_everyone_sees(site, "Before the edit", ["original"])  # now in every cache

    author = _login(site, site.a.port)
    editor = f"/blog/edit/{site.post_id}"
    form = {
        "csrf_token": author.csrf_token(site.a.port, editor),
        "title": "After the edit",
        "summary": "",
        "body": "The body.",
        "tags": "fresh",
        "published": "y",
    }
    edit = author.post(site.a.port, editor, form)
    assert edit.status == 303, edit.body
    assert edit.headers["Location"].endswith(f"/blog/post/{site.post_slug}")
    _assert_everyone_sees(site, "After the edit", ["fresh"])

    # The same through /api/v1, with a bearer token from the other instance.
    client = browser()
    credentials = {"email": site.email, "password": DEFAULT_PASSWORD}
    login = client.request(site.b.port, "POST", "/api/v1/auth/tokens", json_body=credentials)
    assert login.status == 200, login.body
    patch = client.request(
        site.b.port,
        "PATCH",
        f"/api/v1/posts/{site.post_slug}",
        json_body={"title": "Edited through the API", "tags": ["api"]},
        headers={"Authorization": f"Bearer {login.json()['access_token']}"},
    )
    assert patch.status == 200, patch.body
    _assert_everyone_sees(site, "Edited through the API", ["api"])


def _requests_total(text: str, endpoint: str) -> float:
    total = 0.0
    for line in text.splitlines():
        if line.startswith("penpress_http_requests_total{") and f'endpoint="{endpoint}"' in line:
            total += float(line.rsplit(" ", 1)[1])
    return total


def test_metrics_sum_over_all_workers_and_need_the_token(site: Site) -> None:
    client = browser()
    auth = {"Authorization": f"Bearer {METRICS_TOKEN}"}
    assert client.get(site.a.port, "/metrics").status == 401
    before = _requests_total(
        client.get(site.a.port, "/metrics", headers=auth).body.decode(), "ops.healthz"
    )
    for _ in range(10):
        assert client.get(site.a.port, "/healthz").status == 200
    # Whichever of the two workers answers the scrape, it reports what both counted.
    for _ in range(4):
        text = client.get(site.a.port, "/metrics", headers=auth).body.decode()
        assert _requests_total(text, "ops.healthz") == before + 10
    assert "penpress_db_pool_connections" in text


def test_access_log_lines_carry_the_request_id(site: Site) -> None:
    reply = browser().get(site.b.port, "/healthz", headers={"X-Request-ID": "trace-me-42"})
    assert reply.headers["X-Request-ID"] == "trace-me-42"
    deadline = time.monotonic() + 5
    while "request_id=trace-me-42" not in site.b.log.read_text():
        assert time.monotonic() < deadline, site.b.log.read_text()[-2000:]
        time.sleep(0.1)
    line = next(x for x in site.b.log.read_text().splitlines() if "trace-me-42" in x)
    assert '"GET /healthz HTTP/1.1" 200' in line
