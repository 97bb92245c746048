"""The bulk loader behind ``flask --app penpress seed-db`` (penpress.seeding).

These run on whichever database the suite runs on (SQLite, then PostgreSQL with COPY), plus
counter columns tried on a copy of the schema that has them.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from flask import Flask
from slugify import slugify
from sqlalchemy import (
    Column,
    Engine,
    Integer,
    MetaData,
    create_engine,
    event,
    func,
    insert,
    inspect,
    select,
    text,
)

from penpress.accounts.models import ROLE_PERMISSIONS, User
from penpress.blog import counts, search
from penpress.blog.models import Comment, Favorite, Post, Tag, post_tags
from penpress.extensions import db
from penpress.seeding import (
    GENERATED_EMAIL_DOMAIN,
    GENERATED_PASSWORD,
    SeedError,
    SeedPlan,
    bulk_load,
    content,
    counter_columns,
)
from tests.blog.test_search import assert_index_in_step

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def app_like_engine(url: str) -> Engine:
    """An engine whose SQLite connections get the app's PRAGMAs (WAL, foreign keys)."""
    from penpress.database import _sqlite_pragmas

    engine = create_engine(url)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def _count(model_or_table: object) -> int:
    return int(db.session.scalar(select(func.count()).select_from(model_or_table)) or 0)


def _orphans(metadata: MetaData, connection_scalar: object) -> dict[str, int]:
    """Rows whose foreign key points at no row, per ``table.column``."""
    found = {}
    for table in metadata.sorted_tables:
        for fk in table.foreign_keys:
            parent = fk.column.table
            stmt = (
                select(func.count())
                .select_from(table.outerjoin(parent, fk.parent == fk.column))
                .where(fk.parent.is_not(None), fk.column.is_(None))
            )
            found[f"{table.name}.{fk.parent.name}"] = int(connection_scalar(stmt) or 0)  # type: ignore[operator]
    return found


def test_seed_db_loads_realistic_content_in_bulk(app: Flask) -> None:
    assert app.test_client().get("/").status_code == 200  # caches the (empty) tag list
    result = app.test_cli_runner().invoke(args=["seed-db", "--posts", "2000"])
    assert result.exit_code == 0, result.output
    assert "Seeded 2000 posts and 6000 comments." in result.output
    assert "admin@example.com" in result.output  # the demo accounts, as before
    assert GENERATED_PASSWORD in result.output
    with app.app_context():
        # Row counts: 40 accounts in all (5 demo + 35 generated), 3 comments and 1.5
        # favorites per post, 10 follows per generated account.
        assert _count(User) == 40
        assert _count(Post) == 2000
        assert _count(Comment) == 6000
        assert _count(Favorite) == 3000
        assert _count(text("follows")) == 350
        assert all(n == 0 for n in _orphans(db.metadata, db.session.scalar).values())
        # Every counter and post_tags copy the services keep, as a recount finds them.
        loaded = counts.snapshot()
        counts.recount()
        assert counts.snapshot() == loaded
        db.session.rollback()
        # The search index holds every post with its tag names, and keeps indexing new ones.
        python_posts = _count(
            select(post_tags.c.post_id)
            .join(Tag, Tag.id == post_tags.c.tag_id)
            .join(Post, Post.id == post_tags.c.post_id)
            .where(Tag.slug == "python", Post.published.is_(True))
            .subquery()
        )
        matching = _count(select(Post.id).where(search.matches(["python"])).subquery())
        assert matching >= python_posts > 0
        if db.engine.dialect.name == "sqlite":
            assert_index_in_step()
            triggers = db.session.scalars(
                text("SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'posts'")
            ).all()
            assert {fts.insert_trigger for fts in search.FTS_TABLES} <= set(triggers)

        # One password hash for every generated account, and it is the documented password.
        hashes = db.session.scalars(
            select(User.password_hash)
            .where(User.email.endswith("@" + GENERATED_EMAIL_DOMAIN))
            .distinct()
        ).all()
        assert len(hashes) == 1
        from werkzeug.security import check_password_hash

        assert check_password_hash(hashes[0], GENERATED_PASSWORD)

        # Mostly published, some drafts, spread over years; titles varied, slugs as the
        # services would make them.
        published = _count(select(Post.id).where(Post.published.is_(True)).subquery())
        assert 0.85 * 2000 < published < 0.97 * 2000
        # The review status agrees with the flag readers go by.
        statuses = db.session.execute(select(Post.published, Post.status).distinct()).all()
        assert set(statuses) == {(True, "published"), (False, "draft")}
        first, last = db.session.execute(
            select(func.min(Post.published_at), func.max(Post.published_at))
        ).one()
        assert (last - first).days > 3 * 365
        assert (
            _count(
                select(Post.id)
                .where(Post.published.is_(False), Post.published_at.is_not(None))
                .subquery()
            )
            == 0
        )
        # Every published post went live already: the went-live step queues no job for them.
        from penpress.blog.services.posts import mark_due_posts_live

        assert mark_due_posts_live() == []
        db.session.rollback()
        titles = db.session.execute(select(Post.title, Post.slug)).all()
        assert len({title for title, _ in titles}) > 0.9 * len(titles)
        for title, slug in titles[:300]:
            base = slugify(title, max_length=200, word_boundary=True)
            assert slug == base or (slug.startswith(base + "-") and slug[len(base) + 1 :].isdigit())
        bodies = db.session.scalar(select(func.count(func.distinct(Post.body))))
        assert bodies > 200
        assert db.session.scalar(select(func.min(func.length(Post.body)))) > 500
        assert "<h2" in db.session.scalar(select(Post.body_html).limit(1))

        # Tags: 1 to 5 per post, a long tail over a few hundred tags.
        per_post = (
            db.session.execute(
                select(func.count()).select_from(post_tags).group_by(post_tags.c.post_id)
            )
            .scalars()
            .all()
        )
        assert len(per_post) == 2000
        assert min(per_post) >= 1
        assert max(per_post) <= 5
        tag_sizes = sorted(
            db.session.execute(
                select(func.count()).select_from(post_tags).group_by(post_tags.c.tag_id)
            ).scalars(),
            reverse=True,
        )
        assert len(tag_sizes) > 150
        assert tag_sizes[0] > 10 * tag_sizes[len(tag_sizes) // 2]

        # Comments only on published posts, mostly approved, never before the post.
        approved = _count(select(Comment.id).where(Comment.approved.is_(True)).subquery())
        assert 0.75 * 6000 < approved < 0.95 * 6000
        early = (
            select(Comment.id)
            .join(Post, Post.id == Comment.post_id)
            .where((Post.published.is_(False)) | (Comment.created_at < Post.published_at))
        )
        assert _count(early.subquery()) == 0
        # Favorites are skewed towards popular posts.
        top = db.session.scalar(
            select(func.count())
            .select_from(Favorite)
            .group_by(Favorite.post_id)
            .order_by(func.count().desc())
            .limit(1)
        )
        assert top > 10 * 1.5

        post = db.session.execute(
            select(Post.slug, Post.comment_count)
            .where(Post.published.is_(True))
            .order_by(Post.views.desc())
            .limit(1)
        ).one()
        tag_slug = db.session.scalar(select(Tag.slug).order_by(Tag.id.desc()).limit(1))
        author = db.session.scalar(
            select(User.username).join(Post, Post.author_id == User.id).limit(1)
        )

    client = app.test_client()
    for path in (
        "/",
        "/blog/",
        "/blog/?page=150",
        f"/blog/post/{post.slug}",
        f"/blog/tag/{tag_slug}",
        f"/blog/author/{author}",
        "/feed.xml",
        "/api/v1/posts",
        f"/api/v1/posts/{post.slug}",
        "/realworld/api/articles",
    ):
        response = client.get(path)
        assert response.status_code == 200, path
    with app.app_context():  # the cached tag list of the home page was not left stale
        from penpress.blog.services.tags import tags_with_counts

        assert len(tags_with_counts()) > 150
    api_post = client.get(f"/api/v1/posts/{post.slug}").get_json()
    assert api_post["comment_count"] == post.comment_count > 0


def test_seed_db_appends_to_a_database_with_content(app: Flask) -> None:
    runner = app.test_cli_runner()
    empty = runner.invoke(args=["seed-db", "--posts", "0"])
    assert "Seeded 0 posts and 0 comments." in empty.output
    with app.app_context():
        assert _count(Tag) == 0
    args = ["seed-db", "--posts", "300", "--users", "25"]
    assert runner.invoke(args=args).exit_code == 0
    again = runner.invoke(args=args)  # the same seed: same names and titles, made unique
    assert again.exit_code == 0, again.output
    assert "already existed" in again.output
    with app.app_context():
        assert _count(Post) == 600
        assert _count(User) == 5 + 2 * 20
        assert _count(Comment) == 1800
        assert db.session.scalar(select(func.count(func.distinct(Post.slug)))) == 600
        # Reused by slug, not duplicated; none made without a post.
        used = db.session.scalar(select(func.count(func.distinct(post_tags.c.tag_id))))
        assert _count(Tag) == used > 100
        assert all(n == 0 for n in _orphans(db.metadata, db.session.scalar).values())
        # The site still writes posts after a load (the id sequences moved on).
        from tests import factories

        factories.PostFactory()


def test_seed_db_refuses_a_database_without_roles(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'bare.db'}")
    Post.metadata.create_all(engine)
    with pytest.raises(SeedError, match="init-db"):
        bulk_load(engine, SeedPlan.for_posts(10), password_hash="x")
    engine.dispose()


def test_tag_slugs_are_unique_and_titles_slugify_cleanly() -> None:
    slugs = [slugify(name, max_length=80) for name in content.TAGS]
    assert len(set(slugs)) == len(slugs) >= 300
    assert all(slugs)


# --- counter columns ---------------------------------------------------------------------


def _schema_with_counters() -> MetaData:
    """A copy of the app's schema with the counter columns a later migration may add."""
    metadata = MetaData()
    for table in Post.metadata.sorted_tables:
        table.to_metadata(metadata)
    extra = {
        "posts": ("comment_count", "favorites_count"),
        "tags": ("post_count",),
        "users": ("followers_count", "following_count"),
    }
    for table_name, names in extra.items():
        for name in names:
            if name in metadata.tables[table_name].c:
                continue  # the schema has it already
            column = Column(name, Integer, nullable=False, server_default="0")
            metadata.tables[table_name].append_column(column)
    return metadata


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def counter_engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    if request.param == "postgres":
        server = request.getfixturevalue("postgres_server")
        url = server.create_database(f"counters_{abs(hash(tmp_path)) % 10**8}")
    else:
        url = f"sqlite:///{tmp_path / 'counters.db'}"
    engine = app_like_engine(url)
    yield engine
    engine.dispose()


def test_counter_columns_are_filled_from_the_generated_rows(counter_engine: Engine) -> None:
    metadata = _schema_with_counters()
    metadata.create_all(counter_engine)
    roles = metadata.tables["roles"]
    with counter_engine.begin() as connection:
        connection.execute(
            insert(roles), [{"name": n, "permissions": int(p)} for n, p in ROLE_PERMISSIONS.items()]
        )
    assert set(counter_columns(metadata.tables["posts"]).values()) == {
        "comment_count",
        "favorites_count",
    }
    sqlite = counter_engine.dialect.name == "sqlite"
    pragmas = ("journal_mode", "synchronous", "foreign_keys", "cache_size")
    if sqlite:
        with counter_engine.connect() as connection:
            before = [connection.exec_driver_sql(f"PRAGMA {p}").scalar() for p in pragmas]
    # The second load adds to the counters of existing tags and accounts; the first one
    # drops the secondary indexes and builds them again at the end, the second keeps them.
    # The second one also writes through plain Core insert(), the path other databases take.
    for defer in (True, False):
        plan = SeedPlan.for_posts(600, users=30, defer_indexes=defer)
        report = bulk_load(
            counter_engine, plan, metadata, password_hash="x", now=NOW, core_only=not defer
        )
    if sqlite:  # the load's PRAGMAs were put back on the (pooled) connection it used
        assert counter_engine.pool.checkedin() == 1
        with counter_engine.connect() as connection:
            after = [connection.exec_driver_sql(f"PRAGMA {p}").scalar() for p in pragmas]
        assert after == before
        assert before[0] == "wal"
    for name in ("posts", "comments", "post_tags", "favorites", "follows", "users"):
        expected = {index.name for index in metadata.tables[name].indexes}
        assert expected <= {i["name"] for i in inspect(counter_engine).get_indexes(name)}
    assert "posts.comment_count" in report.counters
    assert "tags.post_count" in report.counters

    posts, comments, favorites = (metadata.tables[n] for n in ("posts", "comments", "favorites"))
    tags, links, users, follows = (
        metadata.tables[n] for n in ("tags", "post_tags", "users", "follows")
    )
    with counter_engine.connect() as connection:

        def mismatches(column: object, real: object) -> int:
            return int(connection.scalar(select(func.count()).where(column != real)) or 0)  # type: ignore[operator]

        approved = (
            select(func.count())
            .where(comments.c.post_id == posts.c.id, comments.c.approved.is_(True))
            .scalar_subquery()
        )
        faved = select(func.count()).where(favorites.c.post_id == posts.c.id).scalar_subquery()
        published = (
            select(func.count())
            .select_from(links.join(posts, posts.c.id == links.c.post_id))
            .where(links.c.tag_id == tags.c.id, posts.c.published.is_(True))
            .scalar_subquery()
        )
        followers = (
            select(func.count()).where(follows.c.followed_id == users.c.id).scalar_subquery()
        )
        following = (
            select(func.count()).where(follows.c.follower_id == users.c.id).scalar_subquery()
        )
        assert mismatches(posts.c.comment_count, approved) == 0
        assert mismatches(posts.c.favorites_count, faved) == 0
        assert mismatches(tags.c.post_count, published) == 0
        assert mismatches(users.c.followers_count, followers) == 0
        assert mismatches(users.c.following_count, following) == 0
        # And they are not all zero: the check above would pass on an empty load.
        assert connection.scalar(select(func.sum(posts.c.comment_count))) > 1000
        assert connection.scalar(select(func.max(tags.c.post_count))) > 100
        assert connection.scalar(select(func.sum(users.c.followers_count))) > 100


def test_a_load_keeps_the_journal_while_someone_else_reads(tmp_path: Path) -> None:
    """Leaving WAL needs the file to itself: with a reader holding it, the load still runs."""
    engine = app_like_engine(f"sqlite:///{tmp_path / 'shared.db'}")
    Post.metadata.create_all(engine)
    with engine.begin() as connection:
        connection.execute(
            insert(Post.metadata.tables["roles"]),
            [{"name": n, "permissions": int(p)} for n, p in ROLE_PERMISSIONS.items()],
        )
    reader = app_like_engine(f"sqlite:///{tmp_path / 'shared.db'}")
    with reader.connect() as other:
        other.exec_driver_sql("BEGIN")
        other.exec_driver_sql("SELECT count(*) FROM users").scalar()  # holds a read lock
        report = bulk_load(engine, SeedPlan.for_posts(50, users=10), password_hash="x")
        other.rollback()
    assert report.posts == 50
    with engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.scalar(select(func.count()).select_from(Post)) == 50
    engine.dispose()
    reader.dispose()
