"""The same rules through every front door: the website, /api/v1 and the Conduit API.

Each door is driven the way its clients drive it (the login form, a Bearer token, a Conduit
``Token``); the rules themselves live in the services, so every door refuses the same things
with its own status code and error shape.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from penpress.accounts import tokens
from penpress.accounts.models import User
from penpress.blog.models import Comment, Post
from penpress.extensions import db
from tests.conftest import Make
from tests.factories import DEFAULT_PASSWORD

CONDUIT = "/realworld/api"


@dataclass
class Door:
    """One front door, acting as one user."""

    name: str
    client: FlaskClient
    headers: dict[str, str]

    def _send(self, method: str, path: str, **kwargs: Any) -> TestResponse:
        return self.client.open(path, method=method, headers=self.headers, **kwargs)

    def read(self, post: Any) -> TestResponse:
        path = {
            "site": f"/blog/post/{post.slug}",
            "api": f"/api/v1/posts/{post.slug}",
            "conduit": f"{CONDUIT}/articles/{post.slug}",
        }[self.name]
        return self._send("GET", path)

    def edit(self, post: Any) -> TestResponse:
        if self.name == "site":
            form = {"title": "Taken over", "body": "Mine now.", "tags": "", "published": "y"}
            return self._send("POST", f"/blog/edit/{post.id}", data=form)
        if self.name == "api":
            return self._send("PATCH", f"/api/v1/posts/{post.slug}", json={"title": "Taken over"})
        return self._send(
            "PUT", f"{CONDUIT}/articles/{post.slug}", json={"article": {"title": "Taken over"}}
        )

    def delete(self, post: Any) -> TestResponse:
        path = {
            "site": f"/blog/delete/{post.id}",
            "api": f"/api/v1/posts/{post.slug}",
            "conduit": f"{CONDUIT}/articles/{post.slug}",
        }[self.name]
        return self._send("POST" if self.name == "site" else "DELETE", path)

    def create(self) -> TestResponse:
        if self.name == "site":
            form = {"title": "A reader writes", "body": "Text.", "published": "y"}
            return self._send("POST", "/blog/create", data=form)
        if self.name == "api":
            return self._send(
                "POST",
                "/api/v1/posts",
                json={"title": "A reader writes", "body": "Text.", "published": True},
            )
        article = {"title": "A reader writes", "description": "Short.", "body": "Text."}
        return self._send("POST", f"{CONDUIT}/articles", json={"article": article})

    def delete_comment(self, comment: Any, post: Any) -> TestResponse:
        path = {
            "site": f"/blog/comments/{comment.id}/delete",
            "api": f"/api/v1/comments/{comment.id}",
            "conduit": f"{CONDUIT}/articles/{post.slug}/comments/{comment.id}",
        }[self.name]
        return self._send("POST" if self.name == "site" else "DELETE", path)

    def assert_refused(self, response: TestResponse, status: int) -> None:
        """``status``, in this door's error shape."""
        assert response.status_code == status, response.get_data(as_text=True)[:300]
        if self.name == "site":
            assert response.mimetype == "text/html"
        elif self.name == "api":
            body = response.get_json()
            assert set(body) == {"error"}
            assert body["error"]["code"] == status
            assert body["error"]["message"]
        else:
            body = response.get_json()
            assert set(body) == {"errors"}
            assert all(isinstance(messages, list) for messages in body["errors"].values())


DOORS = ("site", "api", "conduit")
OpenDoor = Callable[[str, Any], Door]


@pytest.fixture
def door(app: Flask) -> OpenDoor:
    """``door(name, user)``: a front door logged in as ``user``, the way its clients log in."""

    def open_door(name: str, user: Any) -> Door:
        client = app.test_client()
        headers: dict[str, str] = {}
        if name == "site":
            login = client.post(
                "/auth/login", data={"email": user.email, "password": DEFAULT_PASSWORD}
            )
            assert login.status_code == 303
        else:
            with app.app_context():
                found = db.session.get_one(User, user.id)
                if name == "api":
                    headers["Authorization"] = (
                        f"Bearer {tokens.issue_token_pair(found).access_token}"
                    )
                else:
                    headers["Authorization"] = f"Token {tokens.issue_realworld_token(found)}"
                db.session.commit()
        return Door(name, client, headers)

    return open_door


def _post_state(app: Flask, post_id: int) -> tuple[str, str] | None:
    with app.app_context():
        found = db.session.get(Post, post_id)
        return None if found is None else (found.title, found.slug)


@pytest.mark.parametrize("name", DOORS)
def test_a_stranger_cannot_edit_or_delete_a_post(
    app: Flask, make: Make, door: OpenDoor, name: str
) -> None:
    post = make.post(author=make.user(role_name="author"), published=True, title="Theirs")
    stranger = door(name, make.user(role_name="author"))
    before = _post_state(app, post.id)

    stranger.assert_refused(stranger.edit(post), 403)
    stranger.assert_refused(stranger.delete(post), 403)
    assert _post_state(app, post.id) == before


@pytest.mark.parametrize("name", DOORS)
def test_the_author_can_edit_and_delete_through_the_same_door(
    app: Flask, make: Make, door: OpenDoor, name: str
) -> None:
    """The control for the refusals above: the same requests work for the author."""
    author = make.user(role_name="author")
    post = make.post(author=author, published=True, title="Mine")
    mine = door(name, author)
    assert mine.edit(post).status_code in (200, 303)
    assert _post_state(app, post.id)[0] == "Taken over"  # type: ignore[index]
    post.slug = _post_state(app, post.id)[1]  # type: ignore[index]  # Conduit renames it
    assert mine.delete(post).status_code in (204, 303)
    assert _post_state(app, post.id) is None


@pytest.mark.parametrize("name", DOORS)
def test_drafts_are_invisible_to_others(app: Flask, make: Make, door: OpenDoor, name: str) -> None:
    author = make.user(role_name="author")
    draft = make.post(author=author, published=False, title="Not yet")
    stranger = door(name, make.user(role_name="author"))

    stranger.assert_refused(stranger.read(draft), 404)
    # Changing it is a 404 too, not a 403 that would confirm the draft exists.
    stranger.assert_refused(stranger.edit(draft), 404)
    stranger.assert_refused(stranger.delete(draft), 404)
    assert _post_state(app, draft.id) == ("Not yet", draft.slug)
    assert door(name, author).read(draft).status_code == 200  # the author still sees it


@pytest.mark.parametrize("name", DOORS)
def test_a_reader_cannot_create_posts(app: Flask, make: Make, door: OpenDoor, name: str) -> None:
    reader = door(name, make.user(role_name="reader"))
    reader.assert_refused(reader.create(), 403)
    with app.app_context():
        assert db.session.query(Post).count() == 0
    author = door(name, make.user(role_name="author"))
    assert author.create().status_code in (201, 303)  # the same request from an author works


@pytest.mark.parametrize("name", DOORS)
def test_a_stranger_cannot_delete_a_comment(
    app: Flask, make: Make, door: OpenDoor, name: str
) -> None:
    post = make.post(author=make.user(role_name="author"), published=True)
    comment = make.comment(post=post, author=make.user(role_name="reader"))
    stranger = door(name, make.user(role_name="reader"))

    stranger.assert_refused(stranger.delete_comment(comment, post), 403)
    with app.app_context():
        assert db.session.get(Comment, comment.id) is not None
    moderator = door(name, make.user(role_name="moderator"))
    assert moderator.delete_comment(comment, post).status_code in (204, 303)
    with app.app_context():
        assert db.session.get(Comment, comment.id) is None
