"""Declarative base, naming convention and shared column types."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any

from sqlalchemy import DateTime, Dialect, MetaData, Select, String, TypeDecorator
from sqlalchemy.orm import DeclarativeBase, mapped_column

if TYPE_CHECKING:
    from flask_sqlalchemy.pagination import Pagination

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


int_pk = Annotated[int, mapped_column(primary_key=True)]
created_at = Annotated[datetime, mapped_column(UTCDateTime, default=utcnow, nullable=False)]
str64 = Annotated[str, mapped_column(String(64))]


# Far past any real page; keeps the SQL OFFSET within what every database accepts.
MAX_PAGE = 100_000
MAX_PER_PAGE = 100
# The same bound for front doors that page by offset (Conduit).
MAX_OFFSET = MAX_PAGE * MAX_PER_PAGE


def paginate(stmt: Select[Any], page: int, per_page: int) -> Pagination:
    """One page of ``stmt``; any page number or size a front door passes is brought in range.

    Pages past the end are empty (no 404); a page number beyond ``MAX_PAGE`` reads as
    ``MAX_PAGE``, whose offset every database accepts.
    """
    from penpress.extensions import db  # extensions imports this module

    return db.paginate(
        stmt,
        page=min(max(page, 1), MAX_PAGE),
        per_page=min(max(per_page, 1), MAX_PER_PAGE),
        error_out=False,
        max_per_page=MAX_PER_PAGE,
    )
