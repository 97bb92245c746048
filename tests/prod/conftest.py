"""Fixtures for the production tests: servers of their own that tests may stop and start."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask_migrate import upgrade

from penpress import create_app
from penpress.accounts.services import ensure_roles
from penpress.database import MIGRATIONS_DIR
from penpress.extensions import db
from tests.conftest import test_settings as settings_for
from tests.conftest import throwaway_server
from tests.servers import PostgresServer, RedisServer


@pytest.fixture(scope="module")
def own_postgres() -> Iterator[PostgresServer]:
    """A PostgreSQL server for this module alone, so stopping it disturbs no other test."""
    with throwaway_server(PostgresServer) as server:
        yield server


@pytest.fixture(scope="module")
def own_redis() -> Iterator[RedisServer]:
    """A Redis server for this module alone."""
    with throwaway_server(RedisServer) as server:
        yield server


def migrated_app(settings: dict[str, object]) -> Flask:
    """A Penpress app, its database migrated to head."""
    app = create_app(settings)
    with app.app_context():
        upgrade(directory=str(MIGRATIONS_DIR))
        ensure_roles()
        db.session.commit()
    return app


@pytest.fixture(scope="module")
def prod_app(
    own_postgres: PostgresServer, own_redis: RedisServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Flask]:
    """Penpress on its own PostgreSQL + Redis, with Redis caching and rate limits switched on."""
    tmp: Path = tmp_path_factory.mktemp("prod")
    app = migrated_app(
        settings_for(
            tmp,
            SQLALCHEMY_DATABASE_URI=own_postgres.create_database("penpress_prod"),
            REDIS_URL=own_redis.url(),
            CACHE_TYPE="SimpleCache",  # becomes the Redis cache because REDIS_URL is set
            RATELIMIT_ENABLED=True,
            RATELIMIT_STORAGE_URI="memory://",  # becomes Redis because REDIS_URL is set
        )
    )
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def build_app(build_app: Callable[..., Flask]) -> Callable[..., Flask]:
    """The shared ``build_app`` without tables: these tests bring (or lack) their own database."""
    return functools.partial(build_app, schema=False)
