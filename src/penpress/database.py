"""The database: the ``db`` extension, its declarative base, shared column types, paging.

``extensions.py`` re-exports ``db`` with the other extensions; it lives here so that the
models' base and the session object sit in one module that imports nothing of Penpress.
The module is ``database.py`` rather than ``db.py`` because ``penpress.db`` would be shadowed
by the ``db`` object.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

from flask import Flask
from flask_sqlalchemy import SQLAlchemy
from flask_sqlalchemy.pagination import Pagination, SelectPagination
from sqlalchemy import (
    ARRAY,
    Connection,
    DateTime,
    Dialect,
    Integer,
    MetaData,
    Select,
    String,
    TypeDecorator,
    bindparam,
    event,
    func,
    literal,
    literal_column,
    select,
    true,
)
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import DeclarativeBase, InstrumentedAttribute, mapped_column

# Alembic's scripts ship inside the package, so an installed wheel can migrate its database.
MIGRATIONS_DIR = Path(__file__).parent / "migrations"

# Stable constraint names make Alembic autogenerate and batch mode (SQLite) reliable.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    """The current time as a timezone-aware UTC datetime."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp that is always timezone-aware UTC in Python.

    PostgreSQL stores ``timestamptz``; SQLite has no time zones, so values are stored as naive
    UTC and given their zone back when loaded.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are ambiguous; pass an aware UTC datetime")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)  # type: ignore[no-any-return]
        return value.astimezone(UTC)  # type: ignore[no-any-return]


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


# Objects stay readable after the one commit at the end of a request or task.
db = SQLAlchemy(model_class=Base, session_options={"expire_on_commit": False})


int_pk = Annotated[int, mapped_column(primary_key=True)]
created_at = Annotated[datetime, mapped_column(UTCDateTime, default=utcnow, nullable=False)]
str64 = Annotated[str, mapped_column(String(64))]


# Far past any real page; keeps the SQL OFFSET within what every database accepts.
MAX_PAGE = 100_000
MAX_PER_PAGE = 100
# The largest row offset a front door that pages by offset (Conduit) may ask for: every
# database accepts it, and it is far past any real list.
MAX_OFFSET = 2**31 - 1
# Rows a console list counts and pages through at most (see CappedPagination).
CONSOLE_COUNT_LIMIT = 10_000


def paginate(stmt: Select[Any], page: int, per_page: int) -> Pagination:
    """One page of ``stmt``; any page number or size a front door passes is brought in range.

    Pages past the end are empty (no 404); a page number beyond ``MAX_PAGE`` reads as
    ``MAX_PAGE``, whose offset every database accepts.
    """
    return db.paginate(
        stmt,
        page=min(max(page, 1), MAX_PAGE),
        per_page=min(max(per_page, 1), MAX_PER_PAGE),
        error_out=False,
        max_per_page=MAX_PER_PAGE,
    )


class CappedPagination(SelectPagination):
    """A page of a list whose total is counted only up to ``count_limit`` rows.

    Counting a whole large table (every approved comment of a busy site) costs as much as
    reading it; a console needs "more than 10,000", not the exact figure. The page number is
    kept within the counted rows, so the offset, too, stays bounded. ``total_capped`` says
    that more rows exist than were counted.
    """

    total_capped: bool = False

    def _query_count(self) -> int:
        limit = self.count_limit
        stmt: Select[Any] | None = self._query_args.get("count_select")
        if stmt is None:
            stmt = self._query_args["select"]
        # Only a constant is read, so an index can answer; the list's own tables stay in FROM
        # (without maintain_column_froms an unfiltered list would count one row: no FROM).
        rows = (
            stmt.order_by(None)
            .with_only_columns(literal(1), maintain_column_froms=True)
            .limit(limit + 1)
            .subquery()
        )
        session = self._query_args["session"]
        counted = int(session.execute(select(func.count()).select_from(rows)).scalar_one())
        self.total_capped = counted > limit
        return min(counted, limit)

    @property
    def count_limit(self) -> int:
        return int(self._query_args["count_limit"])

    @property
    def total_label(self) -> str:
        """The total as a reader should see it: ``"1,234"``, or ``"10,000+"`` when capped."""
        return f"{self.total or 0:,}" + ("+" if self.total_capped else "")


def paginate_capped(
    stmt: Select[Any],
    page: int,
    per_page: int,
    count_limit: int | None = None,
    *,
    count_stmt: Select[Any] | None = None,
) -> CappedPagination:
    """Like :func:`paginate`, for lists that may hold millions of rows (the console's): the
    total is counted up to ``count_limit`` and pages stop there (narrow the list to go
    further), so neither the count nor the offset grows with the table. The limit is
    :data:`CONSOLE_COUNT_LIMIT` unless given. ``count_stmt``, selecting the same rows, is
    counted instead of ``stmt`` when another form of its filter counts faster."""
    if count_limit is None:
        count_limit = CONSOLE_COUNT_LIMIT
    per_page = min(max(per_page, 1), MAX_PER_PAGE)
    last_page = max(-(-count_limit // per_page), 1)
    return CappedPagination(
        select=stmt,
        session=db.session(),
        page=min(max(page, 1), last_page),
        per_page=per_page,
        error_out=False,
        max_per_page=MAX_PER_PAGE,
        count_limit=count_limit,
        count_select=count_stmt,
    )


def insert_ignoring_duplicates(entity: Any, dialect: Dialect) -> Any:
    """``INSERT ... ON CONFLICT DO NOTHING`` into ``entity`` (PostgreSQL and SQLite spell it the
    same): of two concurrent inserts of one key, the second adds nothing instead of failing."""
    dialect_insert = postgresql_insert if dialect.name == "postgresql" else sqlite_insert
    return dialect_insert(entity).on_conflict_do_nothing()


class PairedIds:
    """Which of some ids form a row with one given id in a table whose primary key is the
    two (``fixed``, ``varying``): a reader's favorites among a page's posts, the authors they
    follow among its writers. Statements built once; run on the connection given.

    On PostgreSQL each candidate is probed by the whole key (a nested loop over the array,
    which a LATERAL subquery with a LIMIT keeps from being rewritten). ``fixed = $1 AND
    varying IN (...)`` is planned well for one value but, once psycopg prepares it, by a
    generic plan that assumes an average reader and scans all of ``fixed``'s rows instead:
    10 ms for a reader with 41,000 favorites, against 0.05 ms. SQLite plans each statement
    for its values: there the plain ``IN`` probes the key.
    """

    def __init__(
        self, fixed: InstrumentedAttribute[int], varying: InstrumentedAttribute[int]
    ) -> None:
        self._in_list = select(varying).where(
            fixed == bindparam("value"), varying.in_(bindparam("candidates", expanding=True))
        )
        candidates = (
            func.unnest(bindparam("candidates", type_=ARRAY(Integer)))
            .table_valued("id")
            .render_derived(name="candidates")
        )
        hit = (
            select(literal_column("1"))
            .where(fixed == bindparam("value"), varying == candidates.c.id)
            .limit(1)
            .lateral("hit")
        )
        self._probes = select(candidates.c.id).select_from(candidates).join(hit, true())

    def __call__(self, connection: Connection, value: int, candidates: Iterable[int]) -> set[int]:
        wanted = sorted(set(candidates))
        if not wanted:
            return set()
        params = {"value": value, "candidates": wanted}
        return set(connection.scalars(self.statement(connection.dialect.name), params))

    def statement(self, dialect_name: str) -> Select[Any]:
        """The statement run on the database ``dialect_name`` names."""
        return self._probes if dialect_name == "postgresql" else self._in_list


def install_sqlite_pragmas(app: Flask) -> None:
    """On an SQLite database, set the pragmas every connection of this app's engine needs."""
    with app.app_context():
        engine = db.engine
    if engine.dialect.name == "sqlite" and not event.contains(engine, "connect", _sqlite_pragmas):
        event.listen(engine, "connect", _sqlite_pragmas)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    """Enforce foreign keys and let readers work during writes (WAL)."""
    if isinstance(dbapi_connection, sqlite3.Connection):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=5000")
        cursor.close()
