"""Two posts bringing the same new tag at the same instant: both are saved, with one tag.

Two real requests run in two threads against the suite's database (SQLite on the first pass,
PostgreSQL on the second). Each pauses just before inserting the tag until the other has got
there too, so both have seen that the tag does not exist yet: the race the attack hit, made
certain instead of lucky. Before the fix the later insert broke the unique slug and its post
answered 409.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import event, func, select

from penpress.accounts import tokens
from penpress.blog.models import Post, Tag
from penpress.extensions import db
from tests.conftest import Make


@pytest.fixture
def both_reach_the_tag_insert(app: Flask) -> Iterator[threading.Barrier]:
    """Hold each thread's first ``INSERT INTO tags`` until two threads have reached one."""
    barrier = threading.Barrier(2, timeout=20)
    waited = threading.local()

    def hold(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.lstrip().upper().startswith("INSERT INTO TAGS") and not getattr(
            waited, "done", False
        ):
            waited.done = True
            barrier.wait()

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", hold)
    try:
        yield barrier
    finally:
        event.remove(engine, "before_cursor_execute", hold)


def test_two_posts_with_the_same_new_tag_at_once(
    app: Flask, make: Make, both_reach_the_tag_insert: threading.Barrier
) -> None:
    headers = []
    for name in ("first", "second"):
        with app.app_context():
            author = db.session.merge(make.user(username=name))
            headers.append(
                {"Authorization": f"Bearer {tokens.issue_token_pair(author).access_token}"}
            )
            db.session.commit()

    def publish(n: int) -> Any:
        post = {"title": f"Race {n}", "body": "Text.", "tags": ["Brand New", "shared"]}
        return app.test_client().post("/api/v1/posts", json=post, headers=headers[n])

    with ThreadPoolExecutor(max_workers=2) as pool:
        responses = list(pool.map(publish, range(2)))

    assert [r.status_code for r in responses] == [201, 201], [r.get_json() for r in responses]
    assert not both_reach_the_tag_insert.broken  # both really were at the insert together
    for response in responses:
        assert response.get_json()["tags"] == ["Brand New", "shared"]
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Tag)) == 2
        assert db.session.scalar(select(func.count()).select_from(Post)) == 2


def test_a_tag_whose_slug_is_not_its_names_is_found_by_its_name(app: Flask) -> None:
    # An import may bring a tag whose slug was chosen elsewhere; writing its name again must
    # give that tag, not a second one (refused by the unique name) nor none at all.
    from penpress.blog.services.tags import resolve_tags

    with app.app_context():
        db.session.add(Tag(name="Gardening", slug="garden-stuff"))
        db.session.flush()
        tags = resolve_tags(["Gardening", "Roses"])
        assert [(tag.name, tag.slug) for tag in tags] == [
            ("Gardening", "garden-stuff"),
            ("Roses", "roses"),
        ]
        assert db.session.scalar(select(func.count()).select_from(Tag)) == 2
        db.session.rollback()
