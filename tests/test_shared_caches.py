"""The caches in front of the APIs and the logged-in home page, with a real cache.

Anonymous GETs of /api/v1/posts, /api/v1/posts/<slug> and the Conduit article list and
article come from the page cache (ETag, 304); a request with a token is never answered from
it and never fills it. The shared parts (a page of posts for every caller, the home page's
list for every logged-in reader) hold nothing of one user: each caller's own flags and
navigation are added per request. Every change a reader must see shows on the next request.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from bench.queries import counting
from penpress.accounts import services as accounts
from penpress.accounts import tokens
from penpress.accounts.models import User
from penpress.blog import services, view_counts
from penpress.extensions import db
from penpress.settings.services import set_comments_require_approval
from tests import factories
from tests.pages import login

POSTS = "/api/v1/posts"
ARTICLES = "/realworld/api/articles"
GENERATIONS_ONLY = "SELECT name, value FROM counters"  # the page cache's one read on a hit


def change(app: Flask, action: Callable[[], Any]) -> Any:
    with app.app_context():
        result = action()
        db.session.commit()
        return result


@pytest.fixture
def site(build_app: Callable[..., Flask]) -> Iterator[dict[str, Any]]:
    app = build_app(CACHE_TYPE="SimpleCache")
    with app.app_context():
        view_counts.discard()
        writer = factories.UserFactory(username="writer", role_name="author")
        reader = factories.UserFactory(username="reader")
        other = factories.UserFactory(username="other")
        admin = factories.UserFactory(username="boss", role_name="admin")
        post = services.create_post(
            writer, title="First news", body="Hello.", tags=["news"], published=True
        )
        draft = services.create_post(writer, title="Secret draft", body="Not yet.")
        db.session.commit()
        ids = {"writer": writer.id, "reader": reader.id, "other": other.id, "admin": admin.id}
        slugs = {"post": post.slug, "draft": draft.slug}
    yield {"app": app, "ids": ids, "slugs": slugs}
    with app.app_context():
        view_counts.discard()


def user(app: Flask, site: dict[str, Any], name: str) -> User:
    return db.session.get_one(User, site["ids"][name])


def bearer(site: dict[str, Any], name: str) -> dict[str, str]:
    app = site["app"]
    pair = change(app, lambda: tokens.issue_token_pair(user(app, site, name)))
    return {"Authorization": f"Bearer {pair.access_token}"}


def conduit_token(site: dict[str, Any], name: str) -> dict[str, str]:
    app = site["app"]
    token = change(app, lambda: tokens.issue_realworld_token(user(app, site, name)))
    return {"Authorization": f"Token {token}"}


def anonymous_urls(site: dict[str, Any]) -> list[str]:
    slug = site["slugs"]["post"]
    return [POSTS, f"{POSTS}/{slug}", ARTICLES, f"{ARTICLES}/{slug}"]


# --- anonymous API reads -------------------------------------------------------------------


def test_anonymous_api_reads_come_from_the_cache(site: dict[str, Any]) -> None:
    app = site["app"]
    client = app.test_client()
    for url in anonymous_urls(site):
        first = client.get(url)
        assert first.status_code == 200, url
        with counting(app) as seen:
            again = client.get(url)
        assert len(seen) == 1, url  # nothing but the generations
        assert GENERATIONS_ONLY in seen[0], url
        assert again.get_data() == first.get_data(), url
        assert again.headers["ETag"] == first.headers["ETag"], url
        assert "Set-Cookie" not in again.headers
        if url.startswith(POSTS):  # the v1 API's promise to clients and shared caches
            assert again.headers["Cache-Control"] == "public, max-age=60"
            assert "Authorization" in again.headers["Vary"]
        else:  # Conduit's: never keep an answer
            assert again.headers["Cache-Control"] == "no-store"


def test_anonymous_api_reads_answer_304(site: dict[str, Any]) -> None:
    client = site["app"].test_client()
    for url in anonymous_urls(site):
        etag = client.get(url).headers["ETag"]
        for _ in range(2):  # the miss that fills the cache, then the hit
            answer = client.get(url, headers={"If-None-Match": etag})
            assert answer.status_code == 304, url
            assert answer.get_data() == b""
        assert client.get(url, headers={"If-None-Match": '"other"'}).status_code == 200


def test_a_token_is_never_answered_from_the_anonymous_cache(site: dict[str, Any]) -> None:
    """The writer's token shows their draft; the answer is neither stored for nor taken
    from anonymous callers, and no one else's token gets it."""
    app = site["app"]
    client = app.test_client()
    draft = f"{POSTS}/{site['slugs']['draft']}"
    assert client.get(draft).status_code == 404
    mine = client.get(draft, headers=bearer(site, "writer"))
    assert mine.status_code == 200
    assert mine.get_json()["title"] == "Secret draft"
    assert "private" in mine.headers["Cache-Control"]
    assert client.get(draft).status_code == 404
    assert client.get(draft, headers=bearer(site, "reader")).status_code == 404
    # The writer's drafts in their list: never shared with the anonymous list or others.
    drafts = f"{POSTS}?author=writer&drafts=true"
    for _ in range(2):
        listed = client.get(drafts, headers=bearer(site, "writer")).get_json()["posts"]
        assert "Secret draft" in [post["title"] for post in listed]
    for headers in ({}, bearer(site, "reader")):
        for _ in range(2):
            listed = client.get(drafts, headers=headers).get_json()["posts"]
            assert "Secret draft" not in [post["title"] for post in listed]


def test_a_token_is_checked_even_when_the_page_is_cached(site: dict[str, Any]) -> None:
    """An anonymous answer in the cache must not let a bad token through unchecked."""
    client = site["app"].test_client()
    for url in anonymous_urls(site):
        client.get(url)
        scheme = "Bearer" if url.startswith(POSTS) else "Token"
        answer = client.get(url, headers={"Authorization": f"{scheme} not-a-token"})
        assert answer.status_code == 401, url


def test_conduit_flags_are_each_callers_own(site: dict[str, Any]) -> None:
    """One shared page of articles; favorited/following are added per caller, whoever
    filled the cache first."""
    app = site["app"]
    slug = site["slugs"]["post"]
    change(
        app,
        lambda: services.favorite(user(app, site, "reader"), services.get_post(None, slug)),
    )
    change(
        app,
        lambda: accounts.follow(user(app, site, "reader"), user(app, site, "writer")),
    )
    client = app.test_client()
    reader, other = conduit_token(site, "reader"), conduit_token(site, "other")

    def flags(headers: dict[str, str]) -> tuple[bool, bool, int]:
        article = client.get(ARTICLES, headers=headers).get_json()["articles"][0]
        return article["favorited"], article["author"]["following"], article["favoritesCount"]

    for _ in range(2):  # in every order: anonymous, another caller, the reader
        assert flags({}) == (False, False, 1)
        assert flags(other) == (False, False, 1)
        assert flags(reader) == (True, True, 1)
        assert flags(other) == (False, False, 1)
    change(app, lambda: accounts.unfollow(user(app, site, "reader"), user(app, site, "writer")))
    assert flags(reader) == (True, False, 1)


def test_v1_list_for_a_token_is_the_shared_page(site: dict[str, Any]) -> None:
    """Without drafts the list is the same for every caller: a token holder gets the same
    bytes (and ETag) as anyone, marked private, built once."""
    app = site["app"]
    client = app.test_client()
    anonymous = client.get(POSTS)
    headers = bearer(site, "reader")
    client.get(POSTS, headers=headers)
    with counting(app) as seen:
        mine = client.get(POSTS, headers=headers)
    assert mine.get_data() == anonymous.get_data()
    assert mine.headers["ETag"] == anonymous.headers["ETag"]
    assert "private" in mine.headers["Cache-Control"]
    assert not any("FROM posts" in statement for statement in seen)  # not read again
    assert (
        client.get(POSTS, headers={**headers, "If-None-Match": mine.headers["ETag"]}).status_code
        == 304
    )


# --- every change shows at once ------------------------------------------------------------


def test_api_readers_see_every_change_at_once(site: dict[str, Any]) -> None:
    app = site["app"]
    slug = site["slugs"]["post"]
    client = app.test_client()
    reader = conduit_token(site, "other")
    v1_reader = bearer(site, "other")

    def everything() -> dict[str, Any]:
        return {
            "list": client.get(POSTS).get_json()["posts"],
            "list with token": client.get(POSTS, headers=v1_reader).get_json()["posts"],
            "post": client.get(f"{POSTS}/{slug}").get_json(),
            "articles": client.get(ARTICLES).get_json()["articles"],
            "articles with token": client.get(ARTICLES, headers=reader).get_json()["articles"],
            "article": client.get(f"{ARTICLES}/{slug}").get_json()["article"],
        }

    everything()  # all cached
    second = change(
        app,
        lambda: services.create_post(
            user(app, site, "writer"), title="Second news", body="b", published=True
        ),
    )
    now = everything()
    for key in ("list", "list with token", "articles", "articles with token"):
        assert now[key][0]["title"] == "Second news", key
    change(
        app,
        lambda: services.update_post(
            user(app, site, "writer"), services.get_post(None, slug), title="Edited news"
        ),
    )
    now = everything()
    assert now["post"]["title"] == now["article"]["title"] == "Edited news"
    for key in ("list", "list with token", "articles", "articles with token"):
        assert [p["title"] for p in now[key]] == ["Second news", "Edited news"], key
    # An approved comment: its count, in the post and in the lists.
    change(app, lambda: set_comments_require_approval(user(app, site, "admin"), True))
    comment = change(
        app,
        lambda: services.add_comment(
            user(app, site, "reader"), services.get_post(None, slug), "A thought"
        ),
    )
    assert everything()["post"]["comment_count"] == 0  # waiting for a moderator
    change(app, lambda: services.approve_comment_by_id(user(app, site, "admin"), comment.id))
    now = everything()
    assert now["post"]["comment_count"] == 1
    assert now["list"][1]["comment_count"] == now["list with token"][1]["comment_count"] == 1
    # A favorite: its count, in both APIs, lists and single answers.
    change(
        app,
        lambda: services.favorite(user(app, site, "reader"), services.get_post(None, slug)),
    )
    now = everything()
    assert now["post"]["favorites_count"] == now["list"][1]["favorites_count"] == 1
    assert now["article"]["favoritesCount"] == now["articles"][1]["favoritesCount"] == 1
    assert now["articles with token"][1]["favoritesCount"] == 1
    # An author's profile shows in every post of theirs.
    change(
        app,
        lambda: accounts.update_profile(
            user(app, site, "writer"), user(app, site, "writer"), bio="Writes news."
        ),
    )
    now = everything()
    assert now["post"]["author"]["bio"] == now["list"][0]["author"]["bio"] == "Writes news."
    assert now["article"]["author"]["bio"] == "Writes news."
    # Deleted: gone from the lists, 404 alone.
    change(
        app,
        lambda: services.delete_post(
            user(app, site, "writer"), services.get_post(None, second.slug)
        ),
    )
    now = everything()
    for key in ("list", "list with token", "articles", "articles with token"):
        assert [p["title"] for p in now[key]] == ["Edited news"], key
    assert client.get(f"{POSTS}/{second.slug}").status_code == 404
    assert client.get(f"{ARTICLES}/{second.slug}").status_code == 404


# --- the logged-in home page ---------------------------------------------------------------


def logged_in(app: Flask, email: str) -> FlaskClient:
    client = app.test_client()
    assert login(client, email).status_code == 303
    return client


def test_logged_in_home_is_each_readers_own(site: dict[str, Any]) -> None:
    """The list inside is shared; the page around it (the reader's name, their links) is
    rendered for each reader, and never stored or served to anyone else."""
    app = site["app"]
    with app.app_context():
        emails = {name: user(app, site, name).email for name in ("writer", "reader")}
    writer, reader = logged_in(app, emails["writer"]), logged_in(app, emails["reader"])
    for _ in range(2):
        for client, me, them in ((writer, "writer", "reader"), (reader, "reader", "writer")):
            page = client.get("/")
            html = page.get_data(as_text=True)
            assert f"{me})" in html  # the logged-in name is in the hidden logout label
            assert f"{them})" not in html
            assert "First news" in html
            assert "private" in page.headers["Cache-Control"]
            assert "ETag" not in page.headers
        stranger = app.test_client().get("/").get_data(as_text=True)
        assert "Log out" not in stranger
        assert "First news" in stranger


def test_logged_in_home_shows_the_readers_own_changes_at_once(site: dict[str, Any]) -> None:
    app = site["app"]
    slug = site["slugs"]["post"]
    with app.app_context():
        email = user(app, site, "writer").email
    writer = logged_in(app, email)
    writer.get("/")  # the shared list is cached

    def home() -> str:
        return writer.get("/").get_data(as_text=True)

    change(
        app,
        lambda: services.update_post(
            user(app, site, "writer"), services.get_post(None, slug), title="Edited news"
        ),
    )
    assert "Edited news" in home()
    change(
        app,
        lambda: services.create_post(
            user(app, site, "writer"), title="Brand new", body="b", published=True
        ),
    )
    assert "Brand new" in home()
    change(
        app,
        lambda: services.add_comment(
            user(app, site, "writer"), services.get_post(None, slug), "Me again"
        ),
    )
    assert "1 comment<" in home()
    change(
        app,
        lambda: services.favorite(user(app, site, "writer"), services.get_post(None, slug)),
    )
    assert "1 favorite<" in home()


# --- feeds: each reader's own ---------------------------------------------------------------


def test_feeds_are_each_readers_own_and_follow_their_follows(site: dict[str, Any]) -> None:
    app = site["app"]
    change(app, lambda: accounts.follow(user(app, site, "reader"), user(app, site, "writer")))
    with app.app_context():
        emails = {name: user(app, site, name).email for name in ("reader", "other")}
    browsers = {name: logged_in(app, email) for name, email in emails.items()}
    tokens_of = {name: conduit_token(site, name) for name in ("reader", "other")}
    client = app.test_client()

    def titles(name: str) -> tuple[bool, list[str]]:
        html = browsers[name].get("/blog/feed").get_data(as_text=True)
        assert f"{name})" in html  # their own page around the list
        feed = client.get(f"{ARTICLES}/feed", headers=tokens_of[name]).get_json()["articles"]
        return "First news" in html, [article["title"] for article in feed]

    for _ in range(2):  # in either order, whoever filled the cache first
        assert titles("reader") == (True, ["First news"])
        assert titles("other") == (False, [])
    change(app, lambda: accounts.follow(user(app, site, "other"), user(app, site, "writer")))
    assert titles("other") == (True, ["First news"])
    change(app, lambda: accounts.unfollow(user(app, site, "reader"), user(app, site, "writer")))
    assert titles("reader") == (False, [])
    change(
        app,
        lambda: services.create_post(
            user(app, site, "writer"), title="Later news", body="b", published=True
        ),
    )
    html = browsers["other"].get("/blog/feed").get_data(as_text=True)
    assert "Later news" in html
    assert titles("other")[1] == ["Later news", "First news"]
    assert titles("reader") == (False, [])


def test_cache_control_keeps_each_apis_promise(site: dict[str, Any]) -> None:
    """Conduit answers are never to be kept, with or without a token; v1 answers to a browser
    with a login cookie (which the API ignores) are the public ones."""
    app = site["app"]
    slug = site["slugs"]["post"]
    token = conduit_token(site, "reader")
    client = app.test_client()
    for url in (ARTICLES, f"{ARTICLES}/{slug}"):
        for headers in ({}, token, {}, token):
            assert client.get(url, headers=headers).headers["Cache-Control"] == "no-store", url
    with app.app_context():
        email = user(app, site, "reader").email
    browser = logged_in(app, email)
    for url in (POSTS, f"{POSTS}/{slug}", ARTICLES):
        for _ in range(2):
            answer = browser.get(url)
            assert answer.status_code == 200, url
            expected = "no-store" if url == ARTICLES else "public, max-age=60"
            assert answer.headers["Cache-Control"] == expected, url
