"""One commit per request, on every front door; none when the request is refused.

Services only flush; ``penpress.unit_of_work`` commits a successful response and rolls back an
error response. Counted here with the session's own ``after_commit`` event, door by door, and
with an edit whose title is valid but whose tags are not: nothing of it may stay.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from flask import Flask, Response
from sqlalchemy import event, select

from penpress import counters
from penpress.accounts import services as accounts
from penpress.accounts.models import User
from penpress.blog import services as blog
from penpress.blog.models import Post
from penpress.counters import NamedCounter
from penpress.errors import Invalid
from penpress.extensions import db
from penpress.unit_of_work import commit_or_roll_back
from tests.conftest import Make
from tests.test_sanitizer_matrix import CONDUIT, headers_for

DOORS = ("site", "api", "conduit")
BAD_TAG = "!!!"  # no letter or digit: refused


@contextmanager
def commits(app: Flask) -> Iterator[list[str]]:
    """Records "commit" and "rollback" for each one the session makes inside."""
    seen: list[str] = []

    def on_commit(_session: Any) -> None:
        seen.append("commit")

    def on_rollback(_session: Any, _previous: Any) -> None:
        seen.append("rollback")

    event.listen(db.session, "after_commit", on_commit)
    event.listen(db.session, "after_soft_rollback", on_rollback)
    try:
        yield seen
    finally:
        event.remove(db.session, "after_commit", on_commit)
        event.remove(db.session, "after_soft_rollback", on_rollback)


def edit_request(door: str, post: Any, title: str, tag: str) -> tuple[str, str, dict[str, Any]]:
    if door == "site":
        form = {"title": title, "body": "Body.", "tags": tag, "published": "y"}
        return "POST", f"/blog/edit/{post.id}", form
    if door == "api":
        return "PATCH", f"/api/v1/posts/{post.slug}", {"title": title, "tags": [tag]}
    article = {"title": title, "tagList": [tag]}
    return "PUT", f"{CONDUIT}/articles/{post.slug}", {"article": article}


def send(client: Any, door: str, headers: dict[str, str], request: tuple[str, str, Any]) -> Any:
    method, path, payload = request
    if door == "site":
        return client.open(path, method=method, data=payload, headers=headers)
    return client.open(path, method=method, json=payload, headers=headers)


def title_of(app: Flask, post_id: int) -> str | None:
    with app.app_context():
        return db.session.scalar(select(Post.title).where(Post.id == post_id))


EDITED = {"site": 303, "api": 200, "conduit": 200}
INVALID = {"site": 422, "api": 422, "conduit": 422}


@pytest.mark.parametrize("door", DOORS)
def test_an_edit_commits_once(app: Flask, make: Make, door: str) -> None:
    author = make.user(role_name="author")
    post = make.post(author=author, title="Before")
    client = app.test_client()
    headers = headers_for(app, door, author, client)  # the login's own commit is not counted
    with commits(app) as seen:
        response = send(client, door, headers, edit_request(door, post, "After", "fine"))
    assert response.status_code == EDITED[door], response.get_data(as_text=True)[:300]
    assert seen == ["commit"]
    assert title_of(app, post.id) == "After"


@pytest.mark.parametrize("door", DOORS)
def test_a_valid_title_with_an_invalid_tag_changes_nothing(
    app: Flask, make: Make, door: str
) -> None:
    author = make.user(role_name="author")
    post = make.post(author=author, title="Before", tags=["kept"])
    client = app.test_client()
    headers = headers_for(app, door, author, client)
    with commits(app) as seen:
        response = send(client, door, headers, edit_request(door, post, "After", BAD_TAG))
    assert response.status_code == INVALID[door], response.get_data(as_text=True)[:300]
    assert "commit" not in seen
    assert "rollback" in seen
    assert title_of(app, post.id) == "Before"
    with app.app_context():
        saved = db.session.get_one(Post, post.id)
        assert [tag.name for tag in blog.get_post(None, saved.slug).tags] == ["kept"]


@pytest.mark.parametrize("door", DOORS)
def test_a_refused_edit_commits_nothing(app: Flask, make: Make, door: str) -> None:
    post = make.post(author=make.user(role_name="author"), title="Before")
    stranger = make.user(role_name="author")
    client = app.test_client()
    headers = headers_for(app, door, stranger, client)
    with commits(app) as seen:
        response = send(client, door, headers, edit_request(door, post, "After", "fine"))
    assert response.status_code == 403
    assert "commit" not in seen
    assert title_of(app, post.id) == "Before"


@pytest.mark.parametrize("door", DOORS)
def test_a_comment_commits_once_and_its_email_job_once(
    app: Flask, make: Make, outbox: list[Any], door: str
) -> None:
    post = make.post(author=make.user(role_name="author"))
    moderator = make.user(role_name="moderator")  # shown at once, no moderation email
    client = app.test_client()
    headers = headers_for(app, door, moderator, client)
    path = {
        "site": f"/blog/post/{post.slug}/comment",
        "api": f"/api/v1/posts/{post.slug}/comments",
        "conduit": f"{CONDUIT}/articles/{post.slug}/comments",
    }[door]
    with commits(app) as seen:
        if door == "site":
            response = client.post(path, data={"body": "Hello"}, headers=headers)
        elif door == "api":
            response = client.post(path, json={"body": "Hello"}, headers=headers)
        else:
            response = client.post(path, json={"comment": {"body": "Hello"}}, headers=headers)
    assert response.status_code == {"site": 303, "api": 201, "conduit": 200}[door]
    # The request's one commit, then the job it queued (the post's author is emailed) with
    # its own one commit.
    assert seen == ["commit", "commit"]
    assert len(outbox) == 1


def test_update_post_checks_tags_before_it_changes_anything(app: Flask, make: Make) -> None:
    """Within the request too: the session's post keeps its title when the tags are refused,
    so nothing later in the request (a commit by mistake) could save half an edit."""
    author = make.user(role_name="author")
    made = make.post(author=author, title="Before", body="Old body.", tags=["kept"])
    with app.app_context():
        post = db.session.get_one(Post, made.id)
        actor = db.session.get_one(User, author.id)
        with pytest.raises(Invalid) as refused:
            blog.update_post(actor, post, title="After", body="New body.", tags=[BAD_TAG])
        assert refused.value.details == {
            "tags": [f"Tag {BAD_TAG!r} needs at least one letter or digit."]
        }
        assert (post.title, post.body) == ("Before", "Old body.")
        assert list(db.session.dirty) == []
        db.session.rollback()


def test_an_error_response_rolls_back_what_the_request_flushed(app: Flask, make: Make) -> None:
    """The unit of work itself: a 4xx response after a flush leaves nothing behind, even for
    whatever else runs later in the same request (jobs, a keep-changes error handler)."""
    user = make.user(bio="Before")
    with app.test_request_context():
        db.session.get_one(User, user.id).bio = "During"
        db.session.flush()
        response = commit_or_roll_back(Response(status=422))
        assert response.status_code == 422
        assert db.session.scalar(select(User.bio).where(User.id == user.id)) == "Before"
        db.session.commit()  # a later commit in the request has nothing to save
    with app.app_context():
        assert db.session.scalar(select(User.bio).where(User.id == user.id)) == "Before"


def test_a_success_response_commits_what_the_request_flushed(app: Flask, make: Make) -> None:
    user = make.user(bio="Before")
    with app.test_request_context():
        db.session.get_one(User, user.id).bio = "During"
        db.session.flush()
        assert commit_or_roll_back(Response(status=200)).status_code == 200
    with app.app_context():
        assert db.session.scalar(select(User.bio).where(User.id == user.id)) == "During"


def test_a_success_response_commits_an_object_only_added(app: Flask) -> None:
    """``add`` without a flush begins the transaction too: what was added is saved."""
    with app.test_request_context():
        db.session.add(NamedCounter(name="test:added-only", value=7))
        assert commit_or_roll_back(Response(status=200)).status_code == 200
    with app.app_context():
        assert counters.value("test:added-only") == 7


def test_a_request_that_began_no_transaction_builds_no_session(app: Flask) -> None:
    """Nothing to commit, nothing to build: a cached page or a token list never pays for an
    ORM session it did not use."""
    with app.test_request_context():
        db.session.remove()
        assert commit_or_roll_back(Response(status=200)).status_code == 200
        assert commit_or_roll_back(Response(status=404)).status_code == 404
        assert not db.session.registry.has()


def test_request_reads_see_the_requests_own_writes_and_begin_nothing_else(
    app: Flask, make: Make
) -> None:
    """The flags' reads (favorited, followed) see what this request flushed and has not
    committed; a request that wrote nothing reads them as committed, beginning no
    transaction."""
    reader, author = make.user(), make.user()
    with app.test_request_context():
        db.session.remove()
        assert accounts.followed_ids(reader.id, [author.id]) == set()
        assert not db.session.registry.has()  # nothing began
        accounts.follow(db.session.get_one(User, reader.id), db.session.get_one(User, author.id))
        assert accounts.followed_ids(reader.id, [author.id]) == {author.id}  # flushed only
        db.session.rollback()
        assert accounts.followed_ids(reader.id, [author.id]) == set()
