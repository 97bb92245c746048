"""Gunicorn settings for Penpress: ``gunicorn -c deploy/gunicorn.conf.py 'penpress:create_app()'``.

Every value can be changed through the environment variable named next to it.
"""

from __future__ import annotations

import multiprocessing
import os
import tempfile
from pathlib import Path
from typing import Any


def _int(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    return int(value) if value else default


# HOST defaults to loopback so a bare `gunicorn` is never exposed by accident; the container
# image sets HOST=0.0.0.0 because nginx reaches it over the container network.
bind = [f"{os.environ.get('HOST', '127.0.0.1')}:{_int('PORT', 8000)}"]

# The classic (2 x cores) + 1 sync workers; WEB_CONCURRENCY overrides (also read by many hosts).
workers = _int("WEB_CONCURRENCY", multiprocessing.cpu_count() * 2 + 1)
threads = _int("GUNICORN_THREADS", 1)
worker_class = "gthread" if threads > 1 else "sync"

# nginx buffers slow clients, so a worker only waits on the app itself.
timeout = _int("GUNICORN_TIMEOUT", 30)
graceful_timeout = _int("GUNICORN_GRACEFUL_TIMEOUT", 30)
keepalive = _int("GUNICORN_KEEPALIVE", 5)
# Recycle workers now and then so a slow leak never takes the site down.
max_requests = _int("GUNICORN_MAX_REQUESTS", 1000)
max_requests_jitter = _int("GUNICORN_MAX_REQUESTS_JITTER", 100)
# Heartbeat files on tmpfs: a container's overlay disk can stall them into false timeouts.
worker_tmp_dir = "/dev/shm" if Path("/dev/shm").is_dir() else None  # noqa: S108
# Gunicorn's own X-Forwarded-* handling; the app's is PROXY_FIX_X_* (README: Production).
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")

# Gunicorn's control socket (for `gunicornc`) defaults to one path per user, so several
# instances on a host would take it from each other, and an image user may have no writable
# home: off unless GUNICORN_CONTROL_SOCKET names a path for this instance.
control_socket = os.environ.get("GUNICORN_CONTROL_SOCKET", "")
control_socket_disable = not control_socket

# Logs to stdout/stderr for the container runtime; the request id the app puts on every
# response (X-Request-ID) ties an access log line to the app's own log records.
accesslog = os.environ.get("GUNICORN_ACCESS_LOG", "-")
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")
access_log_format = (
    '%(h)s - %(u)s %(t)s "%(r)s" %(s)s %(B)s "%(f)s" "%(a)s" %(M)sms request_id=%({x-request-id}o)s'
)

# Prometheus: every worker writes its samples to files in this folder and /metrics sums
# them. It must exist before the app (and prometheus_client) is imported in a worker.
if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="penpress-metrics-")


def on_starting(server: Any) -> None:
    """Start from empty metric files: values left by an earlier run would be counted again."""
    folder = Path(os.environ["PROMETHEUS_MULTIPROC_DIR"])
    folder.mkdir(parents=True, exist_ok=True)
    for leftover in folder.glob("*.db"):  # only prometheus_client's files, nothing else
        leftover.unlink()


def child_exit(server: Any, worker: Any) -> None:
    """Drop a dead worker's live gauges (the database pool) from /metrics."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)  # type: ignore[no-untyped-call]


def post_worker_init(worker: Any) -> None:
    """Keep the garbage collector off what the worker loaded once and keeps for life (the
    app, its modules, compiled queries and templates) and run it less often: a request
    makes many short-lived objects and almost no cycles, and a full scan of every loaded
    object costs more than the request it interrupts."""
    import gc

    gc.collect()
    gc.freeze()
    gc.set_threshold(10_000, 50, 100)
