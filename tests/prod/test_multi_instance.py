"""Two gunicorn instances (production config) on one PostgreSQL and one Redis.

They run ``deploy/gunicorn.conf.py`` with two workers each, so this also checks the serving
config, multiprocess metrics and request ids in the access log. The checks go through the
real site and APIs: the login form (CSRF on), ``/auth/profile``, the post editor, the post
page, ``/api/v1`` and the Conduit API.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from flask import Flask

from penpress.extensions import db
from tests.conftest import test_settings as settings_for
from tests.factories import DEFAULT_PASSWORD, PostFactory, UserFactory
from tests.prod.browser import Browser
from tests.prod.conftest import migrated_app
from tests.servers import PostgresServer, RedisServer, free_port, wait_for_port

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
SECRET_KEY = "multi-instance-test-secret-0123456789-abcdefghijklmnop"
METRICS_TOKEN = "metrics-token-for-tests"
AUTH_LIMIT = 5  # the instances' RATELIMIT_AUTH, per minute and client address


_addresses = iter(range(1, 250))


def browser() -> Browser:
    """A browser from a client address that no other browser of this module uses."""
    return Browser(address=f"10.20.0.{next(_addresses)}")


@dataclass
class Instance:
    port: int
    process: subprocess.Popen[bytes]
    log: Path


@dataclass
class Site:
    a: Instance
    b: Instance
    post_id: int
    post_slug: str
    email: str
    username: str


def _start_instance(env: dict[str, str], folder: Path) -> Instance:
    port = free_port()
    log = folder / f"gunicorn-{port}.log"
    metrics_dir = folder / f"metrics-{port}"
    metrics_dir.mkdir()
    instance_env = {
        **env,
        "PORT": str(port),
        "HOST": "127.0.0.1",
        "WEB_CONCURRENCY": "2",
        "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir),
    }
    with log.open("wb") as output:
        process = subprocess.Popen(  # noqa: S603
            [
                sys.executable,
                "-m",
                "gunicorn",
                "-c",
                str(ROOT / "deploy" / "gunicorn.conf.py"),
                "penpress:create_app()",
            ],
            cwd=ROOT,
            env=instance_env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    return Instance(port, process, log)


def _stop(instance: Instance) -> None:
    instance.process.terminate()
    try:
        instance.process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        instance.process.kill()
        instance.process.wait()


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
    a, b = _start_instance(env, folder), _start_instance(env, folder)
    try:
        for instance in (a, b):
            try:
                wait_for_port(instance.port, timeout=60, process=instance.process)
            except (RuntimeError, TimeoutError) as failure:
                raise AssertionError(f"{failure}\n{instance.log.read_text()}") from None
        yield Site(a, b, *seeded)
    finally:
        _stop(a)
        _stop(b)


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
