"""Prometheus metrics: requests by endpoint and status, the database pool, Celery tasks, and
the outbox's jobs by state (read from the database at each scrape, so every instance agrees).

Under gunicorn, set ``PROMETHEUS_MULTIPROC_DIR`` (``deploy/gunicorn.conf.py`` does) so every
worker writes its samples there and ``/metrics`` reports the sum over all workers.
"""

from __future__ import annotations

import os
import time
from typing import Any

from flask import Flask, Response, g, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy.exc import SQLAlchemyError

from penpress import outbox
from penpress.extensions import db

REQUESTS = Counter(
    "penpress_http_requests_total",
    "HTTP requests answered, by endpoint and status.",
    ["method", "endpoint", "status"],
)
LATENCY = Histogram(
    "penpress_http_request_duration_seconds",
    "Time spent answering HTTP requests, by endpoint and status.",
    ["method", "endpoint", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
DB_POOL = Gauge(
    "penpress_db_pool_connections",
    "Database connections in this process's pool, by state.",
    ["state"],
    multiprocess_mode="livesum",
)
TASKS = Counter(
    "penpress_celery_tasks_total",
    "Celery tasks by name and outcome (queued by the web app; succeeded/failed/retried by "
    "workers that export metrics).",
    ["task", "outcome"],
)

UNMATCHED = "<unmatched>"  # one label for every URL no route knows, to bound cardinality
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def init_app(app: Flask) -> None:
    """Count Celery tasks; requests are timed by the app's request lifecycle
    (:func:`start_timer`, :func:`observe`)."""
    connect_celery_signals()


def render() -> tuple[bytes, str]:
    """The exposition text, summed over all processes in multiprocess mode."""
    record_pool()
    from_the_database = CollectorRegistry()
    from_the_database.register(OutboxCollector())
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    else:
        registry = REGISTRY
    return generate_latest(registry) + generate_latest(from_the_database), CONTENT_TYPE_LATEST


class OutboxCollector(Collector):
    """``penpress_outbox_jobs{state}``: jobs pending, done and given up (failed), counted in
    the database when scraped; left out while the database is unreachable."""

    def collect(self) -> list[Metric]:
        try:
            counts = outbox.counts()
        except SQLAlchemyError:
            db.session.rollback()
            return []
        family = GaugeMetricFamily(
            "penpress_outbox_jobs",
            "Background jobs in the outbox by state: pending (not done yet), done, failed "
            "(given up after the last attempt).",
            labels=["state"],
        )
        for state, count in counts.items():
            family.add_metric([state], count)
        return [family]


def start_timer() -> None:
    """Note when the request started (the first before-request step)."""
    g.penpress_request_started = time.perf_counter()


def observe(response: Response) -> None:
    """Count and time the answered request (the last after-request step)."""
    key = (
        request.method if request.method in _METHODS else "OTHER",
        request.endpoint or UNMATCHED,
        str(response.status_code),
    )
    count, latency = _request_series.get(key) or _new_request_series(key)
    count.inc()
    started = g.get("penpress_request_started")
    if started is not None:
        latency.observe(time.perf_counter() - started)
    # After the unit of work committed, so the connection this request used is back in the pool.
    record_pool()


# The labelled series of each (method, endpoint, status) seen, looked up once: a label lookup
# takes a lock and builds a tuple on every request. Bounded by the routes (UNMATCHED above).
_request_series: dict[tuple[str, str, str], tuple[Any, Any]] = {}


def _new_request_series(key: tuple[str, str, str]) -> tuple[Any, Any]:
    method, endpoint, status = key
    labels = {"method": method, "endpoint": endpoint, "status": status}
    series = (REQUESTS.labels(**labels), LATENCY.labels(**labels))
    _request_series[key] = series
    return series


def record_pool() -> None:
    """Sample this process's database pool (at the end of each request and at each scrape)."""
    pool: Any = db.engine.pool  # QueuePool: size(), checkedin(), checkedout(), overflow()
    if not hasattr(pool, "checkedout"):
        return  # pools without counters (SQLite's NullPool/StaticPool) have nothing to show
    _record_pool(pool)


_POOL_STATES = ("size", "checked_out", "checked_in", "overflow")
_last_pool_sample: tuple[int, ...] | None = None  # with this process's id: a fork starts over


def _record_pool(stats: Any) -> None:
    """Set the pool gauges, unless they already hold these values (most requests: writing
    four unchanged samples cost more than the rest of the bookkeeping)."""
    global _last_pool_sample
    sample = (
        os.getpid(),
        stats.size(),
        stats.checkedout(),
        stats.checkedin(),
        max(stats.overflow(), 0),
    )
    if sample == _last_pool_sample:
        return
    for state, value in zip(_POOL_STATES, sample[1:], strict=True):
        DB_POOL.labels(state=state).set(value)
    _last_pool_sample = sample


_celery_connected = False


def connect_celery_signals() -> None:
    """Count tasks through Celery's global signals (once per process)."""
    global _celery_connected
    if _celery_connected:
        return
    from celery import signals

    signals.before_task_publish.connect(_task_queued, weak=False)
    signals.task_success.connect(_task_succeeded, weak=False)
    signals.task_failure.connect(_task_failed, weak=False)
    signals.task_retry.connect(_task_retried, weak=False)
    _celery_connected = True


def _task_name(sender: Any) -> str:
    return str(getattr(sender, "name", sender) or "unknown")


def _task_queued(sender: Any = None, **_kwargs: Any) -> None:
    TASKS.labels(task=_task_name(sender), outcome="queued").inc()


def _task_succeeded(sender: Any = None, **_kwargs: Any) -> None:
    TASKS.labels(task=_task_name(sender), outcome="succeeded").inc()


def _task_failed(sender: Any = None, **_kwargs: Any) -> None:
    TASKS.labels(task=_task_name(sender), outcome="failed").inc()


def _task_retried(sender: Any = None, **_kwargs: Any) -> None:
    TASKS.labels(task=_task_name(sender), outcome="retried").inc()
