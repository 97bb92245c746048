"""No N+1 on the site: every list page and the post page run as many SQL queries for 3 posts
(or comments) as for 20, with several authors, tags, comments and favorites in play."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from penpress.accounts.models import Follow, User
from penpress.blog.models import Favorite, Post
from penpress.extensions import db
from tests.factories import recount_for_tests
from tests.pages import login

PAGES = [
    "/",
    "/blog/",
    "/search?q=post",
    "/blog/tag/common",
    "/blog/author/star",
    "/blog/my-posts",
    "/blog/feed",
    "/blog/post/{slug}",
]


class Site:
    """Grows the same shape of data step by step: posts by the viewer, by a followed author
    and by one-off authors, each tagged and commented on by different people."""

    def __init__(self, app: Flask, make: Any):
        self.app = app
        self.make = make
        self.posts = 0
        with app.app_context():
            self.me = make.user(username="me")
            self.star = make.user(username="star")
            db.session.add(Follow(follower_id=self.me.id, followed_id=self.star.id))
            self.showcase = make.post(author=self.me, title="Showcase", tags=["common"])
            db.session.commit()

    def grow_to(self, n: int) -> None:
        with self.app.app_context():
            # Objects made in another app context belong to another session: load them here.
            me, star = db.session.get(User, self.me.id), db.session.get(User, self.star.id)
            showcase = db.session.get(Post, self.showcase.id)
            for i in range(self.posts, n):
                stranger = self.make.user()
                for author, published in ((me, i % 3 != 0), (star, True), (stranger, True)):
                    post = self.make.post(
                        author=author, published=published, tags=["common", f"topic-{i}"]
                    )
                    if published:
                        self.make.comment(post=post, approved=True)
                        self.make.comment(post=post, approved=False)
                        db.session.add(Favorite(user_id=me.id, post_id=post.id))
                # The showcase post gains comments by different people, some pending.
                self.make.comment(post=showcase, approved=i % 2 == 0)
            db.session.commit()
            recount_for_tests()  # the favorites above skipped the services
        self.posts = n


# The site settings' generation, and the settings (the tests' cache is a NullCache; with a
# real one, a page reads the generation alone: tests/test_site_identity.py).
SETTINGS = 2


def queries_per_page(
    client: FlaskClient, count_queries: Callable[[], Any], slug: str
) -> dict[str, int]:
    counts = {}
    for page in PAGES:
        url = page.format(slug=slug)
        assert client.get(url).status_code == 200, url  # warm up
        with count_queries() as queries:
            response = client.get(url)
        assert response.status_code == 200, url
        counts[url] = len(queries)
    return counts


@pytest.fixture
def big_pages(app, monkeypatch):
    # Every post on one page, so a page of 20 really renders 20 (times 3) posts.
    monkeypatch.setitem(app.config, "POSTS_PER_PAGE", 100)


@pytest.mark.usefixtures("big_pages")
def test_pages_run_the_same_queries_for_3_and_20_posts(app, client, make, count_queries):
    site = Site(app, make)
    assert login(client, site.me.email).status_code == 303
    site.grow_to(3)
    few = queries_per_page(client, count_queries, site.showcase.slug)
    site.grow_to(20)
    many = queries_per_page(client, count_queries, site.showcase.slug)
    assert many == few
    # A read page costs at most 4 queries (the login's own included), plus the header
    # navigation's static pages (one query, from the cache in production), plus the site
    # settings every page shows: their generation, and (the settings cache being off in these
    # tests) the settings themselves, once per request. The author page also asks whether the
    # reader follows the author, the post page whether they favorite the post and follow its
    # author.
    extra = {"/blog/author/star": 1, f"/blog/post/{site.showcase.slug}": 2}
    over = {url: n for url, n in many.items() if n > 5 + SETTINGS + extra.get(url, 0)}
    assert not over, many
    # And the pages really did grow: 20 of the star's posts on the author page.
    html = client.get("/blog/author/star").get_data(as_text=True)
    assert html.count('class="post-card"') == 20


@pytest.mark.usefixtures("big_pages")
def test_anonymous_pages_run_the_same_queries_for_3_and_20_posts(app, client, make, page_queries):
    site = Site(app, make)
    site.grow_to(3)
    public = [p for p in PAGES if p not in ("/blog/my-posts", "/blog/feed")]

    def measure() -> dict[str, int]:
        # Rendered each time (page_queries turns the page cache off), after a warm-up.
        urls = [page.format(slug=site.showcase.slug) for page in public]
        return {url: page_queries(client, url) for url in urls}

    few = measure()
    site.grow_to(20)
    assert measure() == few
    # Rendered for an anonymous reader (the page cache aside): at most 4 queries a page, and
    # the header navigation's static pages (from the cache in production; these tests have
    # none), and the settings.
    assert max(few.values()) <= 5 + SETTINGS, few
