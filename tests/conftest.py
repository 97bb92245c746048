"""Shared fixtures: one app and schema per run, a clean database after every test."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from datetime import timedelta
from pathlib import Path
from typing import Any, TypeVar

import pytest
import redis
from flask import Flask
from flask.testing import FlaskClient
from flask_migrate import upgrade
from sqlalchemy import event, text

from bench.queries import counting
from penpress import create_app, jobs
from penpress.accounts import sessions
from penpress.accounts.models import SessionKind
from penpress.accounts.services import ensure_roles
from penpress.database import MIGRATIONS_DIR
from penpress.extensions import cache, db
from penpress.ratelimits import limiter_for
from tests import factories
from tests.servers import PostgresServer, RedisServer, ServerUnavailable
from tests.skips import pytest_configure, pytest_runtest_makereport, unavailable

# Any skip fails when CI is set, unless the test is marked skip_allowed_in_ci: the two hooks
# imported above (tests/skips.py). pytester runs pytest inside a test (tests/prod/test_servers).
pytest_plugins = ["pytester"]
__all__ = ["pytest_configure", "pytest_runtest_makereport"]

# `make test` runs the suite twice: on SQLite, then with PENPRESS_TEST_BACKEND=postgres, where
# the session app uses a throwaway PostgreSQL and Redis (started below) for data, cache and
# rate limits. Setting the two URL variables yourself points the tests at servers you run.
BACKEND_ENV = "PENPRESS_TEST_BACKEND"
DATABASE_URL_ENV = "PENPRESS_TEST_DATABASE_URL"
REDIS_URL_ENV = "PENPRESS_TEST_REDIS_URL"


def test_settings(tmp_path: Path, **overrides: Any) -> dict[str, Any]:
    """Config for a test app; ``overrides`` win."""
    settings: dict[str, Any] = {
        "ENV_NAME": "testing",
        "TESTING": True,
        "INSTANCE_PATH": str(tmp_path / "instance"),
        "SQLALCHEMY_DATABASE_URI": os.environ.get(DATABASE_URL_ENV)
        or f"sqlite:///{tmp_path / 'test.db'}",
        "SERVER_NAME": None,
        # A real cache in every test (the testing config's is a NullCache): process memory on
        # the SQLite pass, Redis on the other, so a stale entry fails a test on both passes.
        "CACHE_TYPE": "SimpleCache",
    }
    if os.environ.get(REDIS_URL_ENV):
        settings.update(REDIS_URL=os.environ[REDIS_URL_ENV])
    settings.update(overrides)
    return settings


def _no_fsync(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA synchronous=OFF")
    finally:
        cursor.close()


def skip_fsync(app: Flask) -> Flask:
    """A test database need not survive a power cut: on SQLite, commits skip the fsync that
    made most of the suite's time waiting on the disk. What a test sees is the same."""
    with app.app_context():
        engine = db.engine
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _no_fsync)
    return app


def postgres_backend() -> bool:
    """True on the PostgreSQL + Redis pass of the suite."""
    return os.environ.get(BACKEND_ENV, "sqlite").lower() in {"postgres", "postgresql"}


@contextmanager
def throwaway_server(factory: Callable[[], Any]) -> Iterator[Any]:
    """A started throwaway server, destroyed afterwards; without its binaries the test is
    skipped (and fails when ``CI`` is set)."""
    try:
        server = factory()
    except ServerUnavailable as missing:
        unavailable(str(missing))
    server.start()
    try:
        yield server
    finally:
        server.destroy()


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """A throwaway PostgreSQL server for the whole run (tests may stop and start it)."""
    with throwaway_server(PostgresServer) as server:
        yield server


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    """A throwaway Redis server for the whole run (tests may stop and start it)."""
    with throwaway_server(RedisServer) as server:
        yield server


def _one_worker_only(variable: str) -> None:
    """Servers you run are shared by every pytest-xdist worker, whose tests would wipe each
    other's rows: with them, the suite runs in one process."""
    if int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1")) > 1:
        pytest.exit(f"{variable} is set: run with PYTEST_WORKERS=0 (one process)", returncode=4)


@pytest.fixture(scope="session")
def postgres_url(request: pytest.FixtureRequest) -> str:
    """SQLAlchemy URL of an empty PostgreSQL database: $PENPRESS_TEST_DATABASE_URL if it is a
    PostgreSQL URL, else a database on a throwaway server."""
    given = os.environ.get(DATABASE_URL_ENV, "")
    if given.startswith("postgresql"):
        _one_worker_only(DATABASE_URL_ENV)
        return given
    server: PostgresServer = request.getfixturevalue("postgres_server")
    return server.create_database("penpress_test")


@pytest.fixture(scope="session")
def redis_url(request: pytest.FixtureRequest) -> str:
    """URL of a Redis database: $PENPRESS_TEST_REDIS_URL, else a throwaway server's."""
    given = os.environ.get(REDIS_URL_ENV)
    if given:
        _one_worker_only(REDIS_URL_ENV)
        return given
    server: RedisServer = request.getfixturevalue("redis_server")
    return server.url()


@pytest.fixture(scope="session")
def app(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[Flask]:
    if postgres_backend():
        # test_settings() reads these, so apps built by tests use the same servers.
        os.environ[DATABASE_URL_ENV] = request.getfixturevalue("postgres_url")
        os.environ[REDIS_URL_ENV] = request.getfixturevalue("redis_url")
    tmp = tmp_path_factory.mktemp("app")
    app = skip_fsync(create_app(test_settings(tmp)))
    with app.app_context():
        # Building the schema from the migrations, not create_all(), proves they work.
        db.drop_all()
        with db.engine.begin() as connection:
            connection.execute(text("DROP TABLE IF EXISTS alembic_version"))
        upgrade(directory=str(MIGRATIONS_DIR))
        # Rows the migrations add (the About page) would be seen by the first test only: every
        # test starts from the same empty tables, whichever file a worker runs first.
        _wipe_database()
        ensure_roles()
        db.session.commit()
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def _wipe_database() -> None:
    tables = [t for t in reversed(db.metadata.sorted_tables) if t.name != "roles"]
    if db.engine.dialect.name == "postgresql":
        names = ", ".join(f'"{t.name}"' for t in tables)
        db.session.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    else:
        for table in tables:
            db.session.execute(table.delete())
    db.session.commit()


T = TypeVar("T")


def reset_rows(app: Flask, seed: Callable[[], T]) -> T:
    """Empty every table but ``roles``, then run ``seed`` (which adds rows and flushes), in one
    transaction; the cache and rate-limit counts are dropped too. For tests that run many
    examples in one test function (Hypothesis): each starts from the same rows, so one
    example's writes (a deleted user, a changed password) never decide another's outcome and
    a failure replays alike. Plain DELETEs: TRUNCATE costs more than these few rows."""
    with app.app_context():
        db.session.rollback()
        for table in reversed(db.metadata.sorted_tables):
            if table.name != "roles":
                db.session.execute(table.delete())
        db.session.expunge_all()
        seeded = seed()
        db.session.commit()
        cache.clear()
    _reset_rate_limits(app)
    return seeded


@pytest.fixture(autouse=True)
def _clean_state(app: Flask) -> Iterator[None]:
    yield
    with app.app_context():
        db.session.rollback()
        _wipe_database()
        cache.clear()
    _reset_rate_limits(app)


@pytest.fixture
def build_app(tmp_path: Path) -> Iterator[Callable[..., Flask]]:
    """``build_app(**settings)``: an app of its own with other settings (CSRF on, production,
    rate limits...), with the tables made unless ``schema=False``. Its connections close and
    its rate-limit counts are dropped afterwards."""
    built: list[Flask] = []

    def build(*, schema: bool = True, **overrides: Any) -> Flask:
        folder = tmp_path / f"app{len(built)}"
        folder.mkdir()
        app = skip_fsync(create_app(test_settings(folder, **overrides)))
        built.append(app)
        if schema:
            with app.app_context():
                db.create_all()
                ensure_roles()
                db.session.commit()
        return app

    yield build
    for app in built:
        # A production-like app (not TESTING, no broker) starts its periodic-jobs thread on its
        # first request; left running, it would commit into later tests' sessions.
        jobs.stop_periodic_runner(app)
        _reset_rate_limits(app)
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


def _reset_rate_limits(app: Flask) -> None:
    """Forget every hit the app's limiter counted: on the Redis pass its storage outlives the
    app, so limits counted in one test would otherwise carry over into the next."""
    limiter = limiter_for(app)
    if not limiter.enabled or not getattr(limiter, "initialized", False):
        return
    # The storage may be the Redis server of a test that stopped or removed it.
    with suppress(redis.exceptions.ConnectionError), app.app_context():
        limiter.reset()


@pytest.fixture
def ctx(app: Flask) -> Iterator[None]:
    """An application context, for tests that call services directly."""
    with app.app_context():
        yield
        db.session.rollback()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


class Make:
    """Creates committed rows through the factories, in an app context of its own."""

    def __init__(self, app: Flask):
        self.app = app

    @contextmanager
    def _context(self) -> Iterator[None]:
        from flask import has_app_context

        if has_app_context():
            yield
        else:
            with self.app.app_context():
                yield

    def user(self, **kwargs: Any) -> Any:
        with self._context():
            return factories.UserFactory(**kwargs)

    def post(self, **kwargs: Any) -> Any:
        with self._context():
            tags = kwargs.pop("tags", None)
            post = factories.PostFactory(**kwargs)
            if tags:
                from penpress.blog.services.tags import resolve_tags

                post.tags = resolve_tags(tags)
                post.search_tags = " ".join(tag.name for tag in post.tags)
                db.session.commit()
                factories.recount_for_tests()
            return post

    def comment(self, **kwargs: Any) -> Any:
        with self._context():
            return factories.CommentFactory(**kwargs)


@pytest.fixture
def make(app: Flask) -> Make:
    return Make(app)


@pytest.fixture
def count_queries(app: Flask) -> Callable[[], Any]:
    """``with count_queries() as queries: ...`` then ``len(queries)`` is the SQL run inside
    (the benchmark's own counter, so tests and ``make bench`` count alike)."""
    return lambda: counting(app)


@pytest.fixture
def flush_views(app: Flask) -> Callable[[], int]:
    """``flush_views()``: run the periodic job that saves buffered page views; how many."""
    from penpress.blog import view_counts

    def flush() -> int:
        with app.app_context():
            saved = view_counts.flush()
            db.session.commit()
            return saved

    return flush


@pytest.fixture(autouse=True)
def _no_periodic_threads_left() -> Iterator[None]:
    """A test that starts a periodic-jobs thread stops it: a thread left running commits
    into every later test's session (and once broke a commit count in CI)."""
    yield
    left = [t for t in threading.enumerate() if t.name == jobs.THREAD_NAME and t.is_alive()]
    for thread in left:
        if isinstance(thread, jobs.PeriodicRunner):
            thread.stop()
            thread.join(5)
    assert not left, "the test left a periodic-jobs thread running"


@pytest.fixture(autouse=True)
def _no_buffered_views(app: Flask) -> Iterator[None]:
    """Views buffered by one test never reach the next."""
    from penpress.blog import view_counts

    yield
    with app.app_context(), suppress(redis.exceptions.ConnectionError):
        view_counts.discard()


@pytest.fixture
def page_queries(
    app: Flask, count_queries: Callable[[], Any], monkeypatch: pytest.MonkeyPatch
) -> Callable[[FlaskClient, str], int]:
    """``page_queries(client, url)``: the SQL statements one GET of ``url`` costs when warm.
    The page is fetched once first (cached settings and counts in place, so the count does not
    depend on which request came first), then counted; both answers must be 200. The page
    cache for anonymous readers is off here, so the page is really rendered each time (it has
    tests of its own)."""
    monkeypatch.setitem(app.config, "PAGE_CACHE_ENABLED", False)

    def measure(client: FlaskClient, url: str) -> int:
        assert client.get(url).status_code == 200, url
        with count_queries() as statements:
            response = client.get(url)
        assert response.status_code == 200, url
        return len(statements)

    return measure


@pytest.fixture
def outbox(app: Flask) -> Iterator[list[Any]]:
    """Messages sent through the locmem backend during the test."""
    state = app.extensions["mailman"]
    state.outbox = []
    yield state.outbox
    state.outbox = []


@pytest.fixture
def login(app: Flask) -> Callable[[FlaskClient, Any], None]:
    """``login(client, user)``: give the client a live browser session for ``user`` (without
    the login form; ``tests.pages.login`` drives the form)."""

    def log_in(client: FlaskClient, user: Any) -> None:
        with app.app_context():
            secret, _ = sessions.start_session(
                db.session.merge(user), SessionKind.WEB, timedelta(hours=1)
            )
            db.session.commit()
        with client.session_transaction() as session:
            session["_user_id"] = secret
            session["_fresh"] = True

    return log_in
