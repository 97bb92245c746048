"""Keyset paging: "Older posts" / "Newer posts" by cursor on the site and ``cursor`` /
``next_cursor`` in the API, without gaps or repeats while posts are published in between;
page numbers bounded in depth; and list queries that an index serves (no full scan of posts,
no sort of the whole table)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import event, text

from penpress.accounts.models import Follow, User
from penpress.blog import paging, services
from penpress.database import utcnow
from penpress.extensions import db
from tests.conftest import Make, postgres_backend
from tests.pages import login, newer_link, older_link

CARD_TITLE = re.compile(r'class="post-card-title"[^>]*>\s*<a href="[^"]+">([^<]+)</a>')


def titles(html: str) -> list[str]:
    return CARD_TITLE.findall(html)


def write(make: Make, author: Any, n: int, prefix: str = "Post", **kwargs: Any) -> None:
    for i in range(n):
        make.post(author=author, title=f"{prefix} {i:03d}", **kwargs)


def test_older_links_walk_every_post_once_while_new_ones_appear(
    app: Flask, client: FlaskClient, make: Make
) -> None:
    author = make.user(username="steady")
    write(make, author, 25, "Old")
    seen: list[str] = []
    url: str | None = "/blog/"
    new = 0
    while url:
        html = client.get(url).get_data(as_text=True)
        seen += titles(html)
        # Someone publishes between every two requests: the next "Older" page is unaffected.
        make.post(author=author, title=f"New {new}")
        new += 1
        url = older_link(html)
    assert seen == [f"Old {i:03d}" for i in reversed(range(25))]
    # The same by author and by tag, through the same cursors.
    for start in ("/blog/author/steady",):
        url, found = start, []
        while url:
            html = client.get(url).get_data(as_text=True)
            found += titles(html)
            url = older_link(html)
        assert len(found) == len(set(found)) == 25 + new


def test_newer_links_lead_back_to_the_first_page(
    app: Flask, client: FlaskClient, make: Make
) -> None:
    write(make, make.user(), 23, "Entry", tags=["t"])
    first = client.get("/blog/tag/t").get_data(as_text=True)
    second_url = older_link(first)
    assert second_url is not None
    second = client.get(second_url).get_data(as_text=True)
    third_url = older_link(second)
    assert third_url is not None
    third = client.get(third_url).get_data(as_text=True)
    assert len(titles(third)) == 3
    assert older_link(third) is None
    back = newer_link(third)
    assert back is not None
    assert titles(client.get(back).get_data(as_text=True)) == titles(second)
    back_again = newer_link(second)
    assert back_again is not None
    assert titles(client.get(back_again).get_data(as_text=True)) == titles(first)
    assert newer_link(first) is None
    # By page number, "Newer" from page 2 is the first page's own address.
    assert newer_link(client.get("/blog/tag/t?page=2").get_data(as_text=True)) == "/blog/tag/t"


def test_the_api_pages_by_cursor_without_gaps_or_repeats(client: FlaskClient, make: Make) -> None:
    author = make.user()
    write(make, author, 12, "Api")
    body = client.get("/api/v1/posts?per_page=5").get_json()
    assert body["page"] == 1
    seen = [p["title"] for p in body["posts"]]
    while body["next_cursor"]:
        make.post(author=author, title=f"Interloper {len(seen)}")
        cursor = body["next_cursor"]
        body = client.get(f"/api/v1/posts?per_page=5&cursor={cursor}").get_json()
        assert body["page"] is None
        assert body["links"]["next"] is None or "cursor=" in body["links"]["next"]
        seen += [p["title"] for p in body["posts"]]
    assert seen == [f"Api {i:03d}" for i in reversed(range(12))]
    assert body["prev_cursor"] is not None
    back = client.get(f"/api/v1/posts?per_page=5&cursor={body['prev_cursor']}").get_json()
    assert [p["title"] for p in back["posts"]] == [
        "Api 006",
        "Api 005",
        "Api 004",
        "Api 003",
        "Api 002",
    ]


NOT_A_CURSOR = "This is not a cursor from a previous page."


@pytest.mark.parametrize(
    ("cursor", "message", "site_status"),
    [
        ("nonsense", NOT_A_CURSOR, 422),
        ("b:1:2", NOT_A_CURSOR, 422),
        ("x" * 100, NOT_A_CURSOR, 422),
        ("bzox", NOT_A_CURSOR, 422),
        # A NUL character: the API names the field, the site answers "malformed" (400).
        ("%00", "must not contain NUL characters", 400),
    ],
)
def test_a_cursor_not_made_by_us_is_a_clear_4xx(
    client: FlaskClient, make: Make, cursor: str, message: str, site_status: int
) -> None:
    make.post()
    api = client.get(f"/api/v1/posts?cursor={cursor}")
    assert api.status_code == 422
    assert api.get_json()["error"]["details"] == {"cursor": [message]}
    assert client.get(f"/blog/?cursor={cursor}").status_code == site_status


def test_page_numbers_stop_at_the_depth_limit(
    client: FlaskClient, make: Make, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Offsets read (and discard) every row before the page, so they have a floor; past it
    the answer points at the cursor, which costs the same at any depth."""
    monkeypatch.setattr(paging, "MAX_OFFSET_ROWS", 10)
    write(make, make.user(), 25, "Deep")
    assert len(client.get("/api/v1/posts?per_page=5&page=3").get_json()["posts"]) == 5
    too_deep = client.get("/api/v1/posts?per_page=5&page=4")
    assert too_deep.status_code == 422
    assert "cursor" in too_deep.get_json()["error"]["details"]["page"][0]
    body = client.get("/api/v1/posts?per_page=5&page=3").get_json()
    assert "cursor=" in body["links"]["next"]  # page 4 is too deep: the link uses the cursor
    assert body["links"]["last"].endswith("page=3&per_page=5")
    past_the_end = client.get("/api/v1/posts?per_page=5&page=99").get_json()
    assert past_the_end["posts"] == []
    html = client.get("/blog/?page=5").get_data(as_text=True)
    assert "Pages this deep are not listed by number" in html
    assert 'class="post-card"' not in html
    conduit = client.get("/realworld/api/articles?limit=5&offset=15")
    assert conduit.status_code == 422
    assert "offset" in conduit.get_json()["errors"]
    assert client.get("/realworld/api/articles?offset=25").get_json() == {
        "articles": [],
        "articlesCount": 25,
    }


# --- the plans: an index serves every list ------------------------------------------------


@contextmanager
def statements(app: Flask) -> Iterator[list[tuple[str, Any]]]:
    seen: list[tuple[str, Any]] = []

    def record(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        seen.append((statement, parameters))

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


def list_filters(make: Make) -> dict[str, tuple[Any, services.PostFilter]]:
    """A site with enough authors, tags and follows for every kind of list."""
    authors = [make.user(username=f"writer{n}") for n in range(3)]
    reader = make.user(username="few")
    fan = make.user(username="many")
    for n in range(6):
        make.post(author=authors[n % 3], tags=["common", f"t{n}"])
    db.session.add(Follow(follower_id=reader.id, followed_id=authors[0].id))
    db.session.commit()
    few = db.session.get(User, reader.id)
    return {
        "all": (None, services.PostFilter()),
        "tag": (None, services.PostFilter(tag="common")),
        "author": (None, services.PostFilter(author="writer1")),
        "feed of few": (few, services.PostFilter(followed_by=few)),
        "feed of many": (fan, services.PostFilter(followed_by=db.session.get(User, fan.id))),
    }


def sqlite_plan(statement: str, parameters: Any) -> list[str]:
    cursor = db.session.connection().connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    cursor.execute("EXPLAIN QUERY PLAN " + statement, parameters)
    return [str(row[-1]) for row in cursor.fetchall()]


@pytest.mark.skipif(postgres_backend(), reason="SQLite's planner; PostgreSQL's has its own test")
@pytest.mark.skip_allowed_in_ci(reason="SQLite's planner; PostgreSQL's plans have their own test")
def test_sqlite_lists_read_an_index_in_order(
    app: Flask, ctx: None, make: Make, monkeypatch: pytest.MonkeyPatch
) -> None:
    from penpress.blog.services import posts as post_services

    found = list_filters(make)
    monkeypatch.setattr(post_services, "FEED_FAN_OUT", 2)
    db.session.add_all(
        Follow(follower_id=found["feed of many"][0].id, followed_id=u.id)
        for u in db.session.query(User).filter(User.username.like("writer%"))
    )
    db.session.commit()
    far = services.Cursor(utcnow() + timedelta(days=1), 10**9)
    for name, (viewer, filters) in found.items():
        for kwargs in ({}, {"cursor": far}, {"page": 2}):
            with statements(app) as seen:
                services.list_posts(viewer, filters, per_page=2, **kwargs)
            (statement, parameters) = next(
                (s, p) for s, p in seen if "FROM posts" in s and "ORDER BY" in s
            )
            plan = sqlite_plan(statement, parameters)
            assert not [step for step in plan if step.startswith("SCAN posts")], (name, plan)
            if name == "feed of few":
                # Each followed author's newest posts, from their index; only those few are
                # merged (a sort of at most authors x page size rows).
                assert any("ix_posts_author_id_published" in step for step in plan), plan
            else:
                assert not [step for step in plan if "TEMP B-TREE" in step], (name, plan)
            db.session.rollback()


@pytest.mark.postgres
@pytest.mark.skipif(not postgres_backend(), reason="runs on the PostgreSQL pass")
def test_postgres_lists_never_scan_posts_at_100000_rows(app: Flask, ctx: None, make: Make) -> None:
    found = list_filters(make)
    db.session.execute(
        text(
            "INSERT INTO posts (title, slug, summary, body, body_html, published, published_at,"
            " created_at, updated_at, views, author_id, comment_count, favorites_count)"
            " SELECT 'Bulk ' || n, 'bulk-' || n, '', 'b', '<p>b</p>', n % 10 <> 0,"
            " CASE WHEN n % 10 <> 0 THEN now() - n * interval '1 minute' END,"
            " now() - n * interval '1 minute', now(), 0,"
            " (SELECT id FROM users ORDER BY id LIMIT 1 OFFSET n % 3), 0, 0"
            " FROM generate_series(1, 100000) AS n"
        )
    )
    db.session.execute(
        text(
            "INSERT INTO post_tags (post_id, tag_id, published, published_at)"
            " SELECT p.id, (SELECT id FROM tags WHERE name = 'common'), p.published,"
            " p.published_at FROM posts p WHERE p.slug LIKE 'bulk-%' AND p.id % 7 = 0"
        )
    )
    db.session.commit()
    db.session.execute(text("ANALYZE"))
    far = services.Cursor(utcnow() + timedelta(days=1), 10**9)
    for name, (viewer, filters) in found.items():
        for kwargs in ({}, {"cursor": far}, {"page": 50}):
            with statements(app) as seen:
                services.list_posts(viewer, filters, per_page=10, **kwargs)
            (statement, parameters) = next(
                (s, p) for s, p in seen if "FROM posts" in s and "ORDER BY" in s
            )
            cursor = db.session.connection().connection.dbapi_connection.cursor()  # type: ignore[union-attr]
            cursor.execute("EXPLAIN " + statement, parameters)
            plan = "\n".join(str(row[0]) for row in cursor.fetchall())
            assert "Seq Scan on posts" not in plan, (name, kwargs, plan)
            db.session.rollback()


# --- a post's comments, a page at a time --------------------------------------------------


@pytest.fixture
def short_pages(monkeypatch: pytest.MonkeyPatch) -> int:
    from penpress.blog.services import comments as comment_services

    monkeypatch.setattr(comment_services, "COMMENTS_PER_PAGE", 3)
    monkeypatch.setattr(services, "COMMENTS_PER_PAGE", 3)
    return 3


def test_comments_come_a_page_at_a_time(
    app: Flask, client: FlaskClient, make: Make, short_pages: int
) -> None:
    with app.app_context():
        post = make.post()
        for n in range(8):
            make.comment(post=post, body=f"Remark {n}")
    seen: list[str] = []
    url: str | None = f"/blog/post/{post.slug}"
    while url:
        html = client.get(url).get_data(as_text=True)
        page = re.findall(r'class="comment-body">([^<]+)<', html)
        assert len(page) <= short_pages
        seen += page
        found = re.search(r'href="([^"]+)" rel="next">Later comments', html)
        url = found.group(1).replace("&amp;", "&") if found else None
    assert seen == [f"Remark {n}" for n in range(8)]
    assert "8 comments" in html  # the count is the post's, not the page's

    api = client.get(f"/api/v1/posts/{post.slug}/comments?limit=5").get_json()
    assert len(api["comments"]) == 3  # at most COMMENTS_PER_PAGE
    walked = [c["body"] for c in api["comments"]]
    while api["next_cursor"]:
        api = client.get(
            f"/api/v1/posts/{post.slug}/comments?cursor={api['next_cursor']}"
        ).get_json()
        walked += [c["body"] for c in api["comments"]]
    assert walked == seen
    conduit = client.get(f"/realworld/api/articles/{post.slug}/comments").get_json()
    assert [c["body"] for c in conduit["comments"]] == seen[:3]


def test_a_new_comment_in_a_long_thread_opens_its_page(
    app: Flask, client: FlaskClient, make: Make, short_pages: int
) -> None:
    with app.app_context():
        post = make.post()
        for n in range(5):
            make.comment(post=post, body=f"Earlier {n}")
    reader = make.user(role_name="moderator")  # never held for approval
    assert login(client, reader.email).status_code == 303
    response = client.post(f"/blog/post/{post.slug}/comment", data={"body": "The newest word"})
    assert response.status_code == 303
    target = response.headers["Location"]
    assert "comments=" in target
    assert "The newest word" in client.get(target).get_data(as_text=True)
