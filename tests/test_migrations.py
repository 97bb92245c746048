"""The migrations and the models describe the same schema."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask import Flask
from flask_migrate import downgrade, upgrade
from sqlalchemy import Integer, String, column, select, table, text

from penpress.blog import search
from penpress.blog.services.search import search_posts
from penpress.database import MIGRATIONS_DIR, utcnow
from penpress.extensions import db
from penpress.permissions import ROLE_PERMISSIONS, Permission
from tests.conftest import postgres_backend

INITIAL = "5d14dec51dbe"


def test_models_and_migrations_agree(app: Flask) -> None:
    with app.app_context(), db.engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "include_name": search.in_models}
        )
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


IDENTITY = "4b9e2d7c1a05"  # site identity settings and the comments mode


@pytest.mark.parametrize(("approval", "mode"), [("1", "approval"), ("0", "on")])
def test_the_comment_approval_switch_becomes_the_comments_mode(
    build_app, empty_database, approval: str, mode: str
) -> None:
    """A saved approval switch becomes the matching mode, long values fit afterwards, and the
    way back restores the switch."""
    app = build_app(schema=False, SQLALCHEMY_DATABASE_URI=empty_database)
    with app.app_context():
        upgrade(directory=str(MIGRATIONS_DIR), revision=f"{IDENTITY}-1")
        with db.engine.begin() as connection:
            connection.execute(
                text("INSERT INTO site_settings (key, value) VALUES (:k, :v)"),
                {"k": "comments_require_approval", "v": approval},
            )
        upgrade(directory=str(MIGRATIONS_DIR), revision=IDENTITY)
        with db.engine.begin() as connection:
            saved = dict(connection.execute(text("SELECT key, value FROM site_settings")).all())
            assert saved == {"comments_mode": mode}
            connection.execute(
                text("INSERT INTO site_settings (key, value) VALUES ('footer_text', :v)"),
                {"v": "x" * 1500},
            )
        downgrade(directory=str(MIGRATIONS_DIR), revision=f"{IDENTITY}-1")
        with db.engine.connect() as connection:
            saved = dict(connection.execute(text("SELECT key, value FROM site_settings")).all())
        assert saved == {"comments_require_approval": approval, "footer_text": "x" * 500}


SEARCH_INDEX = "c3cf44ead9b9"


def test_search_index_migration_backfills_existing_posts(build_app, empty_database) -> None:
    """Posts written before the search index are found by their text and tags once it is
    migrated; the way back and forth again works (SQLite: FTS5 + triggers; PostgreSQL: the
    generated tsvector and its GIN index)."""
    app = build_app(schema=False, SQLALCHEMY_DATABASE_URI=empty_database)
    with app.app_context():
        script = ScriptDirectory(str(MIGRATIONS_DIR))
        previous = script.get_revision(SEARCH_INDEX).down_revision
        upgrade(directory=str(MIGRATIONS_DIR), revision=str(previous))
        with db.engine.begin() as connection:
            now = utcnow()
            author = connection.execute(
                text(
                    "INSERT INTO users (username, email, password_hash, bio, created_at, active,"
                    " role_id) SELECT 'old', 'old@example.com', 'x', '', :now, :t, id FROM roles"
                    " WHERE name = 'author' RETURNING id"
                ),
                {"now": now, "t": True},
            ).scalar_one()
            post = connection.execute(
                text(
                    "INSERT INTO posts (title, slug, summary, body, body_html, published,"
                    " published_at, created_at, updated_at, views, author_id, status) VALUES"
                    " ('Old post', 'old-post', '', 'About lighthouses', '', :t, :now, :now,"
                    " :now, 0, :a, 'published') RETURNING id"
                ),
                {"t": True, "now": now, "a": author},
            ).scalar_one()
            tag = connection.execute(
                text("INSERT INTO tags (name, slug) VALUES ('Maritime', 'maritime') RETURNING id")
            ).scalar_one()
            connection.execute(
                text("INSERT INTO post_tags (post_id, tag_id) VALUES (:p, :t)"),
                {"p": post, "t": tag},
            )
        for _ in range(2):  # up, then down and up again
            upgrade(directory=str(MIGRATIONS_DIR))
            for word in ("lighthouse", "maritime", "old"):
                assert [h.post.slug for h in search_posts(None, word).hits] == ["old-post"]
            db.session.remove()
            downgrade(directory=str(MIGRATIONS_DIR), revision=str(previous))
        db.session.remove()
