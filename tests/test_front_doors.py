"""The three front doors (the website, /api/v1 and the Conduit API) answer alike.

Each door is driven the way its clients drive it (the login form, a Bearer token, a Conduit
``Token``). The rules themselves live in the services and are proven there
(``tests/test_service_permissions.py``, the service tests); here each door must refuse the same
things with its own status code and error shape, and treat odd input (NUL characters, ids no
row can have, huge page numbers, constraint races) without a 500.
"""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from werkzeug.test import TestResponse

from penpress.accounts import tokens
from penpress.accounts.models import User
from penpress.blog import services as blog
from penpress.blog.models import Comment, Post
from penpress.errors import NUL_MESSAGE
from penpress.extensions import db
from penpress.http import MAX_ID
from tests.conftest import Make
from tests.factories import DEFAULT_PASSWORD
from tests.pages import login

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
# What each door answers when a request of each kind succeeds: the site redirects after a form
# (303, see other), /api/v1 answers 201 Created / 200 / 204 No Content, and Conduit answers as its
# spec says (its article updates are 200, its deletes 204).
SUCCESS = {
    "site": {"create": 303, "edit": 303, "delete": 303, "delete_comment": 303},
    "api": {"create": 201, "edit": 200, "delete": 204, "delete_comment": 204},
    "conduit": {"create": 201, "edit": 200, "delete": 204, "delete_comment": 204},
}
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
    assert mine.edit(post).status_code == SUCCESS[name]["edit"]
    assert _post_state(app, post.id)[0] == "Taken over"  # type: ignore[index]
    post.slug = _post_state(app, post.id)[1]  # type: ignore[index]  # Conduit renames it
    assert mine.delete(post).status_code == SUCCESS[name]["delete"]
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
    # The same request from an author works.
    assert author.create().status_code == SUCCESS[name]["create"]
    with app.app_context():
        assert db.session.scalars(select(Post.title)).all() == ["A reader writes"]


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
    assert moderator.delete_comment(comment, post).status_code == SUCCESS[name]["delete_comment"]
    with app.app_context():
        assert db.session.get(Comment, comment.id) is None


# --- odd input ---------------------------------------------------------------------------------


def v1_headers(app: Flask, user: Any) -> dict[str, str]:
    with app.app_context():
        pair = tokens.issue_token_pair(db.session.get_one(User, user.id))
        db.session.commit()
    return {"Authorization": f"Bearer {pair.access_token}"}


def conduit_headers(app: Flask, user: Any) -> dict[str, str]:
    with app.app_context():
        token = tokens.issue_realworld_token(db.session.get_one(User, user.id))
        db.session.commit()
    return {"Authorization": f"Token {token}"}


def post_count(app: Flask) -> int:
    with app.app_context():
        return int(db.session.scalar(select(func.count()).select_from(Post)) or 0)


# --- a unique constraint lost during a flush ----------------------------------------------------


@pytest.fixture
def slug_collides(app: Flask, make: Make, monkeypatch: pytest.MonkeyPatch) -> Any:
    """Every new post gets the slug of an existing one, as when two identical titles are
    posted in the same instant: the INSERT fails inside ``create_post``'s flush."""
    author = make.user(role_name="author")
    existing = make.post(author=author, title="Taken", published=True)
    monkeypatch.setattr(blog.posts, "_unique_slug", lambda *_args, **_kwargs: existing.slug)
    return author


def test_a_collision_in_a_flush_is_a_409_on_the_site(
    app: Flask, client: FlaskClient, slug_collides: Any, caplog: pytest.LogCaptureFixture
) -> None:
    assert login(client, slug_collides.email).status_code == 303
    before = post_count(app)
    with caplog.at_level(logging.INFO, logger="penpress.errors"):
        response = client.post("/blog/create", data={"title": "Taken", "body": "Again."})
    assert response.status_code == 409
    assert response.mimetype == "text/html"
    assert "conflicts with a change made just now" in response.get_data(as_text=True)
    assert "IntegrityError" not in response.get_data(as_text=True)
    assert post_count(app) == before
    assert any("lost a race" in record.getMessage() for record in caplog.records)


def test_a_collision_in_a_flush_is_a_409_in_the_v1_api(
    app: Flask, client: FlaskClient, slug_collides: Any
) -> None:
    before = post_count(app)
    response = client.post(
        "/api/v1/posts",
        json={"title": "Taken", "body": "Again."},
        headers=v1_headers(app, slug_collides),
    )
    assert response.status_code == 409
    assert response.get_json()["error"]["code"] == 409
    assert post_count(app) == before


def test_a_collision_in_a_flush_is_a_validation_error_in_conduit(
    app: Flask, client: FlaskClient, slug_collides: Any
) -> None:
    article = {"title": "Taken", "description": "d", "body": "Again."}
    before = post_count(app)
    response = client.post(
        f"{CONDUIT}/articles",
        json={"article": article},
        headers=conduit_headers(app, slug_collides),
    )
    assert response.status_code == 422  # Conduit has no 409
    assert "errors" in response.get_json()
    assert post_count(app) == before


def test_the_session_is_usable_after_a_collision(
    app: Flask, client: FlaskClient, slug_collides: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    headers = v1_headers(app, slug_collides)
    collided = client.post("/api/v1/posts", json={"title": "T", "body": "B"}, headers=headers)
    assert collided.status_code == 409
    monkeypatch.undo()
    response = client.post("/api/v1/posts", json={"title": "Fresh", "body": "B"}, headers=headers)
    assert response.status_code == 201


# --- NUL characters -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "status", "mimetype"),
    [
        ("/about?x=a%00b", 400, "text/html"),
        ("/blog/post/a%00b", 400, "text/html"),
        ("/api/v1/posts?q=a%00b", 422, "application/json"),
        ("/api/v1/posts/a%00b", 404, "application/json"),
        (f"{CONDUIT}/articles?tag=a%00b", 422, "application/json"),
        (f"{CONDUIT}/profiles/a%00b", 404, "application/json"),
    ],
)
def test_nul_characters_are_refused_in_each_front_doors_shape(
    client: FlaskClient, url: str, status: int, mimetype: str
) -> None:
    response = client.get(url)
    assert response.status_code == status
    assert response.mimetype == mimetype


def test_nul_in_a_query_value_names_the_field(client: FlaskClient) -> None:
    v1 = client.get("/api/v1/posts?q=a%00b").get_json()["error"]
    assert v1["details"] == {"q": [NUL_MESSAGE]}
    conduit = client.get(f"{CONDUIT}/articles?author=%00").get_json()["errors"]
    assert conduit == {"author": [NUL_MESSAGE]}


# --- numbers beyond the database's integers -----------------------------------------------------


@pytest.mark.parametrize(
    ("method", "url", "mimetype"),
    [
        ("GET", f"/api/v1/comments/{MAX_ID + 1}", "application/json"),
        ("DELETE", "/api/v1/comments/99999999999999999999", "application/json"),  # not a 405
        ("GET", "/api/v1/comments/0", "application/json"),
        ("DELETE", f"{CONDUIT}/articles/some-slug/comments/{MAX_ID + 1}", "application/json"),
        ("POST", f"/blog/delete/{MAX_ID + 1}", "text/html"),
        ("POST", f"/admin/comments/{2**63}/approve", "text/html"),
    ],
)
def test_ids_no_row_can_have_are_404_everywhere(
    client: FlaskClient, method: str, url: str, mimetype: str
) -> None:
    response = client.open(url, method=method)
    assert response.status_code == 404
    assert response.mimetype == mimetype


def test_huge_page_numbers_are_empty_pages_on_the_site(client: FlaskClient) -> None:
    assert client.get("/blog/?page=99999999999999999999999").status_code == 200


# --- bodies over MAX_CONTENT_LENGTH sent without a length ---------------------------------------

TEN_MB = 10 * 1024 * 1024


def send_chunked(
    client: FlaskClient, path: str, body: bytes, content_type: str, headers: dict[str, str]
) -> TestResponse:
    """POST ``body`` as a server that decodes ``Transfer-Encoding: chunked`` hands it to the
    app (gunicorn, Werkzeug's server): no Content-Length, and ``wsgi.input_terminated``.
    ``tests/prod/test_request_size.py`` sends real chunks to gunicorn."""
    return client.post(
        path,
        input_stream=io.BytesIO(body),
        headers={"Transfer-Encoding": "chunked", "Content-Type": content_type, **headers},
        environ_overrides={"wsgi.input_terminated": True},
    )


@pytest.fixture
def writer_doors(app: Flask, make: Make) -> dict[str, tuple[FlaskClient, dict[str, str]]]:
    """A client and headers for each door, all acting as one author."""
    author = make.user(role_name="author")
    site = app.test_client()
    assert login(site, author.email).status_code == 303
    return {
        "site": (site, {}),
        "v1": (app.test_client(), v1_headers(app, author)),
        "conduit": (app.test_client(), conduit_headers(app, author)),
    }


def create_request(name: str, body: bytes) -> tuple[str, bytes, str]:
    """(path, body, content type) of a "new post" request through door ``name``, its text
    field carrying ``body``."""
    text = body.decode()
    if name == "site":
        form = f"title=Chunked&body={text}".encode()
        return "/blog/create", form, "application/x-www-form-urlencoded"
    if name == "v1":
        return "/api/v1/posts", json.dumps({"title": "Chunked", "body": text}).encode(), JSON
    article = {"article": {"title": "Chunked", "description": "d", "body": text}}
    return f"{CONDUIT}/articles", json.dumps(article).encode(), JSON


JSON = "application/json"


@pytest.mark.parametrize(
    ("name", "mimetype"),
    [("site", "text/html"), ("v1", JSON), ("conduit", JSON)],
)
def test_a_chunked_body_over_the_limit_is_413_everywhere(
    app: Flask, writer_doors: Any, name: str, mimetype: str
) -> None:
    client, headers = writer_doors[name]
    path, body, content_type = create_request(name, b"x" * TEN_MB)
    before = post_count(app)
    response = send_chunked(client, path, body, content_type, headers)
    assert response.status_code == 413
    assert response.mimetype == mimetype
    assert "too large" in response.get_data(as_text=True)
    assert post_count(app) == before


@pytest.mark.parametrize("name", ["site", "v1", "conduit"])
def test_a_chunked_body_within_the_limit_is_read_whole(
    app: Flask, writer_doors: Any, name: str
) -> None:
    client, headers = writer_doors[name]
    text = "y" * 50_000  # within the services' 100,000 characters and MAX_CONTENT_LENGTH
    path, body, content_type = create_request(name, text.encode())
    response = send_chunked(client, path, body, content_type, headers)
    door = "api" if name == "v1" else name
    assert response.status_code == SUCCESS[door]["create"], response.get_data(as_text=True)[:300]
    with app.app_context():
        saved = db.session.scalar(select(Post).order_by(Post.id.desc()))
        assert saved is not None
        assert saved.body == text
