"""Readiness checks: the database answers, migrations are at head, Redis answers."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import redis
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask import Flask
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from penpress.database import MIGRATIONS_DIR, db

log = logging.getLogger(__name__)


@dataclass
class Readiness:
    """Each check's outcome (``ok`` or a short, safe reason) and whether all passed."""

    checks: dict[str, str] = field(default_factory=dict)

    @property
    def ready(self) -> bool:
        return all(outcome == "ok" for outcome in self.checks.values())


def migration_heads(app: Flask) -> set[str]:
    """The head revisions of the migrations shipped with this code (read once per app)."""
    heads: set[str] | None = app.extensions.get("penpress_migration_heads")
    if heads is None:
        heads = set(ScriptDirectory(str(MIGRATIONS_DIR)).get_heads())
        app.extensions["penpress_migration_heads"] = heads
    return heads


def redis_client(app: Flask) -> redis.Redis | None:
    """A client for REDIS_URL with short timeouts, or None when Redis is not configured."""
    url = app.config.get("REDIS_URL")
    if not url:
        return None
    client: redis.Redis | None = app.extensions.get("penpress_ops_redis")
    if client is None:
        timeout = float(app.config["REDIS_SOCKET_TIMEOUT"])
        client = redis.Redis.from_url(url, socket_connect_timeout=timeout, socket_timeout=timeout)
        app.extensions["penpress_ops_redis"] = client
    return client


def check_readiness(app: Flask) -> Readiness:
    """Run every check; never raises, never puts internal error text in the result."""
    result = Readiness()
    try:
        with db.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
            current = set(MigrationContext.configure(connection).get_current_heads())
    except SQLAlchemyError as error:
        log.warning("readiness: database unreachable: %s", type(error).__name__)
        result.checks["database"] = "unreachable"
        result.checks["migrations"] = "unknown"
    else:
        result.checks["database"] = "ok"
        result.checks["migrations"] = "ok" if current == migration_heads(app) else "not at head"
    client = redis_client(app)
    if client is not None:
        try:
            client.ping()
        except redis.exceptions.RedisError as error:
            log.warning("readiness: Redis unreachable: %s", type(error).__name__)
            result.checks["redis"] = "unreachable"
        else:
            result.checks["redis"] = "ok"
    return result
