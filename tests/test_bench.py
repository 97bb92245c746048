"""Smoke tests of the benchmark's machinery (bench/); wrk and gunicorn are not run here."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import select

from bench import dataset, machine, report, run, targets, wrk
from bench.endpoints import ENDPOINTS, Context, discover, select_endpoints
from bench.queries import measure
from penpress.blog.models import Post
from penpress.extensions import db
from penpress.seeding import SeedPlan, bulk_load

# wrk 4.1.0 (Debian) reports, captured from real runs: a clean one, one with error statuses
# and one with socket errors and second-long latencies.
CLEAN = """\
Running 3s test @ http://127.0.0.1:8765/
  2 threads and 16 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency    10.21ms   17.72ms 181.47ms   92.30%
    Req/Sec     1.33k   602.30     2.00k    59.32%
  Latency Distribution
     50%    4.21ms
     75%    7.39ms
     90%   21.88ms
     99%  105.42ms
  7886 requests in 3.09s, 1.23MB read
Requests/sec:   2553.95
Transfer/sec:    406.54KB
"""
NOT_FOUND = """\
Running 2s test @ http://127.0.0.1:8765/nothing
  2 threads and 16 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency    16.90ms   23.14ms 158.90ms   87.13%
    Req/Sec     0.86k   659.92     1.70k    35.71%
  Latency Distribution
     50%    5.05ms
     75%   17.69ms
     90%   48.86ms
     99%  108.19ms
  3591 requests in 2.14s, 1.26MB read
  Non-2xx or 3xx responses: 3591
Requests/sec:   1675.33
Transfer/sec:    602.15KB
"""
SLOW = """\
Running 10s test @ http://127.0.0.1:8000/blog/
  2 threads and 16 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     1.52s   301.12ms   2.98s    71.00%
    Req/Sec     5.10      3.02    10.00     60.00%
  Latency Distribution
     50%    1.50s
     75%    1.70s
     90%    1.90s
     99%    2.70s
  104 requests in 10.02s, 3.10MB read
  Socket errors: connect 0, read 0, write 0, timeout 3
Requests/sec:     10.38
Transfer/sec:    316.80KB
"""


def test_wrk_report_is_parsed() -> None:
    clean = wrk.parse(CLEAN)
    assert clean.requests == 7886
    assert clean.seconds == pytest.approx(3.09)
    assert clean.req_per_s == pytest.approx(2553.95)
    assert clean.p50_ms == pytest.approx(4.21)
    assert clean.p99_ms == pytest.approx(105.42)
    assert clean.errors == 0

    failing = wrk.parse(NOT_FOUND)
    assert failing.non_2xx_3xx == 3591
    assert failing.errors == 3591

    slow = wrk.parse(SLOW)
    assert slow.p50_ms == pytest.approx(1500.0)
    assert slow.p99_ms == pytest.approx(2700.0)
    assert slow.socket_errors["timeout"] == 3
    assert slow.errors == 3

    with pytest.raises(wrk.WrkError):
        wrk.parse("unable to connect to 127.0.0.1:1 Connection refused")


def test_endpoint_list_puts_writes_last_and_rejects_unknown_names() -> None:
    names = [e.name for e in select_endpoints(None)]
    assert names == [e.name for e in ENDPOINTS if not e.writes] + [
        e.name for e in ENDPOINTS if e.writes
    ]
    assert [e.name for e in select_endpoints(["write mix (api)", "home"])] == [
        "home",
        "write mix (api)",
    ]
    with pytest.raises(SystemExit, match="unknown endpoint"):
        select_endpoints(["nope"])


def _logins(app: Flask, ctx: Context) -> None:
    """The three logins the benchmark makes over HTTP, here through the test client."""
    client = app.test_client()
    page = client.post("/auth/login", data={"email": ctx.user_email, "password": ctx.password})
    assert page.status_code == 303  # the login form redirects (see other) when it worked
    cookie = client.get_cookie("session")
    assert cookie is not None
    ctx.session_cookie = f"session={cookie.value}"
    conduit = client.post(
        "/realworld/api/users/login",
        json={"user": {"email": ctx.user_email, "password": ctx.password}},
    )
    ctx.conduit_token = conduit.get_json()["user"]["token"]
    tokens = client.post(
        "/api/v1/auth/tokens", json={"email": ctx.user_email, "password": ctx.password}
    )
    ctx.bearer_token = tokens.get_json()["access_token"]


def test_every_endpoint_answers_and_its_queries_are_counted(app: Flask) -> None:
    with app.app_context():
        bulk_load(db.engine, SeedPlan.for_posts(400, users=40))
        with db.engine.connect() as connection:
            ctx = discover(connection)
    assert ctx.published > 300
    assert ctx.last_page == -(-ctx.published // 10)
    _logins(app, ctx)
    for endpoint in select_endpoints(None):
        counted = measure(app, endpoint, ctx)
        assert counted.status == endpoint.expect, endpoint.name
        assert counted.queries >= 1, endpoint.name
    # The deep list is a real page near the end, with posts on it.
    deep = next(e for e in ENDPOINTS if e.name == "deep list").url(ctx)
    assert b"/blog/post/" in app.test_client().get(deep).data
    # The write mix wrote: two posts and two comments (warm-up and counted request).
    with app.app_context():
        titles = db.session.scalars(select(Post.title).where(Post.title.startswith("Query"))).all()
    assert len(titles) == 2


def test_report_flags_failures_instead_of_showing_their_figures() -> None:
    run = {
        "date": "2026-01-01 00:00 UTC",
        "command": "make bench",
        "machine": {
            "cpu": "CPU",
            "cores": 2,
            "memory_gib": 8,
            "kernel": "Linux",
            "python": "3.11",
            "sqlite": "3",
            "wrk": "wrk 4",
            "packages": {"flask": "3"},
        },
        "load_before": 3.5,
        "busy": True,
        "settings": {
            "db": "sqlite",
            "workers": 2,
            "threads": 2,
            "connections": 16,
            "duration": 10,
            "warmup": 3,
            "max_requests": 0,
        },
        "dataset": {"posts": 100, "built_now": True, "seed_seconds": 1.0, "built_at": "x"},
        "context": {"published": 90},
        "startup": {"seconds": [1.0], "best_seconds": 1.0},
        "references": [
            {"name": "ceiling", "path": "hello", "ok": True, "req_per_s": 4000.0, "status": 200}
        ],
        "endpoints": [
            {"name": "list", "path": "/blog/", "ok": True, "req_per_s": 40.0, "status": 200},
            {
                "name": "slow",
                "path": "/slow",
                "ok": True,
                "req_per_s": 0.0,
                "p50_ms": 0.0,
                "requests": 0,
                "status": 200,
            },
            {
                "name": "broken",
                "path": "/x",
                "ok": False,
                "req_per_s": 9999.0,
                "status": 500,
                "status_note": "answered 500, expected 200",
            },
        ],
        "file": "run.json",
    }
    text = report.section(run)
    assert "| list | `/blog/` | 40.0 |" in text
    assert "9,999" not in text
    assert "**FAILED**" in text
    assert "answered 500" in text
    assert "the machine was busy" in text
    assert "| slow | `/slow` | 0 | 0 | – | – |" in text
    assert "no request finished" in text
    assert report.render([run]).startswith("# Benchmarks")
    assert "bytecode compiled on each run" in text  # an older run's start-up, said so

    run["startup"] = {"first_seconds": 2.5, "seconds": [0.9, 0.8], "best_seconds": 0.8}
    assert (
        "imports in a fresh process: 0.8 s (best of 2, bytecode cached as installed; "
        "2.5 s on the first run, which compiles it)"
    ) in report.section(run)


def test_start_up_is_timed_with_the_bytecode_an_installed_package_has(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "PYTHONDONTWRITEBYTECODE": "1",
        "PENPRESS_CONFIG": "production",
        "SECRET_KEY": "s" * 40,
        "SITE_URL": "http://127.0.0.1",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'startup.db'}",
        "PENPRESS_INSTANCE_PATH": str(tmp_path / "instance"),
    }
    startup = run.startup_seconds(env, tmp_path / "bytecode", runs=1)
    assert len(startup["seconds"]) == 1
    assert startup["best_seconds"] == min(startup["seconds"]) > 0
    assert startup["first_seconds"] > 0
    # The first run wrote the package's bytecode there, despite PYTHONDONTWRITEBYTECODE.
    compiled = list((tmp_path / "bytecode").rglob("penpress/blog/services/*.pyc"))
    assert compiled


def test_worker_rss_is_read_from_proc() -> None:
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        assert child.pid in machine.children(os.getpid())
        sizes = machine.worker_rss(os.getpid())
        assert sizes
        assert all(size > 1 for size in sizes)
    finally:
        child.kill()
        child.wait()


def test_data_sets_are_keyed_by_size_schema_and_loader() -> None:
    key = dataset.cache_key(1000)
    assert key.startswith("1000-")
    assert dataset.migration_head() in key
    assert dataset.loader_hash() in key


def _judged_run(ratios: dict[str, float]) -> dict:
    """A run as the targets read it: each endpoint's ratio to the ceiling, its RSS, start-up
    and seeding times."""
    endpoints = [
        {"name": name, "ok": True, "ratio_to_ceiling": ratio, "worker_rss_mib": 110.0}
        for name, ratio in ratios.items()
    ]
    return {
        "endpoints": endpoints,
        "startup": {"best_seconds": 0.8},
        "dataset": {"seed_seconds": 150.0},
    }


GOOD = {
    **dict.fromkeys(targets.ANONYMOUS_HTML, 0.8),
    **dict.fromkeys(targets.TOKEN_LISTS, 0.35),
    **dict.fromkeys(targets.LOGGED_IN, 0.2),
    "api post": 0.7,
    "api posts": 0.5,
    "conduit articles": 0.5,
    "conduit feed": 0.3,
    "search": 0.8,
}


def _runs(**changed: dict[str, float]) -> dict[tuple[str, int], dict]:
    """The five runs the targets read, with ``changed`` ratios in the run named like
    ``sqlite_1000000``."""
    runs = {}
    for database, posts in [*targets.SQLITE_SIZES, ("postgres", targets.MILLION)]:
        ratios = {**GOOD, **changed.get(f"{database}_{posts}", {})}
        runs[(database, posts)] = _judged_run(ratios)
    return runs


def test_targets_met_are_said_met() -> None:
    text = targets.section(_runs())
    rows = [line for line in text.splitlines() if line.startswith("| ") and "target" not in line]
    assert len(rows) == len(targets.TARGETS)
    assert all(row.endswith("| met |") for row in rows), text
    assert "Why the missed" not in text


def test_a_missed_target_says_by_how_much_and_why() -> None:
    runs = _runs(sqlite_100000={"api posts, token": 0.25}, sqlite_1000000={"search": 0.5})
    text = targets.section(runs)
    token_row = next(line for line in text.splitlines() if "Uncached API lists" in line)
    assert token_row.endswith("| **missed** |")
    assert "SQLite 100,000: 0.250–0.350 (below: api posts, token 0.250)" in token_row
    flat_row = next(line for line in text.splitlines() if line.startswith("| Flat"))
    assert "over: search 1.600×" in flat_row  # 0.8 at 10,000 posts, 0.5 at a million
    assert flat_row.endswith("| **missed** |")
    assert "- **Uncached API lists" in text  # the reason, under the table
    assert text.count("- **") == 2


def test_a_target_without_its_run_is_not_measured_never_met() -> None:
    runs = _runs()
    del runs[("postgres", targets.MILLION)]
    runs[("sqlite", targets.LARGE)]["endpoints"] = [
        e for e in runs[("sqlite", targets.LARGE)]["endpoints"] if e["name"] != "tag page"
    ]
    text = targets.section(runs)
    postgres = next(line for line in text.splitlines() if "PostgreSQL + Redis" in line)
    assert postgres.endswith("| not measured |")
    anonymous = next(line for line in text.splitlines() if "Anonymous HTML" in line)
    assert anonymous.endswith("| not measured |")


def test_resources_are_judged_on_the_worst_run() -> None:
    runs = _runs()
    runs[("sqlite", targets.SMALL)]["startup"] = {"best_seconds": 1.2}
    runs[("sqlite", targets.MILLION)]["dataset"] = {"seed_seconds": 301.0}
    text = targets.section(runs)
    startup = next(line for line in text.splitlines() if "create_app()" in line)
    assert "at most 1.20 s (SQLite 10,000 posts) | **missed** |" in startup
    seeding = next(line for line in text.splitlines() if "seed-db" in line)
    assert seeding.endswith("| 301 s | **missed** |")
