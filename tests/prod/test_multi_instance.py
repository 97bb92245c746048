"""Two gunicorn instances (production config) on one PostgreSQL and one Redis.

They run ``deploy/gunicorn.conf.py`` with two workers each, so this also checks the serving
config, multiprocess metrics and request ids in the access log. The probe routes stand in
for the site's pages, which live on another branch (see ``probe.py``).
"""

from __future__ import annotations

import http.client
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from flask import Flask

from penpress.extensions import db
from tests.conftest import test_settings as settings_for
from tests.factories import DEFAULT_PASSWORD, PostFactory, UserFactory
from tests.prod.conftest import migrated_app
from tests.servers import PostgresServer, RedisServer, free_port, wait_for_port

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
SECRET_KEY = "multi-instance-test-secret-0123456789-abcdefghijklmnop"
METRICS_TOKEN = "metrics-token-for-tests"


@dataclass
class Reply:
    status: int
    headers: http.client.HTTPMessage
    body: bytes

    def json(self) -> Any:
        import json

        return json.loads(self.body)


@dataclass
class Browser:
    """A cookie-keeping client that, unlike most, sends Secure cookies over plain HTTP
    (the instances run the production config, whose cookies are Secure behind TLS)."""

    cookies: dict[str, str] = field(default_factory=dict)

    def request(
        self,
        port: int,
        method: str,
        path: str,
        form: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
    ) -> Reply:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        sent = dict(headers or {})
        if self.cookies:
            sent["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        body = None
        if form is not None:
            body = urlencode(form)
            sent["Content-Type"] = "application/x-www-form-urlencoded"
        try:
            connection.request(method, path, body=body, headers=sent)
            response = connection.getresponse()
            reply = Reply(response.status, response.headers, response.read())
        finally:
            connection.close()
        for header in reply.headers.get_all("Set-Cookie") or []:
            for name, morsel in SimpleCookie(header).items():
                self.cookies[name] = morsel.value
        return reply

    def get(self, port: int, path: str, **kwargs: Any) -> Reply:
        return self.request(port, "GET", path, **kwargs)

    def post(self, port: int, path: str, form: dict[str, str]) -> Reply:
        return self.request(port, "POST", path, form=form)


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
                "tests.prod.instance_app:create_app()",
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
        post = PostFactory(author=author, published=True, title="Before the edit")
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
    browser = Browser()
    reply = browser.post(port, "/probe/login", {"email": site.email, "password": DEFAULT_PASSWORD})
    assert reply.status == 200, reply.body
    return browser


def test_both_instances_are_ready(site: Site) -> None:
    for instance in (site.a, site.b):
        reply = Browser().get(instance.port, "/readyz")
        assert reply.status == 200, reply.body
        assert reply.json()["checks"] == {"database": "ok", "migrations": "ok", "redis": "ok"}


def test_a_session_made_on_one_instance_is_valid_on_the_other(site: Site) -> None:
    browser = _login(site, site.a.port)
    reply = browser.get(site.b.port, "/probe/me")
    assert reply.status == 200
    assert reply.json() == {"username": site.username}
    assert Browser().get(site.b.port, "/probe/me").status == 401  # the cookie is what counts


def test_a_rate_limit_counts_across_instances(site: Site) -> None:
    browser = Browser()
    ports = [site.a.port, site.b.port] * 3  # 6 requests against a limit of 5 per minute
    statuses = [browser.get(port, "/probe/limited").status for port in ports]
    # Per-process counting would allow 5 on each instance (and 5 per gunicorn worker).
    assert statuses == [200, 200, 200, 200, 200, 429]


def test_a_post_edited_through_one_is_not_served_stale_by_the_other(site: Site) -> None:
    reader = Browser()
    assert reader.get(site.b.port, "/probe/tags").json() == {"tags": {"original": 1}}  # cached
    assert reader.get(site.b.port, f"/probe/post/{site.post_slug}").json() == {
        "title": "Before the edit"
    }

    author = _login(site, site.a.port)
    edit = author.post(
        site.a.port, f"/probe/post/{site.post_id}", {"title": "After the edit", "tags": "fresh"}
    )
    assert edit.status == 200, edit.body

    for port in (site.b.port, site.a.port):  # every worker of both instances agrees at once
        for _ in range(4):
            assert reader.get(port, "/probe/tags").json() == {"tags": {"fresh": 1}}
            title = reader.get(port, f"/probe/post/{site.post_slug}").json()
            assert title == {"title": "After the edit"}


def _requests_total(text: str, endpoint: str) -> float:
    total = 0.0
    for line in text.splitlines():
        if line.startswith("penpress_http_requests_total{") and f'endpoint="{endpoint}"' in line:
            total += float(line.rsplit(" ", 1)[1])
    return total


def test_metrics_sum_over_all_workers_and_need_the_token(site: Site) -> None:
    client = Browser()
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
    reply = Browser().get(site.b.port, "/healthz", headers={"X-Request-ID": "trace-me-42"})
    assert reply.headers["X-Request-ID"] == "trace-me-42"
    deadline = time.monotonic() + 5
    while "request_id=trace-me-42" not in site.b.log.read_text():
        assert time.monotonic() < deadline, site.b.log.read_text()[-2000:]
        time.sleep(0.1)
    line = next(x for x in site.b.log.read_text().splitlines() if "trace-me-42" in x)
    assert '"GET /healthz HTTP/1.1" 200' in line
