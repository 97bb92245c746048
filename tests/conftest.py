"""Shared fixtures: one app and schema per run, a clean database after every test."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from flask_migrate import upgrade
from sqlalchemy import event, text

from penpress import MIGRATIONS_DIR, create_app
from penpress.accounts.services import ensure_roles
from penpress.extensions import cache, db, limiter
from tests import factories

# Set by `make test` for the PostgreSQL pass; SQLite in a temporary folder otherwise.
DATABASE_URL_ENV = "PENPRESS_TEST_DATABASE_URL"


def test_settings(tmp_path: Path, **overrides: Any) -> dict[str, Any]:
    """Config for a test app; ``overrides`` win."""
    settings: dict[str, Any] = {
        "ENV_NAME": "testing",
        "TESTING": True,
        "SQLALCHEMY_DATABASE_URI": os.environ.get(DATABASE_URL_ENV)
        or f"sqlite:///{tmp_path / 'test.db'}",
        "SERVER_NAME": None,
    }
    settings.update(overrides)
    return settings


@pytest.fixture(scope="session")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    tmp = tmp_path_factory.mktemp("app")
    app = create_app(test_settings(tmp))
    with app.app_context():
        # Building the schema from the migrations, not create_all(), proves they work.
        db.drop_all()
        with db.engine.begin() as connection:
            connection.execute(text("DROP TABLE IF EXISTS alembic_version"))
        upgrade(directory=str(MIGRATIONS_DIR))
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


@pytest.fixture(autouse=True)
def _clean_state(app: Flask) -> Iterator[None]:
    yield
    with app.app_context():
        db.session.rollback()
        _wipe_database()
        cache.clear()
        if app.config["RATELIMIT_ENABLED"]:
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
                db.session.commit()
            return post

    def comment(self, **kwargs: Any) -> Any:
        with self._context():
            return factories.CommentFactory(**kwargs)


@pytest.fixture
def make(app: Flask) -> Make:
    return Make(app)


@pytest.fixture
def count_queries(app: Flask) -> Callable[[], Any]:
    """``with count_queries() as queries: ...`` then ``len(queries)`` is the SQL run inside."""

    @contextmanager
    def counter() -> Iterator[list[str]]:
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

    return counter
