"""Favorites, follows and the personal feed on the site."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from penpress.accounts.models import Follow
from penpress.blog.models import Favorite
from penpress.extensions import db
from tests.pages import login


def log_in_as(client: FlaskClient, user) -> None:
    assert login(client, user.email).status_code == 303, "login failed"


def count(app: Flask, model) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model)) or 0


@pytest.fixture
def people(app, make):
    with app.app_context():
        writer = make.user(username="writer")
        fan = make.user(username="fan")
        post = make.post(author=writer, title="Worth a star")
    return writer, fan, post


# --- favorites ----------------------------------------------------------------------------


def test_favorite_and_unfavorite_a_post(app, client, people):
    _, fan, post = people
    url = f"/blog/post/{post.slug}"
    log_in_as(client, fan)
    html = client.get(url).get_data(as_text=True)
    assert "0 favorites" in html
    assert f'action="{url}/favorite"' in html

    response = client.post(f"{url}/favorite")
    assert response.status_code == 303
    assert response.headers["Location"] == url
    html = client.get(url).get_data(as_text=True)
    assert "1 favorite<" in html
    assert f'action="{url}/unfavorite"' in html
    assert "1 favorite<" in client.get("/blog/").get_data(as_text=True)

    client.post(f"{url}/favorite")  # twice is still once
    assert count(app, Favorite) == 1

    assert client.post(f"{url}/unfavorite").status_code == 303
    assert count(app, Favorite) == 0
    assert "0 favorites" in client.get(url).get_data(as_text=True)


def test_favorite_needs_login_and_post(app, client, people):
    _, _, post = people
    response = client.post(f"/blog/post/{post.slug}/favorite")
    assert response.status_code == 302
    assert "/auth/login" in response.headers["Location"]
    assert count(app, Favorite) == 0
    html = client.get(f"/blog/post/{post.slug}").get_data(as_text=True)
    assert "/favorite" not in html  # no button for visitors, only the count
    assert "0 favorites" in html
    assert client.get(f"/blog/post/{post.slug}/favorite").status_code == 405


def test_favorite_missing_post_or_others_draft_is_404(app, client, make, people):
    writer, fan, _ = people
    with app.app_context():
        draft = make.post(author=writer, published=False)
    log_in_as(client, fan)
    assert client.post("/blog/post/missing/favorite").status_code == 404
    assert client.post(f"/blog/post/{draft.slug}/favorite").status_code == 404
    assert client.post("/blog/post/missing/unfavorite").status_code == 404
    assert count(app, Favorite) == 0


@pytest.mark.parametrize(
    ("next_url", "expected"),
    [
        ("/blog/", "/blog/"),
        ("//evil.example/", None),
        ("https://evil.example/", None),
        ("/\\evil.example", None),
    ],
)
def test_next_redirects_stay_on_the_site(client, people, next_url, expected):
    _, fan, post = people
    log_in_as(client, fan)
    response = client.post(f"/blog/post/{post.slug}/favorite", data={"next": next_url})
    assert response.headers["Location"] == (expected or f"/blog/post/{post.slug}")


# --- follows ------------------------------------------------------------------------------


def test_follow_and_unfollow_an_author(app, client, people):
    writer, fan, _ = people
    log_in_as(client, fan)
    html = client.get("/blog/author/writer").get_data(as_text=True)
    assert 'action="/blog/author/writer/follow"' in html
    assert "0 followers" in html

    response = client.post("/blog/author/writer/follow")
    assert response.status_code == 303
    assert response.headers["Location"] == "/blog/author/writer"
    html = client.get("/blog/author/writer").get_data(as_text=True)
    assert "You are following writer." in html
    assert "1 follower<" in html
    assert 'action="/blog/author/writer/unfollow"' in html
    assert "1 following" in client.get("/blog/author/fan").get_data(as_text=True)

    client.post("/blog/author/writer/follow")
    assert count(app, Follow) == 1

    assert client.post("/blog/author/writer/unfollow").status_code == 303
    assert count(app, Follow) == 0
    assert "0 followers" in client.get("/blog/author/writer").get_data(as_text=True)


def test_follow_from_a_post_page_returns_there(client, people):
    _, fan, post = people
    log_in_as(client, fan)
    url = f"/blog/post/{post.slug}"
    html = client.get(url).get_data(as_text=True)
    assert "Follow writer" in html
    response = client.post(f"/blog/author/writer/follow?next={url}")
    assert response.headers["Location"] == url
    assert "Unfollow writer" in client.get(url).get_data(as_text=True)


def test_cannot_follow_yourself(app, client, people):
    writer, _, _ = people
    log_in_as(client, writer)
    html = client.get("/blog/author/writer").get_data(as_text=True)
    assert "/follow" not in html
    assert "Edit your profile" in html
    assert client.post("/blog/author/writer/follow").status_code == 422
    assert count(app, Follow) == 0


def test_follow_needs_login_and_an_existing_user(app, client, people):
    _, fan, _ = people
    response = client.post("/blog/author/writer/follow")
    assert response.status_code == 302
    assert "Log in to follow writer" in client.get("/blog/author/writer").get_data(as_text=True)
    log_in_as(client, fan)
    assert client.post("/blog/author/nobody/follow").status_code == 404
    assert client.post("/blog/author/nobody/unfollow").status_code == 404
    assert count(app, Follow) == 0


# --- feed ---------------------------------------------------------------------------------


def test_feed_needs_login(client):
    response = client.get("/blog/feed")
    assert response.status_code == 302
    assert "/auth/login" in response.headers["Location"]


def test_feed_is_empty_until_you_follow_someone(client, people):
    _, fan, _ = people
    log_in_as(client, fan)
    response = client.get("/blog/feed")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "Your feed" in html
    assert "Worth a star" not in html
    assert "Nothing here yet" in html


def test_feed_shows_published_posts_of_followed_authors_only(app, client, make, people):
    writer, fan, _ = people
    with app.app_context():
        make.post(author=writer, title="Unpublished by writer", published=False)
        make.post(title="By a stranger")
    log_in_as(client, fan)
    client.post("/blog/author/writer/follow")
    html = client.get("/blog/feed").get_data(as_text=True)
    assert "Worth a star" in html
    assert "Unpublished by writer" not in html
    assert "By a stranger" not in html
