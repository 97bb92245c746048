"""/healthz, /readyz, /metrics and proxy headers, on whichever backend the suite runs."""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from flask import Flask, request

from penpress.errors import UNAVAILABLE_RETRY_AFTER
from penpress.extensions import db
from tests.conftest import DATABASE_URL_ENV, postgres_backend
from tests.servers import free_port


def test_healthz_answers_without_touching_the_database(
    client: Any, count_queries: Callable[[], Any]
) -> None:
    with count_queries() as queries:
        response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json == {"status": "ok"}
    assert response.headers["Cache-Control"] == "no-store"
    assert queries == []


def test_readyz_is_ok_when_database_and_migrations_are(app: Flask, client: Any) -> None:
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json["status"] == "ready"
    expected = {"database": "ok", "migrations": "ok"}
    if app.config.get("REDIS_URL"):
        expected["redis"] = "ok"
    assert response.json["checks"] == expected


def test_readyz_is_503_when_the_database_is_unreachable(build_app: Callable[..., Flask]) -> None:
    nowhere = f"postgresql+psycopg://penpress@127.0.0.1:{free_port()}/penpress"
    app = build_app(SQLALCHEMY_DATABASE_URI=nowhere, REDIS_URL=None)
    response = app.test_client().get("/readyz")
    assert response.status_code == 503
    assert response.headers["Retry-After"] == str(UNAVAILABLE_RETRY_AFTER)  # as the README says
    assert response.json == {
        "status": "unavailable",
        "checks": {"database": "unreachable", "migrations": "unknown"},
    }
    assert "psycopg" not in response.get_data(as_text=True)


def test_readyz_is_503_until_migrations_reach_head(
    build_app: Callable[..., Flask], tmp_path: Path
) -> None:
    empty = f"sqlite:///{tmp_path}/empty.db"
    app = build_app(SQLALCHEMY_DATABASE_URI=empty, REDIS_URL=None)
    response = app.test_client().get("/readyz")
    assert response.status_code == 503
    assert response.json["checks"] == {"database": "ok", "migrations": "not at head"}


def test_readyz_is_503_when_redis_is_unreachable(build_app: Callable[..., Flask]) -> None:
    app = build_app(REDIS_URL=f"redis://127.0.0.1:{free_port()}/0")
    with app.app_context():
        db.create_all()  # the database side is not what this test is about
    response = app.test_client().get("/readyz")
    assert response.status_code == 503
    assert response.json["checks"]["redis"] == "unreachable"


def _sample(text: str, name: str, **labels: str) -> float | None:
    """The value of one sample in Prometheus text format, or None if absent."""
    for line in text.splitlines():
        if line.startswith("#") or not line.startswith(name + "{"):
            continue
        found = dict(re.findall(r'(\w+)="([^"]*)"', line.split("}")[0]))
        if all(found.get(k) == v for k, v in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    return None


def test_metrics_count_requests_by_endpoint_and_status(client: Any) -> None:
    before = _sample(
        client.get("/metrics").get_data(as_text=True),
        "penpress_http_requests_total",
        endpoint="ops.healthz",
        status="200",
    )
    client.get("/healthz")
    client.get("/healthz")
    client.get("/no/such/page")
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.mimetype == "text/plain"
    text = response.get_data(as_text=True)
    after = _sample(text, "penpress_http_requests_total", endpoint="ops.healthz", status="200")
    assert after == (before or 0) + 2
    assert _sample(text, "penpress_http_requests_total", endpoint="<unmatched>", status="404")
    assert _sample(
        text,
        "penpress_http_request_duration_seconds_bucket",
        endpoint="ops.healthz",
        status="200",
        le="+Inf",
    )


def test_metrics_show_the_database_pool(client: Any) -> None:
    client.get("/readyz")  # uses (and returns) a pooled connection
    text = client.get("/metrics").get_data(as_text=True)
    assert _sample(text, "penpress_db_pool_connections", state="checked_out") == 0
    assert (_sample(text, "penpress_db_pool_connections", state="size") or 0) >= 1


def test_metrics_need_the_token_when_one_is_set(build_app: Callable[..., Flask]) -> None:
    app = build_app(METRICS_TOKEN="s3cret-token")
    client = app.test_client()
    missing = client.get("/metrics")
    assert missing.status_code == 401
    assert missing.headers["WWW-Authenticate"].startswith("Bearer")
    assert "penpress_" not in missing.get_data(as_text=True)
    assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert client.get("/metrics", headers={"Authorization": "s3cret-token"}).status_code == 401
    ok = client.get("/metrics", headers={"Authorization": "Bearer s3cret-token"})
    assert ok.status_code == 200
    assert "penpress_http_requests_total" in ok.get_data(as_text=True)


def test_metrics_can_be_switched_off(build_app: Callable[..., Flask]) -> None:
    app = build_app(METRICS_ENABLED=False)
    assert app.test_client().get("/metrics").status_code == 404


def test_celery_task_signals_are_counted(app: Flask) -> None:
    from celery import signals

    from penpress.ops.metrics import TASKS

    def value(outcome: str) -> float:
        return TASKS.labels(task="penpress.test_task", outcome=outcome)._value.get()

    queued, succeeded = value("queued"), value("succeeded")
    signals.before_task_publish.send(sender="penpress.test_task")

    class FakeTask:
        name = "penpress.test_task"

    signals.task_success.send(sender=FakeTask(), result=None)
    assert value("queued") == queued + 1
    assert value("succeeded") == succeeded + 1


def _echo_app(build_app: Callable[..., Flask], **overrides: Any) -> Flask:
    app = build_app(**overrides)

    @app.get("/_echo")
    def echo() -> dict[str, str]:
        return {"remote": request.remote_addr or "", "scheme": request.scheme}

    return app


FORWARDED = {"X-Forwarded-For": "203.0.113.9", "X-Forwarded-Proto": "https"}


def test_forwarded_headers_are_ignored_unless_configured(build_app: Callable[..., Flask]) -> None:
    client = _echo_app(build_app).test_client()
    response = client.get("/_echo", headers=FORWARDED)
    assert response.json == {"remote": "127.0.0.1", "scheme": "http"}


def test_forwarded_headers_are_trusted_when_configured(build_app: Callable[..., Flask]) -> None:
    app = _echo_app(build_app, PROXY_FIX_X_FOR=1, PROXY_FIX_X_PROTO=1)
    response = app.test_client().get("/_echo", headers=FORWARDED)
    assert response.json == {"remote": "203.0.113.9", "scheme": "https"}


def test_ops_routes_are_never_rate_limited(build_app: Callable[..., Flask]) -> None:
    app = build_app(RATELIMIT_ENABLED=True, RATELIMIT_DEFAULT="2 per minute")

    @app.get("/_limited")
    def limited() -> str:
        return "ok"

    client = app.test_client()
    assert [client.get("/_limited").status_code for _ in range(3)] == [200, 200, 429]
    for path in ("/healthz", "/readyz", "/metrics"):
        assert 429 not in {client.get(path).status_code for _ in range(4)}, path


def test_an_outage_at_commit_time_is_a_503_not_a_500(build_app: Callable[..., Flask]) -> None:
    import psycopg
    from sqlalchemy.exc import OperationalError

    # As in production: errors outside the view reach the handlers instead of the test.
    app = build_app(PROPAGATE_EXCEPTIONS=False)

    @app.after_request
    def lose_the_database(response: Any) -> Any:
        refused = psycopg.OperationalError("connection failed: Connection refused")
        raise OperationalError("COMMIT", {}, refused)

    for path, mimetype in (("/healthz", "text/html"), ("/api/anything", "application/json")):
        response = app.test_client().get(path)
        assert response.status_code == 503
        assert response.headers["Retry-After"] == str(UNAVAILABLE_RETRY_AFTER)
        assert response.mimetype == mimetype


def test_the_suite_runs_on_the_backend_it_was_asked_for(app: Flask) -> None:
    with app.app_context():
        dialect = db.engine.dialect.name
    if postgres_backend():
        assert dialect == "postgresql"
        assert app.config["CACHE_TYPE"] == "penpress.caching.ResilientRedisCache"
        assert app.config["RATELIMIT_STORAGE_URI"].startswith("redis://")
    elif not os.environ.get(DATABASE_URL_ENV):
        assert dialect == "sqlite"


def test_an_error_page_that_cannot_render_still_answers(
    build_app: Callable[..., Flask], monkeypatch: pytest.MonkeyPatch
) -> None:
    import penpress.errors

    def broken_template(*_args: Any, **_kwargs: Any) -> str:
        raise RuntimeError("layout needs the database")

    monkeypatch.setattr(penpress.errors, "render_template", broken_template)
    response = build_app().test_client().get("/no/such/page")
    assert response.status_code == 404
    assert response.mimetype == "text/html"
    body = response.get_data(as_text=True)
    assert "<h1>404</h1>" in body
    assert "database" not in body


def test_made_up_methods_share_one_metrics_label(client: Any) -> None:
    client.open("/healthz", method="BREW")
    text = client.get("/metrics").get_data(as_text=True)
    assert 'method="BREW"' not in text
    assert _sample(text, "penpress_http_requests_total", method="OTHER", status="405")


def test_metrics_without_a_token_are_only_for_internal_clients(
    build_app: Callable[..., Flask],
) -> None:
    client = build_app(PROXY_FIX_X_FOR=1).test_client()
    for internal in ("127.0.0.1", "10.1.2.3", "192.168.0.7", "::1"):
        response = client.get("/metrics", headers={"X-Forwarded-For": internal})
        assert response.status_code == 200, internal
    # A public address (ipaddress counts the documentation ranges, 203.0.113.0/24..., private).
    public = client.get("/metrics", headers={"X-Forwarded-For": "8.8.8.8"})
    assert public.status_code == 404
    assert "penpress_" not in public.get_data(as_text=True)


def test_metrics_with_a_token_are_for_its_bearers_anywhere(
    build_app: Callable[..., Flask],
) -> None:
    client = build_app(PROXY_FIX_X_FOR=1, METRICS_TOKEN="t0ken").test_client()
    outside = {"X-Forwarded-For": "8.8.8.8"}
    assert client.get("/metrics", headers=outside).status_code == 401
    bearer = {**outside, "Authorization": "Bearer t0ken"}
    assert client.get("/metrics", headers=bearer).status_code == 200
