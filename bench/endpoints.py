"""What the benchmark measures: the endpoint list, and the data set facts it needs.

Change :data:`ENDPOINTS` when the pages change. The lists page by cursor ("Older posts"), so
``deep list`` is the last page reached that way: :func:`discover` finds its cursor. Every
endpoint is measured the same way (see bench/run.py).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Connection, func, select

from penpress.accounts.models import Follow, Role, User
from penpress.blog.models import Comment, Post, Tag, post_tags
from penpress.blog.paging import Cursor
from penpress.seeding import GENERATED_EMAIL_DOMAIN, GENERATED_PASSWORD

HERE = Path(__file__).resolve().parent
WRITE_MIX_SCRIPT = HERE / "write_mix.lua"
SEARCH_WORD = "postgresql"  # in about one post in fifty: a search that has to look far
SECOND_WORD = "testing"  # a common tag: the two words together are rarer than either
POSTS_PER_PAGE = 10  # the site's default POSTS_PER_PAGE


@dataclass
class Context:
    """Facts about the data set and the logins that the endpoint URLs and headers use."""

    post_slug: str  # a recent published post with a typical number of comments (3 to 5)
    popular_slug: str  # the published post with the most comments
    tag_slug: str  # the most used tag
    author: str  # the author with the most published posts
    published: int  # published posts
    deep_cursor: str  # the "Older posts" cursor of the list's last page (the oldest posts)
    user_email: str  # a generated author who follows others (for logins)
    user_name: str
    password: str = GENERATED_PASSWORD
    session_cookie: str = ""  # set after logging in through the real form
    conduit_token: str = ""
    bearer_token: str = ""

    @property
    def last_page(self) -> int:
        return max(math.ceil(self.published / POSTS_PER_PAGE), 1)


@dataclass(frozen=True)
class Endpoint:
    name: str
    url: Callable[[Context], str]
    auth: str = "none"  # none | session | conduit | bearer
    expect: int = 200
    expect_text: Callable[[Context], str] | None = None  # must be in the probe's body
    script: Path | None = None  # a wrk Lua script: the endpoint writes
    script_args: Callable[[Context], list[str]] | None = None

    @property
    def writes(self) -> bool:
        return self.script is not None


ENDPOINTS: list[Endpoint] = [
    Endpoint("home", lambda c: "/"),
    Endpoint("list", lambda c: "/blog/"),
    Endpoint("deep list", lambda c: f"/blog/?cursor={c.deep_cursor}"),
    Endpoint("post page", lambda c: f"/blog/post/{c.post_slug}"),
    Endpoint("popular post page", lambda c: f"/blog/post/{c.popular_slug}"),
    Endpoint("tag page", lambda c: f"/blog/tag/{c.tag_slug}"),
    Endpoint("author page", lambda c: f"/blog/author/{c.author}"),
    Endpoint("site feed", lambda c: "/feed.xml"),
    Endpoint("search", lambda c: f"/search?q={SEARCH_WORD}"),
    Endpoint("home, logged in", lambda c: "/", auth="session", expect_text=lambda c: c.user_name),
    # Logged in, pages bypass the page cache: these measure the post page and the search
    # index themselves (the yardstick: search within 3x the post page's latency).
    Endpoint(
        "post page, logged in",
        lambda c: f"/blog/post/{c.post_slug}",
        auth="session",
        expect_text=lambda c: c.user_name,
    ),
    Endpoint(
        "search, logged in",
        lambda c: f"/search?q={SEARCH_WORD}",
        auth="session",
        expect_text=lambda c: "<mark>",  # found something, highlighted
    ),
    Endpoint(
        "search two words, logged in",
        lambda c: f"/search?q={SEARCH_WORD}+{SECOND_WORD}",
        auth="session",
        expect_text=lambda c: "<mark>",
    ),
    Endpoint(
        "your feed, logged in",
        lambda c: "/blog/feed",
        auth="session",
        expect_text=lambda c: 'class="post-card"',  # the user follows authors
    ),
    Endpoint("api posts", lambda c: "/api/v1/posts"),
    Endpoint("api post", lambda c: f"/api/v1/posts/{c.post_slug}"),
    Endpoint("api search", lambda c: f"/api/v1/posts?q={SEARCH_WORD}"),
    Endpoint("conduit articles", lambda c: "/realworld/api/articles"),
    # With a token: never the anonymous page cache; the page of posts shared by every caller
    # (page_cache.shared_value), plus the caller's own flags (Conduit: favorited, following).
    Endpoint("api posts, token", lambda c: "/api/v1/posts", auth="bearer"),
    Endpoint("conduit articles, token", lambda c: "/realworld/api/articles", auth="conduit"),
    Endpoint(
        "conduit feed",
        lambda c: "/realworld/api/articles/feed",
        auth="conduit",
        expect_text=lambda c: '"slug"',  # the user follows authors, so the feed has articles
    ),
    # Last: it adds posts and comments. Half the requests create a post, half comment.
    Endpoint(
        "write mix (api)",
        lambda c: "/api/v1/posts",
        auth="bearer",
        expect=201,
        script=WRITE_MIX_SCRIPT,
        script_args=lambda c: [c.bearer_token, c.post_slug],
    ),
]


def select_endpoints(names: list[str] | None) -> list[Endpoint]:
    """The endpoints named (all when ``names`` is empty), writes always last."""
    chosen = [e for e in ENDPOINTS if not names or e.name in names]
    unknown = set(names or ()) - {e.name for e in ENDPOINTS}
    if unknown:
        known = ", ".join(repr(e.name) for e in ENDPOINTS)
        raise SystemExit(f"unknown endpoint(s) {sorted(unknown)}; known: {known}")
    return [e for e in chosen if not e.writes] + [e for e in chosen if e.writes]


def discover(connection: Connection) -> Context:
    """Find a popular post, the busiest tag and author, and a user to log in as."""
    published = Post.published.is_(True)
    approved = func.count(Comment.id)
    per_post = (
        select(Comment.post_id, approved.label("comments"))
        .where(Comment.approved.is_(True))
        .group_by(Comment.post_id)
        .subquery()
    )
    post_slug = connection.scalar(
        select(Post.slug)
        .join(per_post, per_post.c.post_id == Post.id)
        .where(published, per_post.c.comments.between(3, 5))
        .order_by(Post.id.desc())
        .limit(1)
    )
    popular_slug = connection.scalar(
        select(Post.slug)
        .join(per_post, per_post.c.post_id == Post.id)
        .where(published)
        .order_by(per_post.c.comments.desc(), Post.id)
        .limit(1)
    )
    uses = func.count(post_tags.c.post_id)
    tag_slug = connection.scalar(
        select(Tag.slug)
        .join(post_tags, post_tags.c.tag_id == Tag.id)
        .group_by(Tag.id, Tag.slug)
        .order_by(uses.desc(), Tag.slug)
        .limit(1)
    )
    posts = func.count(Post.id)
    author = connection.scalar(
        select(User.username)
        .join(Post, Post.author_id == User.id)
        .where(published)
        .group_by(User.id, User.username)
        .order_by(posts.desc(), User.username)
        .limit(1)
    )
    follows = func.count(Follow.followed_id)
    user = connection.execute(
        select(User.email, User.username)
        .join(Role, Role.id == User.role_id)
        .join(Follow, Follow.follower_id == User.id)
        .where(User.email.endswith("@" + GENERATED_EMAIL_DOMAIN), Role.name == "author")
        .group_by(User.id, User.email, User.username)
        .order_by(follows.desc(), User.id)
        .limit(1)
    ).first()
    count = connection.scalar(select(func.count(Post.id)).where(published))
    # The list's last page: the posts older than the (page size + 1)th oldest published one.
    boundary = connection.execute(
        select(Post.published_at, Post.id)
        .where(published)
        .order_by(Post.published_at, Post.id)
        .offset(POSTS_PER_PAGE)
        .limit(1)
    ).first()
    if not (post_slug and popular_slug and tag_slug and author and user and boundary):
        raise SystemExit("the data set has no published posts, tags or generated authors")
    return Context(
        post_slug=post_slug,
        popular_slug=popular_slug,
        tag_slug=tag_slug,
        author=author,
        published=int(count or 0),
        deep_cursor=Cursor(at=_aware(boundary.published_at), id=boundary.id).encode(),
        user_email=user.email,
        user_name=user.username,
    )


def _aware(moment: datetime) -> datetime:
    """A timestamp as the app reads it: aware UTC (SQLite hands back naive UTC in Core)."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
