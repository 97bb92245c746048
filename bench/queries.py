"""SQL statements per request, counted in-process with Flask's test client.

Counted apart from the load run, on the same database and settings: one warm-up request
(caches, first-use imports), then one counted request, with a ``before_cursor_execute``
listener on the app's engine. A count is exact where a timing is noisy, so it shows an N+1
or a saved query even on a busy machine.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from flask import Flask
from sqlalchemy import event

from bench.endpoints import Context, Endpoint
from bench.server import auth_headers
from penpress.extensions import db


@dataclass(frozen=True)
class QueryCount:
    status: int
    queries: float  # per request (the write mix: the mean of its two requests)
    detail: str = ""
    seconds: float = 0.0  # the counted request, in-process (no HTTP, no other load)


@contextmanager
def counting(app: Flask) -> Iterator[list[str]]:
    """Every SQL statement the app's engine runs inside the block."""
    statements: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", record)


def _headers(endpoint: Endpoint, ctx: Context) -> dict[str, str]:
    return auth_headers(
        endpoint.auth, cookie=ctx.session_cookie, conduit=ctx.conduit_token, bearer=ctx.bearer_token
    )


def measure(app: Flask, endpoint: Endpoint, ctx: Context) -> QueryCount:
    client = app.test_client()
    headers = _headers(endpoint, ctx)
    if "Cookie" in headers:
        # The test client sends its own cookie jar, not a Cookie header: put the login there.
        name, _, value = headers.pop("Cookie").partition("=")
        client.set_cookie(name, value)
    if endpoint.writes:
        return _measure_writes(app, headers, ctx)
    url = endpoint.url(ctx)
    client.get(url, headers=headers)  # warm-up
    with counting(app) as statements:
        started = time.perf_counter()
        response = client.get(url, headers=headers)
        seconds = time.perf_counter() - started
    return QueryCount(response.status_code, len(statements), seconds=seconds)


def _measure_writes(app: Flask, headers: dict[str, str], ctx: Context) -> QueryCount:
    """The write mix's two requests: create a post, comment on one."""
    client = app.test_client()
    counts: list[int] = []
    statuses: list[int] = []
    for n in range(2):  # the first of each is the warm-up
        post = {
            "title": f"Query count post {n}",
            "body": "Counting **queries**.",
            "tags": ["benchmark"],
            "published": True,
        }
        requests = [
            ("/api/v1/posts", post),
            (f"/api/v1/posts/{ctx.post_slug}/comments", {"body": "Counting queries."}),
        ]
        counts.clear()
        statuses.clear()
        started = time.perf_counter()
        for path, body in requests:
            with counting(app) as statements:
                response = client.post(
                    path,
                    data=json.dumps(body),
                    headers={**headers, "Content-Type": "application/json"},
                )
            counts.append(len(statements))
            statuses.append(response.status_code)
    seconds = (time.perf_counter() - started) / len(counts)
    worst = next((s for s in statuses if s != 201), 201)
    detail = f"create post {counts[0]}, comment {counts[1]}"
    return QueryCount(worst, sum(counts) / len(counts), detail, seconds)


def path_of(url: str) -> str:
    """The path and query of a URL, for the test client."""
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")
