"""Page views are buffered and saved by the periodic job: reading a post never writes."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from penpress.blog import view_counts
from penpress.blog.models import Post
from penpress.extensions import db
from tests.conftest import Make
from tests.pages import login

WRITES = ("INSERT", "UPDATE", "DELETE")


def views(app: Flask, post: Any) -> int:
    with app.app_context():
        found = db.session.get(Post, post.id)
        assert found is not None
        return found.views


def test_a_post_page_get_writes_nothing(
    app: Flask, client: FlaskClient, make: Make, count_queries: Callable[[], Any]
) -> None:
    post = make.post()
    client.get(f"/blog/post/{post.slug}")  # warm up
    with count_queries() as statements:
        assert client.get(f"/blog/post/{post.slug}").status_code == 200
    assert not [s for s in statements if s.lstrip().upper().startswith(WRITES)]
    # The page cache's generations, the post with its author, its tags, its comments, and
    # the header navigation's static pages (from the cache in production; these tests have
    # none).
    assert len(statements) <= 5


def test_views_count_after_a_flush_and_the_author_does_not(
    app: Flask, client: FlaskClient, make: Make, flush_views: Callable[[], int]
) -> None:
    author = make.user()
    post = make.post(author=author)
    for _ in range(3):
        client.get(f"/blog/post/{post.slug}")
    client.head(f"/blog/post/{post.slug}")  # link checkers are not readers
    assert views(app, post) == 0
    with app.app_context():
        assert view_counts.pending(post.id) == 3
    assert flush_views() == 3
    assert views(app, post) == 3
    assert flush_views() == 0  # nothing counted twice
    assert login(client, author.email).status_code == 303
    client.get(f"/blog/post/{post.slug}")  # the author reading their own post
    assert flush_views() == 0
    assert views(app, post) == 3


def test_views_of_a_deleted_post_are_dropped(
    app: Flask, client: FlaskClient, make: Make, flush_views: Callable[[], int]
) -> None:
    post = make.post()
    client.get(f"/blog/post/{post.slug}")
    with app.app_context():
        db.session.delete(db.session.get(Post, post.id))
        db.session.commit()
    assert flush_views() == 1  # flushed to no row: nothing breaks
    with app.app_context():
        assert view_counts.pending(post.id) == 0


def test_the_flush_is_a_periodic_job(app: Flask) -> None:
    assert app.config["PERIODIC_JOBS"][view_counts.FLUSH_TASK] > 0
    assert view_counts.FLUSH_TASK in app.extensions["celery"].tasks
