"""Named integer counters in one small table, changed in the caller's transaction.

For numbers that a page needs but that no index can give without reading many rows (how many
posts are published in all), and for the page cache's generations (a change bumps one, so
every cached page built before it is no longer asked for). They live in the database rather
than in the cache so that a counter and the change it counts commit together, and every
process (each gunicorn worker, with or without Redis) reads the same value.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import BigInteger, String, Table, bindparam, delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Mapped, mapped_column

from penpress import unit_of_work
from penpress.database import Base
from penpress.extensions import db


class NamedCounter(Base):
    __tablename__ = "counters"

    name: Mapped[str] = mapped_column(String(120), primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger, default=0)


def _table() -> Table:
    table = NamedCounter.__table__
    assert isinstance(table, Table)
    return table


def add(name: str, delta: int = 1) -> None:
    """``name += delta`` (a missing counter starts at 0), atomically, in this transaction."""
    if not delta:
        return
    table = _table()
    dialect = db.session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert(table).values(name=name, value=delta)
    statement = statement.on_conflict_do_update(
        index_elements=[table.c.name], set_={"value": table.c.value + delta}
    )
    db.session.execute(statement)


def set_value(name: str, value: int) -> None:
    """Trusted (migrations, recounts): set ``name`` to ``value``."""
    table = _table()
    dialect = db.session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert(table).values(name=name, value=value)
    statement = statement.on_conflict_do_update(
        index_elements=[table.c.name], set_={"value": value}
    )
    db.session.execute(statement)


def values(names: Iterable[str]) -> dict[str, int]:
    """The current value of each of ``names`` (0 for those never counted), in one query.

    Read in the session's transaction (its own changes included: they are all statements
    already run, never objects waiting for a flush), through a statement built once, as
    every page does it at least once.
    """
    wanted = list(dict.fromkeys(names))
    rows = db.session.connection().execute(_VALUES, {"names": wanted})
    found = {row[0]: row[1] for row in rows}
    return {name: int(found.get(name, 0)) for name in wanted}


_VALUES = select(_table().c.name, _table().c.value).where(
    _table().c.name.in_(bindparam("names", expanding=True))
)


def committed_values(names: Iterable[str]) -> dict[str, int]:
    """Like :func:`values`, as committed (:func:`penpress.unit_of_work.committed_reads`).

    For the page cache's hot path: one plain statement without the ORM (a third of the cost),
    seeing every change committed so far.
    """
    wanted = list(dict.fromkeys(names))
    marker = "?" if db.engine.dialect.paramstyle == "qmark" else "%s"
    placeholders = ", ".join([marker] * len(wanted))  # only markers: the names are bound
    sql = f"SELECT name, value FROM counters WHERE name IN ({placeholders})"  # noqa: S608
    with unit_of_work.committed_reads() as connection:
        found = {row[0]: row[1] for row in connection.exec_driver_sql(sql, tuple(wanted))}
    return {name: int(found.get(name, 0)) for name in wanted}


def value(name: str) -> int:
    return values([name])[name]


def forget(names: Iterable[str]) -> None:
    """Drop counters no longer needed (a deleted post's page generation)."""
    wanted = list(names)
    if wanted:
        db.session.execute(delete(NamedCounter).where(NamedCounter.name.in_(wanted)))
