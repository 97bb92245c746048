"""A reader's flags on a page (favorited, following): right for a user or their id, and, on
PostgreSQL, found by the whole key even when a prepared statement's generic plan is used."""

from __future__ import annotations

import json
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import text

from penpress.accounts import services as accounts
from penpress.blog import services as blog
from penpress.blog.services import favorites
from penpress.extensions import db
from tests.conftest import Make, postgres_backend


def test_flags_for_a_user_or_their_id(ctx: None, make: Make) -> None:
    reader, writer, other = make.user(), make.user(), make.user()
    liked, unliked = make.post(author=writer), make.post(author=other)
    blog.favorite(reader, liked)
    accounts.follow(reader, writer)
    db.session.commit()
    pages = [liked.id, unliked.id]
    for viewer in (reader, reader.id):
        assert blog.favorited_ids(viewer, pages) == {liked.id}
        assert accounts.followed_ids(viewer, [writer.id, other.id]) == {writer.id}
        assert blog.favorited_ids(viewer, []) == set()
    assert blog.favorited_ids(None, pages) == set()
    assert accounts.followed_ids(None, [writer.id]) == set()


def _generic_plan(statement: Any, values: dict[str, Any]) -> dict[str, Any]:
    """PostgreSQL's generic plan for ``statement`` (what a prepared statement runs once
    PostgreSQL stops planning it for its values), executed with ``values``."""
    connection = db.session.connection()
    compiled = statement.compile(dialect=connection.dialect)
    sql, arguments = str(compiled), []
    for number, (name, value) in enumerate(compiled.params.items(), start=1):
        sql = sql.replace(f"%({name})s", f"${number}")
        arguments.append(values.get(name, value))
    connection.exec_driver_sql("SET LOCAL plan_cache_mode = force_generic_plan")
    connection.exec_driver_sql("SET LOCAL enable_seqscan = off")  # the tables here are small
    connection.exec_driver_sql(f"PREPARE flags_probe AS {sql}")
    # EXECUTE takes no bound parameters: the test's own integers, written out.
    written = [
        f"ARRAY[{','.join(str(int(v)) for v in value)}]::integer[]"
        if isinstance(value, list)
        else str(int(value))
        for value in arguments
    ]
    explained = connection.exec_driver_sql(
        f"EXPLAIN (FORMAT JSON) EXECUTE flags_probe({', '.join(written)})"
    ).scalar_one()
    connection.exec_driver_sql("DEALLOCATE flags_probe")
    plan: dict[str, Any] = (explained if isinstance(explained, list) else json.loads(explained))[0]
    return plan


def _nodes(node: dict[str, Any]) -> list[dict[str, Any]]:
    return [node, *(child for sub in node.get("Plans", []) for child in _nodes(sub))]


@pytest.mark.postgres
@pytest.mark.skipif(not postgres_backend(), reason="runs on the PostgreSQL pass")
def test_favorited_probes_the_whole_key_under_a_generic_plan(app: Flask, ctx: None, make: Make):
    """A reader with thousands of favorites: ``user_id = $1 AND post_id IN (...)`` under a
    generic plan scanned all of them (10 ms at 41,000); each candidate is looked up by the
    primary key instead."""
    reader, writer = make.user(), make.user()
    db.session.execute(
        text(
            "INSERT INTO posts (title, slug, summary, body, body_html, published, published_at,"
            " created_at, updated_at, views, author_id, comment_count, favorites_count)"
            " SELECT 'Bulk ' || n, 'bulk-' || n, '', 'b', '<p>b</p>', true, now(), now(),"
            " now(), 0, :writer, 0, 0 FROM generate_series(1, 3000) AS n"
        ),
        {"writer": writer.id},
    )
    db.session.execute(
        text(
            "INSERT INTO favorites (user_id, post_id, created_at) SELECT :reader, id, now()"
            " FROM posts"
        ),
        {"reader": reader.id},
    )
    db.session.commit()
    db.session.execute(text("ANALYZE favorites"))
    page = list(db.session.scalars(text("SELECT id FROM posts ORDER BY id DESC LIMIT 20")))
    assert blog.favorited_ids(reader.id, page) == set(page)

    plan = _generic_plan(
        favorites._FAVORITED.statement("postgresql"), {"value": reader.id, "candidates": page}
    )
    scans = [node for node in _nodes(plan["Plan"]) if node.get("Relation Name") == "favorites"]
    assert len(scans) == 1, plan
    # Looked up once per candidate (a nested loop whose inner scan is keyed by it), never a
    # scan of all the reader's rows filtered by the candidates.
    assert plan["Plan"]["Node Type"] == "Nested Loop", plan
    assert "post_id = candidates.id" in scans[0].get("Index Cond", ""), plan
    db.session.rollback()
