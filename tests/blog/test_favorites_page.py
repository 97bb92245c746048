"""/blog/favorites: the logged-in reader's favorite posts, and their count on the profile."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from penpress.database import utcnow
from tests.conftest import Make
from tests.html_dom import parse

Login = Callable[[FlaskClient, Any], None]


def titles(html: str) -> list[str]:
    """The titles of the post cards, in order."""
    cards = parse(html).find("main").iter("h2", "h3")
    return [h.text.strip() for h in cards if "post-card-title" in h.classes]


def favorite(client: FlaskClient, slug: str) -> None:
    assert client.post(f"/blog/post/{slug}/favorite").status_code in (302, 303)


def test_the_page_needs_a_login(client: FlaskClient) -> None:
    response = client.get("/blog/favorites")
    assert response.status_code == 302
    assert "/auth/login" in response.headers["Location"]


def test_it_lists_my_published_favorites_newest_first(
    app: Flask, client: FlaskClient, make: Make, login: Login
) -> None:
    reader = make.user(username="reader")
    other = make.user(username="other")
    start = utcnow() - timedelta(days=5)
    for n, slug in enumerate(["older", "newer", "not-mine", "unfavorited"]):
        make.post(title=slug.title(), slug=slug, published=True,
                  published_at=start + timedelta(days=n))  # fmt: skip
    draft_later = make.post(title="Unpublished later", slug="gone-draft", published=True)

    other_client = app.test_client()
    login(other_client, other)
    favorite(other_client, "not-mine")
    login(client, reader)
    for slug in ("older", "newer", "unfavorited", "gone-draft"):
        favorite(client, slug)
    assert client.post("/blog/post/unfavorited/unfavorite").status_code in (302, 303)
    with app.app_context():  # a favorite that its writer later took back to draft
        from penpress.blog.models import Post
        from penpress.extensions import db

        post = db.session.get(Post, draft_later.id)
        assert post is not None
        post.published = False
        db.session.commit()

    response = client.get("/blog/favorites")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert titles(html) == ["Newer", "Older"]
    assert "Cache-Control" not in response.headers or "public" not in response.headers[
        "Cache-Control"]  # fmt: skip
    # The navigation leads there, and the profile counts what the page lists.
    assert 'href="/blog/favorites"' in html
    profile = parse(client.get("/auth/profile").get_data(as_text=True))
    count = profile.find("a", **{"class": "favorites-count"})
    assert count.text == "2 posts"
    assert count.attrs["href"] == "/blog/favorites"


def test_an_empty_list_says_how_to_fill_it(client: FlaskClient, make: Make, login: Login) -> None:
    login(client, make.user())
    html = client.get("/blog/favorites").get_data(as_text=True)
    assert "No favorites yet" in html
    profile = parse(client.get("/auth/profile").get_data(as_text=True))
    assert profile.find("a", **{"class": "favorites-count"}).text == "0 posts"


def test_the_page_pages(
    app: Flask, client: FlaskClient, make: Make, login: Login, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(app.config, "POSTS_PER_PAGE", 2)
    reader = make.user()
    start = utcnow() - timedelta(days=10)
    for n in range(5):
        make.post(title=f"Post {n}", slug=f"post-{n}", published=True,
                  published_at=start + timedelta(days=n))  # fmt: skip
    login(client, reader)
    for n in range(5):
        favorite(client, f"post-{n}")
    seen: list[str] = []
    url: str | None = "/blog/favorites"
    while url:
        html = client.get(url).get_data(as_text=True)
        page = parse(html)
        seen += titles(html)
        older = [a for a in page.iter("a") if a.text.strip().startswith("Older")]
        url = older[0].attrs["href"] if older else None
    assert seen == [f"Post {n}" for n in range(4, -1, -1)]


def test_the_page_runs_a_constant_number_of_queries(
    client: FlaskClient, make: Make, login: Login, count_queries: Callable[[], Any]
) -> None:
    reader = make.user()
    login(client, reader)

    def measure() -> int:
        client.get("/blog/favorites")
        with count_queries() as queries:
            assert client.get("/blog/favorites").status_code == 200
        return len(queries)

    make.post(slug="first", published=True, tags=["One"])
    favorite(client, "first")
    few = measure()
    for n in range(6):
        make.post(author=make.user(role_name="author"), slug=f"more-{n}", published=True,
                  tags=[f"t{n}", "One"])  # fmt: skip
        favorite(client, f"more-{n}")
    assert measure() == few
