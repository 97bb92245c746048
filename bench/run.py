"""Load benchmark: Penpress under gunicorn (production settings) driven by wrk.

    make bench                                   # 10,000 posts on SQLite
    make bench BENCH_ARGS="--posts 100000"
    make bench BENCH_ARGS="--posts 10000 --db postgres"
    .venv/bin/python -m bench.run --help

Builds or reuses a data set (bench/data/, git-ignored), measures the two reference apps and
every endpoint of bench/endpoints.py with wrk on 127.0.0.1 only (bounded: a fixed duration
per endpoint), counts SQL queries per request in-process, then writes
bench/results/<date>-<posts>-<db>.json and regenerates BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import http.client
import importlib
import os
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine

from bench import dataset, machine, report, server, wrk
from bench.endpoints import Context, Endpoint, discover, select_endpoints
from bench.queries import measure as count_queries

SECRET_KEY = "benchmark-only-secret-key-" + "x" * 40  # noqa: S105 (local benchmark runs only)
GZIP = {"Accept-Encoding": "gzip"}  # as browsers (and nginx passing their header on) send


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.run", description=(__doc__ or "").splitlines()[0]
    )
    parser.add_argument("--posts", type=int, default=10_000, help="data set size (10000)")
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per endpoint (10)")
    parser.add_argument("--warmup", type=float, default=3.0, help="warm-up seconds (3)")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads (2)")
    parser.add_argument("--connections", type=int, default=16, help="wrk connections (16)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn sync workers (2)")
    parser.add_argument(
        "--max-requests",
        type=int,
        default=0,
        help="gunicorn max_requests; 0 (default) keeps workers alive for the whole run",
    )
    parser.add_argument(
        "--only", action="append", metavar="NAME", help="measure only this endpoint (repeatable)"
    )
    parser.add_argument("--rebuild", action="store_true", help="build the data set again")
    parser.add_argument("--no-save", action="store_true", help="print only; write no files")
    return parser.parse_args(argv)


def command_line(argv: list[str]) -> str:
    args = shlex.join(argv)
    if os.environ.get("MAKELEVEL"):
        return f'make bench BENCH_ARGS="{args}"' if args else "make bench"
    return f"python -m bench.run {args}".strip()


def base_env(tmp: Path, max_requests: int) -> dict[str, str]:
    """The production settings the app runs with, made local; rate limits off."""
    metrics = tmp / "metrics"
    metrics.mkdir()
    return {
        **os.environ,
        "PENPRESS_CONFIG": "production",
        "SECRET_KEY": SECRET_KEY,
        "SITE_URL": "http://127.0.0.1",
        "RATELIMIT_ENABLED": "false",
        "LOG_LEVEL": "WARNING",
        "MAIL_BACKEND": "file",  # comment notifications go to files, not to an SMTP server
        "MAIL_FILE_PATH": str(tmp / "outbox"),
        "GUNICORN_MAX_REQUESTS": str(max_requests),
        "GUNICORN_ACCESS_LOG": str(tmp / "access.log"),
        "GUNICORN_LOG_LEVEL": "warning",
        "PROMETHEUS_MULTIPROC_DIR": str(metrics),
    }


def startup_seconds(env: dict[str, str], cache: Path, runs: int = 3) -> dict[str, Any]:
    """``create_app()`` with its imports, in a fresh interpreter each time.

    An installed Penpress has its bytecode compiled (pip compiles at install, so the Docker
    image has it), but a development checkout is an editable install, and with
    ``PYTHONDONTWRITEBYTECODE`` set (as on this machine) every start would compile the
    package's ~140 modules from source again. So the runs share a bytecode folder of their
    own (``PYTHONPYCACHEPREFIX``): the first run compiles and is reported apart, the best of
    the next ``runs`` is the start-up a deployment sees.
    """
    code = (
        "import time; t = time.perf_counter(); from penpress import create_app; "
        "create_app(); print(time.perf_counter() - t)"
    )
    run_env = {k: v for k, v in env.items() if k != "PYTHONDONTWRITEBYTECODE"}
    run_env["PYTHONPYCACHEPREFIX"] = str(cache)
    times = []
    for _ in range(runs + 1):
        result = subprocess.run(
            [sys.executable, "-c", code],
            env=run_env,
            capture_output=True,
            text=True,
            check=True,
            cwd=server.ROOT,
        )
        times.append(round(float(result.stdout.strip().splitlines()[-1]), 3))
    first, warm = times[0], times[1:]
    return {"first_seconds": first, "seconds": warm, "best_seconds": min(warm)}


def wrk_measure(
    running: server.Gunicorn,
    path: str,
    args: argparse.Namespace,
    *,
    headers: dict[str, str],
    **extra: Any,
) -> tuple[wrk.WrkResult, list[float]]:
    """Warm up, measure, and leave the workers idle; also the workers' RSS after the run."""
    options = {"threads": args.threads, "connections": args.connections, "headers": headers}
    if args.warmup > 0:
        wrk.run(f"http://127.0.0.1:{running.port}{path}", seconds=args.warmup, **options, **extra)
        if server.drain(running):
            print("   (so the measurement starts on fresh workers)", flush=True)
    measured, _ = wrk.run(
        f"http://127.0.0.1:{running.port}{path}", seconds=args.duration, **options, **extra
    )
    rss = machine.worker_rss(running.pid)
    server.drain(running)
    return measured, rss


def _figures(result: wrk.WrkResult) -> dict[str, Any]:
    return {
        "req_per_s": round(result.req_per_s, 1),
        "p50_ms": _round(result.p50_ms),
        "p99_ms": _round(result.p99_ms),
        "requests": result.requests,
        "non_2xx_3xx": result.non_2xx_3xx,
        "socket_errors": result.socket_errors,
    }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


def _loud(message: str) -> None:
    bar = "!" * 78
    print(f"\n{bar}\n!! {message}\n{bar}\n", flush=True)


def measure_reference(
    name: str, app: str, env: dict[str, str], args: argparse.Namespace, log: Path
) -> dict[str, Any]:
    print(f"-- {name}: {app}", flush=True)
    with server.gunicorn(app, env, workers=args.workers, log=log) as running:
        entry: dict[str, Any] = {"name": name, "path": app, "load_before": machine.load_average()}
        probe = server.request(running.port, "GET", "/", headers=GZIP)
        entry["status"] = probe.status
        result, rss = wrk_measure(running, "/", args, headers=GZIP)
        entry.update(_figures(result))
        entry["workers_rss_mib"] = rss
        entry["worker_rss_mib"] = max(rss, default=None)
    entry["ok"] = probe.status == 200 and result.errors == 0
    if not entry["ok"]:
        _loud(f"reference {name} answered {probe.status} / {result.errors} errors")
    return entry


def measure_endpoint(
    running: server.Gunicorn, endpoint: Endpoint, ctx: Context, args: argparse.Namespace
) -> dict[str, Any]:
    path = endpoint.url(ctx)
    headers = {
        **GZIP,
        **server.auth_headers(
            endpoint.auth,
            cookie=ctx.session_cookie,
            conduit=ctx.conduit_token,
            bearer=ctx.bearer_token,
        ),
    }
    entry: dict[str, Any] = {
        "name": endpoint.name,
        "path": path if not endpoint.writes else f"POST {path} + POST comments",
        "auth": endpoint.auth,
        "load_before": machine.load_average(),
    }
    print(f"-- {endpoint.name}: {entry['path']}", flush=True)
    if not endpoint.writes:
        try:
            probe = server.request(running.port, "GET", path, headers=headers)
        except (OSError, http.client.HTTPException) as error:
            # Typically gunicorn killing a worker that ran past its timeout (30 s).
            entry.update(ok=False, status=None, status_note=f"no answer ({error!r})")
            _loud(f"{endpoint.name} ({path}) gave no answer: {error!r}; not measured")
            server.drain(running)
            return entry
        entry["status"] = probe.status
        wanted = endpoint.expect_text(ctx) if endpoint.expect_text else None
        if probe.status != endpoint.expect or (wanted and wanted.encode() not in _body(probe)):
            entry["ok"] = False
            entry["status_note"] = (
                f"answered {probe.status}, expected {endpoint.expect}"
                if probe.status != endpoint.expect
                else f"answer lacks {wanted!r}"
            )
            _loud(f"{endpoint.name} ({path}) {entry['status_note']}: not measured")
            return entry
        result, rss = wrk_measure(running, path, args, headers=headers)
    else:
        entry["status"] = endpoint.expect
        assert endpoint.script_args is not None
        run_tag = datetime.now(UTC).strftime("%H%M%S")
        result, rss = wrk_measure(
            running,
            "/",
            args,
            headers=headers,
            script=endpoint.script,
            script_args=[*endpoint.script_args(ctx), run_tag],
        )
    entry.update(_figures(result))
    entry["workers_rss_mib"] = rss
    entry["worker_rss_mib"] = max(rss, default=None)
    # A status other than 2xx/3xx fails the endpoint; socket errors (a connection closed or
    # timed out without an answer) are shown next to the status and printed loudly.
    entry["ok"] = result.non_2xx_3xx == 0
    socket_errors = {k: v for k, v in result.socket_errors.items() if v}
    if not entry["ok"]:
        entry["status_note"] = f"{result.non_2xx_3xx} of {result.requests} answers not 2xx/3xx"
        _loud(f"{endpoint.name} ({path}): {entry['status_note']}")
    elif socket_errors:
        entry["status_note"] = "socket errors: " + ", ".join(
            f"{v} {k}" for k, v in socket_errors.items()
        )
        _loud(f"{endpoint.name} ({path}): {entry['status_note']}")
    return entry


def _body(response: server.Response) -> bytes:
    import gzip

    encoding = {k.lower(): v for k, v in response.headers}.get("content-encoding")
    return gzip.decompress(response.body) if encoding == "gzip" else response.body


@contextmanager
def _throwaway(factory: Callable[[], Any]) -> Iterator[Any]:
    running = factory()
    running.start()
    try:
        yield running
    finally:
        running.destroy()


def _query_counts(env: dict[str, str], endpoints: list[Endpoint], ctx: Context) -> list[Any]:
    """Queries per request of each endpoint, in this process with the run's settings."""
    os.environ.update(env)
    from penpress import create_app

    app = create_app()
    return [count_queries(app, endpoint, ctx) for endpoint in endpoints]


def _stop(signum: int, _frame: object) -> None:
    raise SystemExit(128 + signum)


LAST_LOG = dataset.DATA_DIR / "last-run-gunicorn.log"


def _keep_log(log: Path) -> None:
    if log.exists():
        LAST_LOG.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(log, LAST_LOG)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    # Stopped with SIGTERM (or SIGINT, which a background job ignores): still stop gunicorn
    # and the throwaway servers, through the context managers' cleanup.
    signal.signal(signal.SIGTERM, _stop)
    endpoints = select_endpoints(args.only)
    started = datetime.now(UTC)
    print(f"Machine: {machine.describe()}", flush=True)
    load_start = machine.load_average()
    notes: list[str] = []
    with tempfile.TemporaryDirectory(prefix="penpress-bench-") as folder, ExitStack() as stack:
        tmp = Path(folder)
        # gunicorn's log outlives the run (git-ignored), for the failures it explains.
        stack.callback(_keep_log, tmp / "gunicorn.log")
        env = base_env(tmp, args.max_requests)
        print("Rate limits are OFF for the load client (RATELIMIT_ENABLED=false).", flush=True)
        if args.db == "postgres":
            # The test suite's throwaway servers (not type-checked with the app: imported late).
            servers = importlib.import_module("tests.servers")
            postgres = stack.enter_context(_throwaway(servers.PostgresServer))
            redis = stack.enter_context(_throwaway(servers.RedisServer))
            env["DATABASE_URL"] = postgres.create_database("penpress_bench")
            env["REDIS_URL"] = redis.url()
            print(f"Loading {args.posts} posts into PostgreSQL (COPY)...", flush=True)
            data = dataset.postgres_data_set(args.posts, env)
            notes.append(
                "PostgreSQL is the tests' throwaway server (tests/servers.py): fsync, "
                "synchronous_commit and full_page_writes off; Redis without persistence."
            )
        else:
            print(f"Data set: {args.posts} posts on SQLite...", flush=True)
            data = dataset.sqlite_data_set(args.posts, env, rebuild=args.rebuild)
            env["DATABASE_URL"] = f"sqlite:///{dataset.working_copy(data, tmp)}"
        print(
            f"Data set {'built' if data.built_now else 'reused'}: seed-db took "
            f"{data.seed_seconds:.1f} s",
            flush=True,
        )
        startup = startup_seconds(env, tmp / "bytecode")
        engine = create_engine(env["DATABASE_URL"])
        with engine.connect() as connection:
            ctx = discover(connection)
        engine.dispose()

        log = tmp / "gunicorn.log"
        references = [
            measure_reference("ceiling (hello world)", "bench.apps.hello:app", env, args, log),
            measure_reference(
                "floor (20 rows, SQLAlchemy)", "bench.apps.floor:app", env, args, log
            ),
        ]
        results = []
        with server.gunicorn(
            "penpress:create_app()", env, workers=args.workers, log=log, probe="/healthz"
        ) as app:
            ctx.session_cookie = server.web_login(app.port, ctx.user_email, ctx.password)
            ctx.conduit_token = server.conduit_token(app.port, ctx.user_email, ctx.password)
            for endpoint in endpoints:
                if endpoint.auth == "bearer":  # access tokens are short-lived: fetch it now
                    ctx.bearer_token = server.bearer_token(app.port, ctx.user_email, ctx.password)
                results.append(measure_endpoint(app, endpoint, ctx, args))
        print("-- counting SQL queries per request (in-process)", flush=True)
        counts = _query_counts(env, endpoints, ctx)
        for entry, endpoint, counted in zip(results, endpoints, counts, strict=True):
            entry["queries"] = counted.queries
            entry["in_process_ms"] = round(counted.seconds * 1000, 1)
            if counted.detail:
                entry["queries_detail"] = counted.detail
            expected = 201 if endpoint.writes else entry.get("status")
            if expected is not None and counted.status != expected:
                notes.append(f"{entry['name']}: the in-process request answered {counted.status}")

    ceiling = references[0].get("req_per_s") if references[0]["ok"] else None
    for entry in [*references, *results]:
        rate = entry.get("req_per_s")
        entry["ratio_to_ceiling"] = round(rate / ceiling, 4) if rate and ceiling else None
    if args.max_requests == 0:
        notes.append(
            "GUNICORN_MAX_REQUESTS=0: workers are not recycled during the run (the production "
            "default recycles each worker after about 1,000 requests, which at these rates would "
            "measure worker start-up instead of the pages)."
        )
    run: dict[str, Any] = {
        "date": started.strftime("%Y-%m-%d %H:%M UTC"),
        "command": command_line(argv),
        "machine": machine.describe(),
        "load_before": load_start,
        "busy": load_start > (os.cpu_count() or 1),
        "settings": {
            "db": args.db,
            "workers": args.workers,
            "threads": args.threads,
            "connections": args.connections,
            "duration": args.duration,
            "warmup": args.warmup,
            "max_requests": args.max_requests,
            "gunicorn_conf": "deploy/gunicorn.conf.py",
            "config": "production",
            "rate_limits": "off (RATELIMIT_ENABLED=false)",
        },
        "dataset": data.as_dict(),
        "context": {"published": ctx.published, "user": ctx.user_name, "post": ctx.post_slug},
        "startup": startup,
        "references": references,
        "endpoints": results,
        "notes": notes,
    }
    name = f"{started:%Y-%m-%d-%H%M}-{args.posts}-{args.db}.json"
    run["file"] = name
    print("\n" + report.section(run))
    if not args.no_save:
        path = report.save(run, name)
        print(f"Saved {path.relative_to(server.ROOT)}; BENCHMARKS.md regenerated.")
    failed = [e["name"] for e in [*references, *results] if not e.get("ok")]
    if failed:
        _loud(f"FAILED: {', '.join(failed)}; gunicorn's log: {LAST_LOG}")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
