"""Page views, buffered: reading a post never writes to the database.

A view is added to a buffer — a Redis hash (``HINCRBY``) when ``REDIS_URL`` is set, shared by
every process, else a dictionary in this process — and the periodic job
:data:`FLUSH_TASK` (``PERIODIC_JOBS``) adds the buffered counts to ``posts.views`` in one batch.
So a post page GET never waits for SQLite's single writer or a row lock, and ``views`` is
correct to within the last flush. A view that cannot be buffered (Redis unreachable) is
dropped with a warning: a page never fails over a view count.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter

import redis
from flask import Flask, current_app
from sqlalchemy import bindparam, update

from penpress.blog.models import Post
from penpress.extensions import db

log = logging.getLogger(__name__)

FLUSH_TASK = "penpress.blog.flush_views"
REDIS_KEY = "penpress:views"  # hash: post id -> views not yet flushed
_EXTENSION = "penpress_view_counts_redis"

_local: Counter[int] = Counter()  # this process's buffer when there is no Redis
_local_lock = threading.Lock()


def _redis(app: Flask) -> redis.Redis | None:
    url = app.config.get("REDIS_URL")
    if not url:
        return None
    client: redis.Redis | None = app.extensions.get(_EXTENSION)
    if client is None:
        timeout = float(app.config["REDIS_SOCKET_TIMEOUT"])
        client = redis.Redis.from_url(url, socket_connect_timeout=timeout, socket_timeout=timeout)
        app.extensions[_EXTENSION] = client
    return client


def add_view(post_id: int) -> None:
    """Count one view of the post, in the buffer."""
    client = _redis(current_app)
    if client is None:
        with _local_lock:
            _local[post_id] += 1
        return
    try:
        client.hincrby(REDIS_KEY, str(post_id), 1)
    except redis.RedisError as error:
        log.warning("view of post %s not counted: Redis unreachable (%s)", post_id, error)


def _take() -> dict[int, int]:
    """Empty the buffer and return what it held."""
    client = _redis(current_app)
    if client is None:
        with _local_lock:
            taken = dict(_local)
            _local.clear()
        return taken
    pipeline = client.pipeline(transaction=True)
    pipeline.hgetall(REDIS_KEY)
    pipeline.delete(REDIS_KEY)
    raw, _deleted = pipeline.execute()
    return {int(key): int(value) for key, value in raw.items() if int(value) > 0}


def _give_back(counts: dict[int, int]) -> None:
    client = _redis(current_app)
    if client is None:
        with _local_lock:
            _local.update(counts)
        return
    pipeline = client.pipeline(transaction=False)
    for post_id, views in counts.items():
        pipeline.hincrby(REDIS_KEY, str(post_id), views)
    pipeline.execute()


def flush() -> int:
    """Trusted (the periodic job): add the buffered views to the posts; how many there were.

    Runs in the job's transaction (it commits). If the update fails, the counts go back into
    the buffer for the next run. Views of posts deleted since are dropped.
    """
    counts = _take()
    if not counts:
        return 0
    statement = (
        update(Post)
        .where(Post.id == bindparam("post_id"))
        .values(views=Post.views + bindparam("added"), updated_at=Post.updated_at)
    )
    try:
        db.session.connection().execute(
            statement, [{"post_id": post_id, "added": n} for post_id, n in counts.items()]
        )
        db.session.flush()
    except Exception:
        _give_back(counts)
        raise
    return sum(counts.values())


def pending(post_id: int) -> int:
    """Views of the post buffered but not flushed yet (tests, debugging)."""
    client = _redis(current_app)
    if client is None:
        with _local_lock:
            return _local.get(post_id, 0)
    return int(client.hget(REDIS_KEY, str(post_id)) or 0)


def discard() -> None:
    """Trusted (tests): forget every buffered view."""
    client = _redis(current_app)
    with _local_lock:
        _local.clear()
    if client is not None:
        client.delete(REDIS_KEY)
