"""Fixtures for the production tests: servers of their own that tests may stop and start."""

from __future__ import annotations

import functools
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
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
from tests.servers import PostgresServer, RedisServer, free_port, wait_for_port

ROOT = Path(__file__).resolve().parents[2]


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


@dataclass
class Gunicorn:
    """``gunicorn -c deploy/gunicorn.conf.py 'penpress:create_app()'`` on a free port."""

    port: int
    process: subprocess.Popen[bytes]
    log: Path

    def wait_until_serving(self, timeout: float = 120) -> None:
        """Block until a worker answers ``/healthz`` (gunicorn accepts connections before its
        workers have loaded the app, which takes long on a busy machine); its log in the
        error if none ever does."""
        deadline = time.monotonic() + timeout
        try:
            wait_for_port(self.port, timeout=timeout, process=self.process)
            url = f"http://127.0.0.1:{self.port}/healthz"
            while True:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"no worker answered {url} in {timeout:.0f} s")
                try:
                    with urllib.request.urlopen(url, timeout=left) as reply:  # noqa: S310
                        if reply.status == 200:
                            return
                except (OSError, urllib.error.URLError):
                    time.sleep(0.2)
        except (RuntimeError, TimeoutError) as failure:
            raise AssertionError(f"{failure}\n{self.log.read_text()}") from None

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def start_gunicorn(env: dict[str, str], folder: Path, workers: int = 2) -> Gunicorn:
    """Start the production serving set-up with ``env`` (the app's settings), logging and
    keeping its metrics in ``folder``; call :meth:`Gunicorn.wait_until_serving` next."""
    port = free_port()
    log = folder / f"gunicorn-{port}.log"
    metrics_dir = folder / f"metrics-{port}"  # gunicorn empties it of *.db files
    metrics_dir.mkdir()
    instance_env = {
        **env,
        "PORT": str(port),
        "HOST": "127.0.0.1",
        "WEB_CONCURRENCY": str(workers),
        "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir),
    }
    with log.open("wb") as output:
        process = subprocess.Popen(  # noqa: S603
            [
                sys.executable,
                "-m",
                "gunicorn",
                "-c",
                str(ROOT / "deploy" / "gunicorn.conf.py"),
                "penpress:create_app()",
            ],
            cwd=ROOT,
            env=instance_env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    return Gunicorn(port, process, log)
