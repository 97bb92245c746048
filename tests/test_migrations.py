"""The migrations and the models describe the same schema."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask import Flask
from flask_migrate import downgrade, upgrade
from sqlalchemy import Integer, String, column, select, table, text

from penpress.database import MIGRATIONS_DIR, utcnow
from penpress.extensions import db
from penpress.permissions import ROLE_PERMISSIONS, Permission
from tests.conftest import postgres_backend

INITIAL = "5d14dec51dbe"


def test_models_and_migrations_agree(app: Flask) -> None:
    with app.app_context(), db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, db.metadata)
    assert differences == []


@pytest.fixture
def empty_database(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A database of its own (never the suite's shared one): SQLite, or on the PostgreSQL
    pass a fresh database on the throwaway server."""
    if not postgres_backend():
        return f"sqlite:///{tmp_path / 'migrations.db'}"
    server = request.getfixturevalue("postgres_server")
    return str(server.create_database(f"penpress_migrations_{uuid.uuid4().hex[:8]}"))


def test_roles_and_post_status_migrate_with_existing_data(build_app, empty_database) -> None:
    """An installation from before roles had PUBLISH: its authors, moderators and admins keep
    publishing, its published posts read as published, and the way back keeps every account.
    On SQLite this also proves table rebuilds keep the rows that reference them."""
    app = build_app(schema=False, SQLALCHEMY_DATABASE_URI=empty_database)
    roles = table("roles", column("id", Integer), column("name", String),
                  column("permissions", Integer))  # fmt: skip
    with app.app_context():
        upgrade(directory=str(MIGRATIONS_DIR), revision=INITIAL)
        with db.engine.begin() as connection:
            ids = dict(connection.execute(select(roles.c.name, roles.c.id)).all())
            now = utcnow()
            connection.execute(
                text(
                    "INSERT INTO users (id, username, email, password_hash, bio, created_at, "
                    "active, role_id) VALUES (1, 'old', 'old@example.com', 'x', '', :now, :t, :r)"
                ),
                {"now": now, "t": True, "r": ids["author"]},
            )
            for post_id, published in ((1, True), (2, False)):
                connection.execute(
                    text(
                        "INSERT INTO posts (id, title, slug, summary, body, body_html, published,"
                        " created_at, updated_at, views, author_id) VALUES (:id, 't', :slug, '',"
                        " 'b', 'b', :published, :now, :now, 0, 1)"
                    ),
                    {"id": post_id, "slug": f"p{post_id}", "published": published, "now": now},
                )
        upgrade(directory=str(MIGRATIONS_DIR))
        with db.engine.connect() as connection:
            permissions = dict(connection.execute(select(roles.c.name, roles.c.permissions)).all())
            statuses = dict(connection.execute(text("SELECT id, status FROM posts")).all())
        assert {name: Permission(bits) for name, bits in permissions.items()} == ROLE_PERMISSIONS
        assert statuses == {1: "published", 2: "draft"}

        with db.engine.begin() as connection:
            connection.execute(
                text("UPDATE users SET role_id = :r WHERE id = 1"),
                {"r": permissions and connection.execute(
                    select(roles.c.id).where(roles.c.name == "editor")).scalar_one()},
            )  # fmt: skip
        downgrade(directory=str(MIGRATIONS_DIR), revision=INITIAL)
        with db.engine.connect() as connection:
            names = dict(connection.execute(select(roles.c.name, roles.c.permissions)).all())
            role_of_old = connection.execute(
                text("SELECT r.name FROM users u JOIN roles r ON r.id = u.role_id")
            ).scalar_one()
        assert names == {"reader": 1, "author": 3, "moderator": 7, "admin": 15}
        assert role_of_old == "moderator"
        db.session.remove()
