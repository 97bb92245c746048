"""Bulk loading: generated accounts, posts, tags, comments, favorites and follows in batches.

The services write one post at a time (slugs, Markdown, permissions, cache invalidation), which
is right for users and far too slow for a million posts. This loader writes straight to the
tables with SQLAlchemy Core: ``insert()`` executemany in large batches (SQLite and any other
database) or ``COPY`` through psycopg 3 (PostgreSQL). It reads the table definitions from the
metadata, so a column added later with a default needs no change here, and counter columns
(see :data:`COUNTER_COLUMNS`) are filled from the data it generated.

Running it on a database that has content appends: new accounts and posts get usernames,
emails and slugs nobody has, tags are matched by slug, and favorites, follows and comments only
involve the new posts (existing accounts take part as readers and writers).
"""

from __future__ import annotations

import random
import time
from array import array
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from itertools import accumulate, islice
from typing import Any

from slugify import slugify
from sqlalchemy import (
    Connection,
    Engine,
    Index,
    MetaData,
    Table,
    bindparam,
    func,
    insert,
    select,
    text,
    update,
)
from sqlalchemy.exc import OperationalError

from penpress.accounts.models import Permission
from penpress.blog import search
from penpress.seeding import content

# One password for every generated account, hashed once per load (never per user).
GENERATED_PASSWORD = "seeded-password"  # noqa: S105 (documented demo password)
GENERATED_EMAIL_DOMAIN = "example.net"
BATCH_SIZE = 10_000
SLUG_MAX_LENGTH = 200
RESERVED_SLUGS = frozenset({"feed"})  # as penpress.blog.services.posts

# The named counter (table ``counters``) of all published posts, as penpress.blog.counts names it.
PUBLISHED_POSTS_COUNTER = "posts.published"

# Counter columns the schema may gain: which generated quantity fills each, by table. A table
# gets every counter whose column name it has; the first name found wins for each quantity.
COUNTER_COLUMNS: dict[str, dict[str, tuple[str, ...]]] = {
    "posts": {
        "approved_comments": ("comment_count", "comments_count", "approved_comment_count"),
        "favorites": ("favorites_count", "favorite_count", "favorited_count"),
    },
    "tags": {
        "published_posts": (
            "post_count",
            "posts_count",
            "published_count",
            "published_post_count",
            "published_posts_count",
        ),
    },
    "users": {
        "followers": ("followers_count", "follower_count"),
        "following": ("following_count", "follows_count"),
        "published_posts": ("post_count", "posts_count", "published_posts_count"),
    },
}


class SeedError(RuntimeError):
    """The database cannot take a bulk load as it is; the message says what to do."""


@dataclass(frozen=True)
class SeedPlan:
    """How much to generate. ``users`` are new accounts (authors and readers)."""

    posts: int
    users: int
    comments: int
    favorites: int
    follows: int
    draft_ratio: float = 0.08
    approved_ratio: float = 0.85
    author_ratio: float = 0.25
    years: float = 6.0
    seed: int = 42
    # Drop the secondary (non-unique) indexes of the loaded tables and build them again at
    # the end: much faster than updating them row by row. None: for loads of 20,000+ posts.
    defer_indexes: bool | None = None

    @property
    def deferring_indexes(self) -> bool:
        return self.posts >= 20_000 if self.defer_indexes is None else self.defer_indexes

    @classmethod
    def for_posts(
        cls,
        posts: int,
        *,
        users: int | None = None,
        comments: int | None = None,
        favorites: int | None = None,
        follows: int | None = None,
        seed: int = 42,
        defer_indexes: bool | None = None,
    ) -> SeedPlan:
        """Sensible sizes around ``posts``: one account per 50 posts (5 to 20,000, a quarter
        of them authors, so about one author per 200 posts), 3 comments and 1.5 favorites per
        post, about 10 follows per account."""
        if posts < 0:
            raise SeedError("--posts cannot be negative.")
        users = default_users(posts) if users is None else users
        return cls(
            posts=posts,
            users=max(users, 0),
            comments=3 * posts if comments is None else max(comments, 0),
            favorites=posts * 3 // 2 if favorites is None else max(favorites, 0),
            follows=10 * max(users, 0) if follows is None else max(follows, 0),
            seed=seed,
            defer_indexes=defer_indexes,
        )


def default_users(posts: int) -> int:
    return max(5, min(posts // 50, 20_000))


@dataclass
class LoadReport:
    users: int = 0
    authors: int = 0
    posts: int = 0
    published: int = 0
    comments: int = 0
    approved_comments: int = 0
    favorites: int = 0
    follows: int = 0
    new_tags: int = 0
    post_tags: int = 0
    seconds: float = 0.0
    cpu_seconds: float = 0.0  # of this process: what the load costs on a machine shared
    counters: list[str] = field(default_factory=list)  # "table.column" filled by the loader


def counter_columns(table: Table) -> dict[str, str]:
    """``{quantity: column name}`` for the known counter columns ``table`` has."""
    found: dict[str, str] = {}
    for quantity, names in COUNTER_COLUMNS.get(table.name, {}).items():
        for name in names:
            if name in table.c:
                found[quantity] = name
                break
    return found


# --- writing rows ------------------------------------------------------------------------


class _Writer:
    """Core ``insert()`` executemany, ``BATCH_SIZE`` rows at a time (any database)."""

    def __init__(self, connection: Connection):
        self.connection = connection

    def time(self, stamp: float) -> Any:
        """A Unix time as this writer passes timestamps on."""
        return datetime.fromtimestamp(stamp, UTC)

    def write(self, table: Table, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
        statement = insert(table)
        count = 0
        for batch in _batches(rows):
            self.connection.execute(
                statement, [dict(zip(columns, row, strict=True)) for row in batch]
            )
            count += len(batch)
        return count


class _SQLiteWriter(_Writer):
    """The same ``insert()``, compiled once and handed to the driver's executemany as tuples.

    Most of the time of a Core executemany goes into building a parameter dict and running
    the type processors for every value; here timestamps arrive already in the form
    SQLAlchemy stores them on SQLite (naive UTC, ``YYYY-MM-DD HH:MM:SS.ffffff``), so the
    rows can go to the driver as they are.
    """

    _EPOCH = datetime(1970, 1, 1)  # noqa: DTZ001 (SQLite stores naive UTC)

    def time(self, stamp: float) -> Any:
        return (self._EPOCH + timedelta(seconds=stamp)).isoformat(" ", "microseconds")

    def write(self, table: Table, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
        statement = insert(table).values({name: bindparam(name) for name in columns})
        compiled = statement.compile(dialect=self.connection.dialect)
        # The statement takes its parameters in the table's column order (which differs between
        # a migrated database and one made by create_all), plus any column with a Python-side
        # default that was not given: every one must be given, in whatever order.
        positions = list(compiled.positiontup or ())
        assert sorted(positions) == sorted(columns), (positions, columns)
        if positions != list(columns):
            index = [list(columns).index(name) for name in positions]
            rows = (tuple(row[i] for i in index) for row in rows)
        sql = str(compiled)
        count = 0
        for batch in _batches(rows):
            self.connection.exec_driver_sql(sql, batch)
            count += len(batch)
        return count


def _batches(rows: Iterable[Sequence[Any]]) -> Iterator[list[Sequence[Any]]]:
    iterator = iter(rows)
    while batch := list(islice(iterator, BATCH_SIZE)):
        yield batch


class _CopyWriter(_Writer):
    """PostgreSQL ``COPY ... FROM STDIN`` on the connection's own psycopg 3 transaction."""

    def write(self, table: Table, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
        from psycopg import sql

        statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
            sql.Identifier(table.name), sql.SQL(", ").join(map(sql.Identifier, columns))
        )
        raw = self.connection.connection.driver_connection
        count = 0
        with raw.cursor() as cursor, cursor.copy(statement) as copy:  # type: ignore[union-attr]
            for row in rows:
                copy.write_row(row)
                count += 1
        return count


# --- database settings during the load -----------------------------------------------------

_SQLITE_LOAD_PRAGMAS = {
    "journal_mode": "MEMORY",
    "synchronous": "OFF",
    "foreign_keys": "OFF",  # the generated rows are consistent; checked in the tests
    "cache_size": "-1000000",  # KiB: about 1 GB of page cache for the unique indexes
    "temp_store": "MEMORY",
}


def _sqlite_pragmas(connection: Connection, values: dict[str, str]) -> dict[str, str]:
    """Set PRAGMAs (outside a transaction) and return the values they had.

    Leaving WAL needs the database to itself: while another connection has it open, the
    journal mode stays as it is (the load is slower, nothing else changes).
    """
    previous: dict[str, str] = {}
    for name, value in values.items():
        before = str(connection.exec_driver_sql(f"PRAGMA {name}").scalar())
        try:
            connection.exec_driver_sql(f"PRAGMA {name}={value}")
        except OperationalError:
            if name != "journal_mode":
                raise
            connection.rollback()
            continue
        previous[name] = before
    connection.commit()
    return previous


# --- the load ------------------------------------------------------------------------------


def bulk_load(
    engine: Engine,
    plan: SeedPlan,
    metadata: MetaData | None = None,
    *,
    password_hash: str | None = None,
    now: datetime | None = None,
    progress: Callable[[str], None] | None = None,
    core_only: bool = False,
) -> LoadReport:
    """Generate ``plan`` into the database behind ``engine``, in one transaction.

    ``core_only`` writes with plain Core ``insert()`` executemany everywhere (what other
    databases get; slower, and a check on the fast paths below).

    On SQLite the load runs with ``synchronous=OFF``, foreign keys off and, on a database
    without posts (nothing to lose in a crash), a memory journal; it puts every PRAGMA back
    afterwards (also when it fails, which rolls everything back).
    On PostgreSQL it uses ``COPY``, then moves the id sequences past the new rows and runs
    ``ANALYZE`` so the planner knows the new sizes.
    """
    if metadata is None:
        from penpress.models import Post

        metadata = Post.metadata
    started, cpu_started = time.perf_counter(), time.process_time()
    with engine.connect() as connection:
        dialect = connection.dialect.name
        previous: dict[str, str] = {}
        if dialect == "sqlite":
            pragmas = dict(_SQLITE_LOAD_PRAGMAS)
            posts = metadata.tables["posts"]
            if connection.scalar(select(posts.c.id).limit(1)) is not None:
                # A crash with a memory journal can corrupt the file: keep the real journal
                # when there is content to lose.
                del pragmas["journal_mode"]
            connection.commit()
            previous = _sqlite_pragmas(connection, pragmas)
        try:
            writers = {"postgresql": _CopyWriter, "sqlite": _SQLiteWriter}
            writer = (_Writer if core_only else writers.get(dialect, _Writer))(connection)
            loader = _Loader(connection, writer, metadata, plan, password_hash, now, progress)
            with connection.begin():
                report = loader.run()
            if dialect == "postgresql":
                with connection.begin():
                    for name in ("users", "tags", "posts", "comments"):
                        table = metadata.tables[name]
                        after_last = select(func.coalesce(func.max(table.c.id), 0) + 1)
                        sequence = func.pg_get_serial_sequence(name, "id")
                        connection.execute(
                            select(func.setval(sequence, after_last.scalar_subquery(), False))
                        )
                connection.exec_driver_sql("ANALYZE")
                connection.commit()
        finally:
            if previous:
                connection.rollback()
                _sqlite_pragmas(connection, previous)
    report.seconds = time.perf_counter() - started
    report.cpu_seconds = time.process_time() - cpu_started
    return report


class _Loader:
    def __init__(
        self,
        connection: Connection,
        writer: _Writer,
        metadata: MetaData,
        plan: SeedPlan,
        password_hash: str | None,
        now: datetime | None,
        progress: Callable[[str], None] | None,
    ):
        self.c = connection
        self.writer = writer
        self.t = metadata.tables
        self.plan = plan
        self.rng = random.Random(plan.seed)
        self.bodies = content.BodyPool(random.Random(plan.seed + 1))
        self.password_hash = password_hash
        self.now = (now or datetime.now(UTC)).timestamp()
        self._progress = progress
        self._started = time.perf_counter()
        self.report = LoadReport()
        # Filled as the load goes: per account, per post, per tag.
        self.people: list[int] = []  # user ids, existing first
        self.writers: list[int] = []  # user ids allowed to write
        self.followers = array("i")  # per person: follows received (new ones)
        self.following = array("i")
        self.person_posts = array("i")  # per person: new published posts
        self.tag_ids: list[int] = []  # per content.TAGS entry
        self.people_order: list[int] = []
        self.activity: list[float] = []
        self.writer_order: list[int] = []
        self.author_weights: list[float] = []
        self.tag_published = array("i", bytes(4 * len(content.TAGS)))
        self.tags_used: set[int] = set()  # content.TAGS indexes given to a new post
        self.new_tag_ids: set[int] = set()

    def progress(self, message: str) -> None:
        if self._progress is not None:
            self._progress(f"{message} ({time.perf_counter() - self._started:.0f} s)")

    def _max_id(self, table: str) -> int:
        return int(self.c.scalar(select(func.coalesce(func.max(self.t[table].c.id), 0))) or 0)

    def run(self) -> LoadReport:
        deferred = self._drop_indexes() if self.plan.deferring_indexes else []
        self._users()
        self._tags()
        triggers = self._suspend_search_triggers()
        post_stamps, published_ids = self._posts()
        self._index_new_posts(triggers)
        self._comments(post_stamps)
        self._favorites(post_stamps)
        self._follows()
        self._drop_unused_tags()
        self._update_counters()
        for index in deferred:
            index.create(self.c)
        if deferred:
            self.progress(f"{len(deferred)} indexes built again")
        return self.report

    def _suspend_search_triggers(self) -> dict[search.FtsTable, str]:
        """SQLite: drop the triggers that add each new post to the full-text indexes and
        return their SQL, by index (none on PostgreSQL). One FTS5 insert per row took 150 s
        for 100,000 posts; one ``INSERT ... SELECT`` of them all afterwards
        (:meth:`_index_new_posts`) takes 5 s. In the load's transaction: a failed load puts
        the triggers back."""
        if self.c.dialect.name != "sqlite":
            return {}
        suspended: dict[search.FtsTable, str] = {}
        for fts in search.FTS_TABLES:
            sql = self.c.scalar(
                text("SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = :name"),
                {"name": fts.insert_trigger},
            )
            if sql is not None:
                self.c.exec_driver_sql(f"DROP TRIGGER {fts.insert_trigger}")
                suspended[fts] = str(sql)
        return suspended

    def _index_new_posts(self, triggers: dict[search.FtsTable, str]) -> None:
        """Add the posts this load wrote to the full-text indexes, then put their triggers
        back."""
        for fts, trigger in triggers.items():
            columns = ", ".join(fts.columns)
            self.c.exec_driver_sql(
                f"INSERT INTO {fts.name}(rowid, {columns}) "  # noqa: S608 (names, not input)
                f"SELECT id, {columns} FROM posts WHERE id >= ?",
                (self._first_post_id,),
            )
            self.c.exec_driver_sql(trigger)
        if triggers:
            self.progress("posts added to the search index")

    def _drop_indexes(self) -> list[Index]:
        """Drop the non-unique indexes of the tables this load fills (in its transaction,
        so a failed load puts them back); unique ones stay, they keep the data right."""
        tables = ("users", "posts", "post_tags", "comments", "favorites", "follows")
        indexes = [i for name in tables for i in self.t[name].indexes if not i.unique]
        for index in indexes:
            index.drop(self.c)
        return indexes

    # --- accounts --------------------------------------------------------------------------

    def _users(self) -> None:
        users, roles = self.t["users"], self.t["roles"]
        role_rows = self.c.execute(select(roles.c.id, roles.c.name, roles.c.permissions)).all()
        role_ids = {name: role_id for role_id, name, _ in role_rows}
        if "author" not in role_ids or "reader" not in role_ids:
            raise SeedError(
                "The roles are missing: run `flask --app penpress init-db` before seeding."
            )
        writing_roles = {rid for rid, _, perms in role_rows if perms & Permission.WRITE}
        taken_names: set[str] = set()
        taken_emails: set[str] = set()
        for user_id, username, email, role_id in self.c.execute(
            select(users.c.id, users.c.username, users.c.email, users.c.role_id).order_by(
                users.c.id
            )
        ):
            self.people.append(user_id)
            if role_id in writing_roles:
                self.writers.append(user_id)
            taken_names.add(username.lower())
            taken_emails.add(email.lower())

        plan, rng = self.plan, self.rng
        if plan.users and self.password_hash is None:
            from penpress.accounts.services import hash_password

            self.password_hash = hash_password(GENERATED_PASSWORD)
        next_id = self._max_id("users") + 1
        start = self.now - plan.years * 365 * 86400
        rows = []
        tags = content.TAGS
        for n in range(plan.users):
            first, last = content.person_names(rng)
            username = rng.choice((f"{first}.{last}", f"{first}_{last}", f"{first}{last}"))
            while username in taken_names or f"{username}@{GENERATED_EMAIL_DOMAIN}" in taken_emails:
                username = f"{first}.{last}{rng.randint(2, 99_999)}"
            taken_names.add(username)
            email = f"{username}@{GENERATED_EMAIL_DOMAIN}"
            taken_emails.add(email)
            is_author = n < max(1, round(plan.users * plan.author_ratio))
            joined = self.writer.time(start + rng.random() * (self.now - start) * 0.5)
            rows.append(
                (
                    next_id,
                    username,
                    email,
                    self.password_hash,
                    content.bio(rng, tags[rng.randrange(60)], tags[rng.randrange(300)]),
                    joined,
                    True,
                    joined,
                    role_ids["author" if is_author else "reader"],
                )
            )
            self.people.append(next_id)
            if is_author:
                self.writers.append(next_id)
                self.report.authors += 1
            next_id += 1
        counters = counter_columns(users)
        # Generated accounts are approved (the column, where the schema has it, has a Python
        # default, which a compiled insert would otherwise add as a parameter of its own).
        approval = ["pending_approval"] if "pending_approval" in users.c else []
        columns = [
            "id", "username", "email", "password_hash", "bio", "created_at", "active",
            "email_confirmed_at", "role_id", *approval,
        ]  # fmt: skip
        extra = tuple(False for _ in approval) + tuple(0 for _ in counters)
        self.report.users = self.writer.write(
            users, [*columns, *counters.values()], (row + extra for row in rows)
        )
        size = len(self.people)
        self.followers = array("i", bytes(4 * size))
        self.following = array("i", bytes(4 * size))
        self.person_posts = array("i", bytes(4 * size))
        # Who is active: a long tail over shuffled ranks (not simply the oldest accounts).
        self.people_order = list(range(size))
        rng.shuffle(self.people_order)
        self.activity = content.zipf_cum_weights(size, 0.8)
        self.writer_order = self.writers[:]
        rng.shuffle(self.writer_order)
        self.author_weights = content.zipf_cum_weights(len(self.writers), 0.9)
        self.progress(f"{self.report.users} accounts")

    # --- tags ------------------------------------------------------------------------------

    def _tags(self) -> None:
        tags = self.t["tags"]
        existing = {slug: tag_id for tag_id, slug in self.c.execute(select(tags.c.id, tags.c.slug))}
        existing_names = {name.lower() for name in self.c.scalars(select(tags.c.name))}
        next_id = self._max_id("tags") + 1
        rows = []
        for name in content.TAGS:
            slug = slugify(name, max_length=80)
            tag_id = existing.get(slug)
            if tag_id is None:
                if name.lower() in existing_names:  # same name, other slug: keep both apart
                    name = f"{name} ({slug})"
                tag_id = next_id
                next_id += 1
                existing[slug] = tag_id
                rows.append((tag_id, name, slug))
            self.tag_ids.append(tag_id)
        counters = counter_columns(tags)
        zeros = tuple(0 for _ in counters)
        self.report.new_tags = self.writer.write(
            tags, ["id", "name", "slug", *counters.values()], (row + zeros for row in rows)
        )
        self.new_tag_ids = {row[0] for row in rows}

    def _drop_unused_tags(self) -> None:
        """Delete the tags this load created but gave to no post (small loads): the services
        never leave a tag without a post either."""
        unused = self.new_tag_ids - {self.tag_ids[index] for index in self.tags_used}
        if unused:
            tags = self.t["tags"]
            self.c.execute(
                tags.delete().where(tags.c.id == bindparam("tag_id")),
                [{"tag_id": tag_id} for tag_id in sorted(unused)],
            )
            self.report.new_tags -= len(unused)

    # --- posts -----------------------------------------------------------------------------

    def _taken_slugs(self) -> set[str]:
        posts = self.t["posts"]
        if self.c.scalar(select(posts.c.id).limit(1)) is None:
            return set(RESERVED_SLUGS)
        return set(self.c.scalars(select(posts.c.slug))) | RESERVED_SLUGS

    def _posts(self) -> tuple[array[float], array[int]]:
        """Write the posts and their tags; return each post's publication time (0 for drafts)
        and the indexes of the published ones, for comments and favorites."""
        plan, rng, count = self.plan, self.rng, self.plan.posts
        if count and not self.writers:
            raise SeedError("No account may write posts: add authors (--users) first.")
        # Per post, decided up front so counters can go into the rows: who wrote it, whether
        # it is published, when, and how popular it is (comments and favorites follow that).
        writer_order = self.writer_order
        authors = rng.choices(range(len(writer_order)), cum_weights=self.author_weights, k=count)
        self.progress("planning posts, comments and favorites")
        start = self.now - plan.years * 365 * 86400
        span = self.now - start
        stamps = array("d")
        published_ids = array("i")
        popularity = array("d")
        for i in range(count):
            if rng.random() < plan.draft_ratio:
                stamps.append(0.0)
                popularity.append(0.0)
            else:
                # Chronological ids, as on a real site; a little jitter between neighbours.
                stamps.append(start + span * (i + rng.random()) / count)
                published_ids.append(i)
                popularity.append(rng.paretovariate(1.5))
        self._popularity = popularity
        # Comments and favorites land on published posts by popularity.
        cum_popularity = list(accumulate(popularity))
        self._cum_popularity = cum_popularity
        self._comment_posts = (
            sorted(rng.choices(range(count), cum_weights=cum_popularity, k=plan.comments))
            if published_ids and plan.comments
            else []
        )
        self._comment_approved = [rng.random() < plan.approved_ratio for _ in self._comment_posts]
        approved = array("i", bytes(4 * count))
        for index, ok in zip(self._comment_posts, self._comment_approved, strict=True):
            if ok:
                approved[index] += 1
        self._favorite_pairs = self._pick_favorites(count, bool(published_ids))
        favorites = array("i", bytes(4 * count))
        for _person, index in self._favorite_pairs:
            favorites[index] += 1

        self.progress("planned")
        posts, post_tags = self.t["posts"], self.t["post_tags"]
        counters = counter_columns(posts)
        per_post = {"approved_comments": approved, "favorites": favorites}
        # The review status, where the schema has it: published rows say so (drafts are the
        # column's default, but every row gets its value so none reads as another's).
        status = ["status"] if "status" in posts.c else []
        # The tag names the full-text index reads from the row (``blog.search``), where the
        # schema has the column.
        search_tags = ["search_tags"] if "search_tags" in posts.c else []
        # Seeded posts are published in the past: they went live already, so the went-live step
        # has nothing to do for them (no job per post) and the counters include them.
        went_live = ["went_live_at"] if "went_live_at" in posts.c else []
        made = [
            "id", "title", "slug", "summary", "body", "body_html", "published", "published_at",
            "created_at", "updated_at", "views", "author_id", *went_live, *counters.values(),
            *status, *search_tags,
        ]  # fmt: skip
        # The writers insert by position, in the table's own column order (a column added by
        # a later migration sits at the end).
        columns = [column.name for column in posts.c if column.name in made]
        order = [made.index(name) for name in columns]
        counter_arrays = [per_post[quantity] for quantity in counters]
        first_id = self._max_id("posts") + 1
        self._first_post_id = first_id
        taken = self._taken_slugs()
        tag_cum = content.zipf_cum_weights(len(content.TAGS))
        subject_cum = content.zipf_cum_weights(len(content.TAGS), 0.7)
        tag_count = len(content.TAGS)
        person_index = {user_id: n for n, user_id in enumerate(self.people)}
        # post_tags may carry copies of the post's published/published_at (the tag pages
        # read their newest rows from an index on them): fill them when the table has them.
        copies = {"published", "published_at"} <= set(post_tags.c.keys())
        link_columns = ["post_id", "tag_id", *(("published", "published_at") if copies else ())]
        link_rows: list[tuple[Any, ...]] = []

        def post_rows(begin: int, end: int) -> Iterator[tuple[Any, ...]]:
            for i in range(begin, end):
                # The subject is always one of the tags; it follows a flatter curve than the
                # other tags, so the most popular tag does not name half of the titles.
                topic = rng.choices(range(tag_count), cum_weights=subject_cum)[0]
                topics = {topic}
                topics.update(
                    rng.choices(range(tag_count), cum_weights=tag_cum, k=rng.randint(0, 4))
                )
                other = rng.randrange(tag_count)
                title = content.title(rng, content.TAGS[topic], content.TAGS[other])
                slug = slugify(title, max_length=SLUG_MAX_LENGTH, word_boundary=True) or "post"
                if slug in taken:
                    suffix = 2
                    while f"{slug}-{suffix}" in taken:
                        suffix += 1
                    slug = f"{slug}-{suffix}"
                taken.add(slug)
                body, body_html = self.bodies.get(topic, rng.randrange(1_000))
                stamp = stamps[i]
                published = stamp > 0
                author_id = writer_order[authors[i]]
                if published:
                    created = stamp - rng.random() * 3 * 86400
                    published_at: Any = self.writer.time(stamp)
                    updated = min(stamp + rng.random() * 30 * 86400, self.now)
                    views = int(popularity[i] * rng.randint(20, 200))
                    self.person_posts[person_index[author_id]] += 1
                    for tag in topics:
                        self.tag_published[tag] += 1
                else:
                    created = self.now - rng.random() * span
                    published_at = None
                    updated = created
                    views = 0
                post_id = first_id + i
                self.tags_used.update(topics)
                for tag in topics:
                    link = (post_id, self.tag_ids[tag])
                    link_rows.append((*link, published, published_at) if copies else link)
                row = (
                    post_id,
                    title,
                    slug,
                    content.summary(rng, content.TAGS[topic], content.TAGS[other]),
                    body,
                    body_html,
                    published,
                    published_at,
                    self.writer.time(created),
                    self.writer.time(updated),
                    views,
                    author_id,
                    *([published_at] if went_live else []),
                    *(values[i] for values in counter_arrays),
                    *(("published" if published else "draft",) if status else ()),
                    *((" ".join(content.TAGS[t] for t in sorted(topics)),) if search_tags else ()),
                )
                yield tuple(row[j] for j in order)

        chunk = BATCH_SIZE * 5
        for begin in range(0, count, chunk):
            end = min(begin + chunk, count)
            self.report.posts += self.writer.write(posts, columns, post_rows(begin, end))
            self.report.post_tags += self.writer.write(post_tags, link_columns, link_rows)
            link_rows.clear()
            self.progress(f"{self.report.posts} posts")
        self.report.published = len(published_ids)
        self.report.counters += [f"posts.{name}" for name in counters.values()]
        return stamps, published_ids

    def _pick_favorites(self, count: int, any_published: bool) -> list[tuple[int, int]]:
        """Distinct ``(person index, post index)`` pairs: active readers, popular posts."""
        wanted = self.plan.favorites
        if not wanted or not any_published or not self.people:
            return []
        rng = self.rng
        # A person can favorite each post once; stop when the space runs out.
        limit = min(wanted, len(self.people) * sum(1 for p in self._popularity if p > 0))
        seen: set[int] = set()
        pairs: list[tuple[int, int]] = []
        while len(pairs) < limit:
            need = limit - len(pairs)
            who = self._pick_people(need + need // 10 + 10)
            what = rng.choices(range(count), cum_weights=self._cum_popularity, k=len(who))
            for person, post in zip(who, what, strict=True):
                key = post * len(self.people) + person
                if key not in seen:
                    seen.add(key)
                    pairs.append((person, post))
                    if len(pairs) == limit:
                        break
        pairs.sort(key=lambda pair: pair[1])
        return pairs

    # --- comments, favorites, follows ------------------------------------------------------

    def _pick_people(self, k: int) -> list[int]:
        """``k`` person indexes, the active ones more often."""
        return self.rng.choices(self.people_order, cum_weights=self.activity, k=k)

    def _after(self, stamp: float, mean_days: float) -> Any:
        """A time a while after ``stamp`` (``mean_days`` on average), never in the future."""
        later = stamp + self.rng.expovariate(1 / (mean_days * 86400))
        return self.writer.time(min(later, self.now))

    def _comments(self, stamps: array[float]) -> None:
        if not self._comment_posts:
            return
        comments, rng = self.t["comments"], self.rng
        authors = self._pick_people(len(self._comment_posts))
        first_id = self._max_id("comments") + 1
        texts = [content.comment(rng, content.TAGS[n % 120]) for n in range(2_000)]

        def rows() -> Iterator[tuple[Any, ...]]:
            for n, (index, approved) in enumerate(
                zip(self._comment_posts, self._comment_approved, strict=True)
            ):
                written = self._after(stamps[index], 5)
                yield (
                    first_id + n,
                    texts[rng.randrange(2_000)],
                    approved,
                    False,  # spam: seeded comments are never marked
                    written,
                    written,
                    self.people[authors[n]],
                    self._first_post_id + index,
                )

        columns = [
            "id",
            "body",
            "approved",
            "spam",
            "created_at",
            "updated_at",
            "author_id",
            "post_id",
        ]
        self.report.comments = self.writer.write(comments, columns, rows())
        self.report.approved_comments = sum(self._comment_approved)
        self.progress(f"{self.report.comments} comments")

    def _favorites(self, stamps: array[float]) -> None:
        pairs = self._favorite_pairs
        if not pairs:
            return
        rows = (
            (self.people[person], self._first_post_id + index, self._after(stamps[index], 20))
            for person, index in pairs
        )
        self.report.favorites = self.writer.write(
            self.t["favorites"], ["user_id", "post_id", "created_at"], rows
        )
        self.progress(f"{self.report.favorites} favorites")

    def _follows(self) -> None:
        wanted = self.plan.follows
        if not wanted or not self.writers or len(self.people) < 2:
            return
        rng = self.rng
        order, weights = self.writer_order, self.author_weights
        person_index = {user_id: n for n, user_id in enumerate(self.people)}
        limit = min(wanted, len(self.people) * len(order) - len(order))
        follows = self.t["follows"]
        # Pairs that exist already (an earlier load, or people using the site) stay single.
        seen = {
            follower * (1 << 32) + followed
            for follower, followed in self.c.execute(
                select(follows.c.follower_id, follows.c.followed_id)
            )
        }
        pairs: list[tuple[int, int]] = []
        attempts = 0
        while len(pairs) < limit and attempts < 20:
            attempts += 1
            need = limit - len(pairs)
            who = self._pick_people(need + need // 10 + 10)
            whom = rng.choices(order, cum_weights=weights, k=len(who))
            for person, followed in zip(who, whom, strict=True):
                follower = self.people[person]
                key = follower * (1 << 32) + followed
                if follower != followed and key not in seen:
                    seen.add(key)
                    pairs.append((follower, followed))
                    self.following[person] += 1
                    self.followers[person_index[followed]] += 1
                    if len(pairs) == limit:
                        break
        start = self.now - self.plan.years * 365 * 86400
        rows = (
            (
                follower,
                followed,
                self.writer.time(start + rng.random() * (self.now - start)),
            )
            for follower, followed in sorted(pairs)
        )
        self.report.follows = self.writer.write(
            self.t["follows"], ["follower_id", "followed_id", "created_at"], rows
        )
        self.progress(f"{self.report.follows} follows")

    # --- counters on small tables ----------------------------------------------------------

    def _add_to(self, table: Table, column: str, deltas: Iterable[tuple[int, int]]) -> None:
        """``column += delta`` per row id: one executemany for the rows that changed."""
        params = [{"row_id": row_id, "delta": delta} for row_id, delta in deltas if delta]
        if params:
            statement = (
                update(table)
                .where(table.c.id == bindparam("row_id"))
                .values({column: table.c[column] + bindparam("delta")})
            )
            self.c.execute(statement, params)
        self.report.counters.append(f"{table.name}.{column}")

    def _update_counters(self) -> None:
        tags = self.t["tags"]
        for quantity, column in counter_columns(tags).items():
            assert quantity == "published_posts"
            self._add_to(tags, column, zip(self.tag_ids, self.tag_published, strict=True))
        users = self.t["users"]
        per_person = {
            "followers": self.followers,
            "following": self.following,
            "published_posts": self.person_posts,
        }
        for quantity, column in counter_columns(users).items():
            self._add_to(users, column, zip(self.people, per_person[quantity], strict=True))
        self._update_named_counters()

    def _update_named_counters(self) -> None:
        """The ``counters`` table's total of published posts (when the schema has it)."""
        counters = self.t.get("counters")
        if counters is None:
            return
        posts = self.t["posts"]
        total = int(self.c.scalar(select(func.count()).where(posts.c.published.is_(True))) or 0)
        name = counters.c.name == PUBLISHED_POSTS_COUNTER
        if self.c.scalar(select(counters.c.value).where(name)) is None:
            self.c.execute(counters.insert().values(name=PUBLISHED_POSTS_COUNTER, value=total))
        else:
            self.c.execute(counters.update().where(name).values(value=total))
        self.report.counters.append(f"counters.{PUBLISHED_POSTS_COUNTER}")
