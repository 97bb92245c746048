"""``flask backup`` and ``flask restore``: a consistent copy of a live database, put back into
an empty one, on whichever backend the suite runs (SQLite, then PostgreSQL with pg_dump)."""

from __future__ import annotations

import os
import sqlite3
import stat
import threading
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from flask import Flask
from flask_migrate import upgrade
from sqlalchemy import Engine, MetaData, create_engine, select, text
from sqlalchemy.engine import make_url

from penpress import backups
from penpress.blog import counts, search
from penpress.blog.models import Post
from penpress.blog.services import posts
from penpress.blog.services.search import search_posts
from penpress.database import MIGRATIONS_DIR
from penpress.extensions import db
from tests.blog.test_search import assert_index_in_step
from tests.factories import CommentFactory, PostFactory, UserFactory

FIRST_REVISION = "5d14dec51dbe"  # the initial schema


@pytest.fixture
def fresh_database(app: Flask, tmp_path: Path) -> Iterator[Callable[[], str]]:
    """``fresh_database()``: the URL of a new, empty database on the suite's backend."""
    made: list[str] = []
    with app.app_context():
        live = db.engine.url

    def make() -> str:
        if live.get_backend_name() == "sqlite":
            return f"sqlite:///{tmp_path / f'fresh-{uuid.uuid4().hex[:8]}.db'}"
        name = f"restore_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(_libpq(live.set(database="postgres")), autocommit=True) as server:
            server.execute(f'CREATE DATABASE "{name}"')  # type: ignore[arg-type]
        made.append(name)
        return live.set(database=name).render_as_string(hide_password=False)

    yield make
    for name in made:
        with psycopg.connect(_libpq(live.set(database="postgres")), autocommit=True) as server:
            server.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')  # type: ignore[arg-type]


def _libpq(url: Any) -> str:
    return str(url.set(drivername="postgresql").render_as_string(hide_password=False))


def cli(app: Flask, *args: str) -> Any:
    return app.test_cli_runner().invoke(args=list(args), catch_exceptions=False)


# Counters the services keep up to date in place (a row's count changes as others are
# added): left out where rows are compared as "added, never changed".
KEPT_IN_PLACE = {
    "counters": {"value"},
    "posts": {"comment_count", "favorites_count", "views"},
    "tags": {"post_count"},
    "users": {"post_count", "followers_count", "following_count"},
}


def contents(
    engine: Engine, skip: dict[str, set[str]] | None = None
) -> dict[str, list[tuple[Any, ...]]]:
    """Every table's rows in primary-key order (alembic_version included), without the
    ``skip`` columns, nor the search index's own tables (its internal segments are merged
    as posts are written: not rows that are "added, never changed")."""
    tables = MetaData()
    tables.reflect(engine, only=lambda name, _meta: search.in_models(name, "table", {}))
    found = {}
    with engine.connect() as connection:
        for table in tables.sorted_tables:
            order = list(table.primary_key.columns) or list(table.columns)
            columns = [c for c in table.columns if c.name not in (skip or {}).get(table.name, ())]
            found[table.name] = [
                tuple(row) for row in connection.execute(select(*columns).order_by(*order))
            ]
    return found


def contents_at(
    url: str, skip: dict[str, set[str]] | None = None
) -> dict[str, list[tuple[Any, ...]]]:
    engine = create_engine(url)
    try:
        return contents(engine, skip)
    finally:
        engine.dispose()


@pytest.fixture
def writer_authors(make: Any) -> list[Any]:
    return [make.user(username=f"writer{n}") for n in range(2)]


def test_a_backup_taken_during_writes_restores_one_consistent_moment(
    app: Flask, make: Any, writer_authors: list[Any], fresh_database: Callable[[], str],
    build_app: Callable[..., Flask], tmp_path: Path,
) -> None:  # fmt: skip
    make.post(title="Written before", published=True)
    stop = threading.Event()
    written = threading.Semaphore(0)
    failures: list[BaseException] = []

    def write(n: int) -> None:
        """Posts with two tags each: a post and its tags commit together or not at all."""
        try:
            with app.app_context():
                author = db.session.merge(writer_authors[n])
                number = 0
                while not stop.is_set():
                    posts.create_post(
                        author,
                        title=f"Writer {n} post {number}",
                        body="Written while the backup runs.",
                        tags=[f"w{n}-first", f"w{n}-second"],
                        published=True,
                    )
                    db.session.commit()
                    number += 1
                    written.release()
        except BaseException as error:  # pragma: no cover  (reported below)
            failures.append(error)

    writers = [threading.Thread(target=write, args=(n,)) for n in range(2)]
    for writer in writers:
        writer.start()
    try:
        for _ in range(10):
            assert written.acquire(timeout=30), "the writers never wrote"
        result = cli(app, "backup", str(tmp_path / "live.backup"))
        assert result.exit_code == 0, result.output
        for _ in range(10):  # and they kept writing after it
            assert written.acquire(timeout=30)
    finally:
        stop.set()
        for writer in writers:
            writer.join(30)
    assert failures == []
    assert "Backed up the" in result.output
    assert stat.S_IMODE(os.stat(tmp_path / "live.backup").st_mode) == 0o600

    target = build_app(schema=False, SQLALCHEMY_DATABASE_URI=fresh_database())
    restored_result = cli(target, "restore", str(tmp_path / "live.backup"))
    assert restored_result.exit_code == 0, restored_result.output

    with app.app_context():
        source = contents(db.engine, KEPT_IN_PLACE)
    restored = contents_at(target.config["SQLALCHEMY_DATABASE_URI"], KEPT_IN_PLACE)
    assert set(restored) == set(source)
    for table, rows in restored.items():
        # Writers only add rows, so the copy is the source at one earlier moment: each of its
        # rows is in the source unchanged, and nothing half-written made it in. Outbox rows are
        # the exception: each post's "went live" job runs after its commit and marks its row
        # done, so the copy may hold it from before; it must hold the job (id, key, task).
        width = 3 if table == "outbox_jobs" else None
        assert {row[:width] for row in rows} <= {row[:width] for row in source[table]}, table
    assert 10 < len(restored["posts"]) < len(source["posts"])
    tags_per_post: dict[int, int] = {}
    for post_id, _tag_id, *_copies in restored["post_tags"]:
        tags_per_post[post_id] = tags_per_post.get(post_id, 0) + 1
    written_posts = [row for row in restored["posts"] if "Writer" in str(row)]
    assert written_posts
    assert all(tags_per_post.get(row[0]) == 2 for row in written_posts)
    # The counters came from the same moment as the rows they count.
    with target.app_context():
        kept = counts.snapshot()
        counts.recount()
        assert counts.snapshot() == kept
        db.session.rollback()
        # And so did the search index: it finds exactly the restored posts.
        assert_index_in_step()
        found = search_posts(None, "backup runs", per_page=100)
        assert len(found.hits) == min(len(written_posts), 100)
        db.session.rollback()


def test_a_quiet_database_comes_back_identical(
    app: Flask, fresh_database: Callable[[], str], build_app: Callable[..., Flask],
    tmp_path: Path,
) -> None:  # fmt: skip
    with app.app_context():
        author, reader = UserFactory(username="quiet"), UserFactory(username="reader")
        for n in range(3):
            post = PostFactory(author=author, title=f"Quiet {n}", published=True)
            CommentFactory(post=post, author=reader)
    backup_file = tmp_path / "quiet.backup"
    assert cli(app, "backup", str(backup_file)).exit_code == 0

    target = build_app(schema=False, SQLALCHEMY_DATABASE_URI=fresh_database())
    result = cli(target, "restore", str(backup_file))
    assert result.exit_code == 0, result.output
    assert "Migrated" not in result.output  # same revision: nothing to do
    with app.app_context():
        source = contents(db.engine)
    restored = contents_at(target.config["SQLALCHEMY_DATABASE_URI"])
    assert {t: len(rows) for t, rows in restored.items()} == {
        t: len(rows) for t, rows in source.items()
    }
    assert restored == source
    # The restored site works: its sequences continue after the restored rows.
    with target.app_context():
        writer = db.session.scalars(select(Post.author_id)).first()
        assert writer is not None
        from penpress.accounts.models import User

        new = posts.create_post(
            db.session.get(User, writer), title="After the restore", body="Body.", published=True
        )
        db.session.commit()
        assert new.id > max(row[0] for row in source["posts"])


def test_restore_refuses_a_database_with_tables_unless_forced(
    app: Flask, make: Any, fresh_database: Callable[[], str], build_app: Callable[..., Flask],
    tmp_path: Path,
) -> None:  # fmt: skip
    make.post(title="In the backup", published=True)
    assert cli(app, "backup", str(tmp_path / "b.backup")).exit_code == 0
    target = build_app(schema=False, SQLALCHEMY_DATABASE_URI=fresh_database())
    with target.app_context():
        upgrade(directory=str(MIGRATIONS_DIR))
        from penpress.accounts.services import ensure_roles

        ensure_roles()
        db.session.commit()
    refused = target.test_cli_runner().invoke(args=["restore", str(tmp_path / "b.backup")])
    assert refused.exit_code == 1
    assert "The database is not empty" in refused.output
    assert "--force" in refused.output

    forced = cli(target, "restore", "--force", str(tmp_path / "b.backup"))
    assert forced.exit_code == 0, forced.output
    with target.app_context():
        db.session.remove()
        titles = db.session.scalars(select(Post.title)).all()
    assert titles == ["In the backup"]


def test_an_older_backup_is_restored_then_migrated(
    app: Flask, fresh_database: Callable[[], str], build_app: Callable[..., Flask], tmp_path: Path
) -> None:
    old = build_app(schema=False, SQLALCHEMY_DATABASE_URI=fresh_database())
    with old.app_context():
        upgrade(directory=str(MIGRATIONS_DIR), revision=FIRST_REVISION)
    assert cli(old, "backup", str(tmp_path / "old.backup")).exit_code == 0
    assert backups.read_revision(tmp_path / "old.backup") == FIRST_REVISION

    target = build_app(schema=False, SQLALCHEMY_DATABASE_URI=fresh_database())
    result = cli(target, "restore", str(tmp_path / "old.backup"))
    assert result.exit_code == 0, result.output
    assert f"Migrated it to {backups.code_revision()}" in result.output
    with target.app_context():
        version = db.session.scalar(text("SELECT version_num FROM alembic_version"))
    assert version == backups.code_revision()


def test_a_backup_from_a_newer_version_is_refused(
    app: Flask, fresh_database: Callable[[], str], build_app: Callable[..., Flask], tmp_path: Path
) -> None:
    newer = build_app(schema=False, SQLALCHEMY_DATABASE_URI=fresh_database())
    with newer.app_context():
        upgrade(directory=str(MIGRATIONS_DIR))
        db.session.execute(text("UPDATE alembic_version SET version_num = 'f00dfeedbeef'"))
        db.session.commit()
    assert cli(newer, "backup", str(tmp_path / "newer.backup")).exit_code == 0

    target = build_app(schema=False, SQLALCHEMY_DATABASE_URI=fresh_database())
    refused = target.test_cli_runner().invoke(args=["restore", str(tmp_path / "newer.backup")])
    assert refused.exit_code == 1
    assert "revision f00dfeedbeef, which this version of Penpress does not know" in refused.output
    with target.app_context():
        assert db.inspect(db.engine).get_table_names() == []  # nothing was touched


def test_a_file_that_is_not_a_backup_is_refused(
    app: Flask, fresh_database: Callable[[], str], build_app: Callable[..., Flask], tmp_path: Path
) -> None:
    junk = tmp_path / "notes.txt"
    junk.write_text("not a database")
    target = build_app(schema=False, SQLALCHEMY_DATABASE_URI=fresh_database())
    refused = target.test_cli_runner().invoke(args=["restore", str(junk)])
    assert refused.exit_code == 1
    assert "is not a Penpress backup" in refused.output

    other_kind = tmp_path / "other.backup"
    if target.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        other_kind.write_bytes(backups.PGDUMP_MAGIC + b"\0" * 64)
        expected = "a backup of a postgresql database; this site uses sqlite"
    else:
        with sqlite3.connect(other_kind) as made:
            made.execute("CREATE TABLE alembic_version (version_num TEXT)")
        expected = "a backup of a sqlite database; this site uses postgresql"
    refused = target.test_cli_runner().invoke(args=["restore", str(other_kind)])
    assert refused.exit_code == 1
    assert expected in refused.output


def test_pg_dump_gets_the_password_in_its_environment_never_on_its_command_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A stand-in pg_dump first on PATH records what a real one would be given, then fails.
    record = tmp_path / "seen"
    fake = tmp_path / "bin" / "pg_dump"
    fake.parent.mkdir()
    fake.write_text(f'#!/bin/sh\necho "$@" > {record}\necho "PGPASSWORD=$PGPASSWORD" >> {record}\n'
                    'echo "no server here" >&2\nexit 1\n')  # fmt: skip
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{fake.parent}{os.pathsep}{os.environ['PATH']}")
    engine = create_engine("postgresql+psycopg://penpress:s3cret-pw@db.internal:5433/blog")
    with pytest.raises(backups.BackupError, match="no server here"):
        backups.backup(engine, tmp_path / "out.backup")  # never connects itself
    argv, environment = record.read_text().splitlines()
    assert "s3cret-pw" not in argv
    assert argv.startswith("--format=custom --file=")
    assert environment == "PGPASSWORD=s3cret-pw"
    env = backups.postgres_environment(make_url("postgresql://u:pw@h:6000/d?sslmode=require"))
    assert (env["PGHOST"], env["PGPORT"], env["PGUSER"], env["PGDATABASE"]) == (
        "h", "6000", "u", "d",
    )  # fmt: skip
    assert env["PGSSLMODE"] == "require"
    assert not (tmp_path / "out.backup").exists()  # no half-written backup is left behind
