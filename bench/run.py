"""Load benchmark: seed a database, serve it with gunicorn, measure the main pages.

    make bench            # or: .venv/bin/python bench/run.py --requests 400 --concurrency 8

Everything runs on 127.0.0.1; the request loop is bounded by ``--requests`` per page.
Results are printed and written to ``bench/results.md`` (commit them with the change measured).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(port: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"server on port {port} did not start")


def fetch(port: int, path: str) -> tuple[int, float]:
    start = time.perf_counter()
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request("GET", path, headers={"Accept-Encoding": "gzip"})
        response = connection.getresponse()
        response.read()
        return response.status, time.perf_counter() - start
    finally:
        connection.close()


def measure(port: int, path: str, requests: int, concurrency: int) -> dict[str, object]:
    for _ in range(5):  # warm up caches and connections
        fetch(port, path)
    started = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        results = list(pool.map(lambda _: fetch(port, path), range(requests)))
    elapsed = time.perf_counter() - started
    latencies = sorted(t for _, t in results)
    statuses = sorted({s for s, _ in results})
    return {
        "path": path,
        "requests": requests,
        "statuses": statuses,
        "req_per_s": round(requests / elapsed, 1),
        "p50_ms": round(statistics.median(latencies) * 1000, 1),
        "p95_ms": round(latencies[int(len(latencies) * 0.95) - 1] * 1000, 1),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--posts", type=int, default=300)
    parser.add_argument("--output", type=Path, default=ROOT / "bench" / "results.md")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        env = {
            **os.environ,
            "PENPRESS_CONFIG": "production",
            "SECRET_KEY": "benchmark-secret-key-" + "x" * 40,
            "DATABASE_URL": f"sqlite:///{tmp}/bench.db",
            "RATELIMIT_DEFAULT": "1000000 per minute",
            "LOG_LEVEL": "WARNING",
            "SITE_URL": "http://127.0.0.1",
        }
        flask = [str(BIN / "flask"), "--app", "penpress"]
        subprocess.run([*flask, "init-db"], env=env, check=True, capture_output=True)
        subprocess.run(
            [*flask, "seed-db", "--users", "20", "--posts", str(args.posts), "--comments",
             str(args.posts * 3)],
            env=env, check=True, capture_output=True,
        )  # fmt: skip
        port = free_port()
        server = subprocess.Popen(
            [str(BIN / "gunicorn"), "--workers", str(args.workers), "--bind",
             f"127.0.0.1:{port}", "--log-level", "warning", "penpress:create_app()"],
            env=env, cwd=ROOT,
        )  # fmt: skip
        try:
            wait_for(port)
            slug = json.loads(fetch_body(port, "/api/v1/posts?per_page=1"))["posts"][0]["slug"]
            paths = [
                "/",
                "/blog/",
                "/blog/?page=5",
                f"/blog/post/{slug}",
                "/blog/tag/python",
                "/api/v1/posts",
                f"/api/v1/posts/{slug}",
                "/realworld/api/articles",
            ]
            rows = [measure(port, p, args.requests, args.concurrency) for p in paths]
        finally:
            server.terminate()
            server.wait(timeout=30)

    header = (
        f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {platform.machine()}, "
        f"{os.cpu_count()} CPUs, Python {platform.python_version()}; gunicorn "
        f"{args.workers} sync workers, SQLite, {args.posts} posts; {args.requests} requests "
        f"per page at concurrency {args.concurrency} from the same machine."
    )
    lines = [
        "# Benchmark results",
        "",
        header,
        "",
        "| page | status | req/s | p50 ms | p95 ms |",
        "|---|---|---|---|---|",
    ]
    for row in rows:
        statuses = ",".join(str(s) for s in row["statuses"])  # type: ignore[attr-defined]
        lines.append(
            f"| `{row['path']}` | {statuses} | {row['req_per_s']} | {row['p50_ms']} "
            f"| {row['p95_ms']} |"
        )
    text = "\n".join(lines) + "\n"
    print(text)
    args.output.write_text(text)
    return 0


def fetch_body(port: int, path: str) -> str:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request("GET", path)
        return connection.getresponse().read().decode()
    finally:
        connection.close()


if __name__ == "__main__":
    raise SystemExit(main())
