"""One commit per request, here: services only ``flush()``.

Successful responses commit; error responses roll back (the error handlers already did, this
makes sure). A unique constraint lost to a concurrent request at commit time becomes a 409,
not a 500. Background tasks get the same rule from :class:`penpress.jobs.FlaskTask`.

Beside the unit of work, :func:`committed_reads` reads what is committed and nothing of it.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

from flask import Flask, Response, g, has_request_context
from sqlalchemy import Connection
from sqlalchemy.exc import IntegrityError

from penpress.errors import CONFLICT_MESSAGE, ErrorInfo, render_error
from penpress.extensions import db

log = logging.getLogger(__name__)


def commit_or_roll_back(response: Response) -> Response:
    """Commit what the request did if it succeeded; roll it back if it failed.

    A request that never began a transaction (a cached page, a token list read through
    :func:`committed_reads`) has nothing to end: its session is not even built.
    """
    if not _began_transaction():
        return response
    if response.status_code >= 400:
        db.session.rollback()
        return response
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        log.info("commit lost a race on a unique constraint")
        return render_error(ErrorInfo(409, CONFLICT_MESSAGE))
    return response


def _began_transaction() -> bool:
    """Whether this request's session began a transaction (any read or ``add`` does)."""
    return db.session.registry.has() and db.session().in_transaction()


_COMMITTED = "penpress_committed_reads"


@contextmanager
def committed_reads() -> Iterator[Connection]:
    """A connection whose reads run outside any transaction: they see every change
    committed so far and none of this request's own, which its unit of work may yet roll
    back. For the page cache's generations (a generation bumped by an uncommitted change must
    not key a cached page) and the login check at the start of a request, which come before
    anything is written; neither waits for the request's own transaction, nor starts it.

    One per request (given back when it ends: :func:`init_app`), so the login and the
    generations it reads cost one pool checkout; outside a request, one per use.
    """
    if not has_request_context():
        with _outside_transactions() as connection:
            yield connection
        return
    connection = g.get(_COMMITTED)
    if connection is None:
        connection = _outside_transactions()
        setattr(g, _COMMITTED, connection)
    yield connection


@contextmanager
def request_reads() -> Iterator[Connection]:
    """A connection for a small read that must see what this request wrote: the session's
    own once the request began a transaction (its flushed writes are there), else
    :func:`committed_reads`' (nothing of the request's own to see). A request that only
    reads so begins no transaction: on PostgreSQL no second pool checkout, BEGIN or COMMIT.
    """
    if _began_transaction():
        yield db.session.connection()
        return
    with committed_reads() as connection:
        yield connection


def _outside_transactions() -> Connection:
    """A pool connection whose reads run in no transaction: on PostgreSQL in autocommit,
    sparing the BEGIN and ROLLBACK around each read; SQLite's driver begins a transaction
    only for a write, and switching it to autocommit and back costs more than that."""
    connection = db.engine.connect()
    if connection.dialect.name == "postgresql":
        connection.execution_options(isolation_level="AUTOCOMMIT")
    return connection


def _give_back_committed_reads(_error: BaseException | None) -> None:
    connection: Connection | None = g.pop(_COMMITTED, None)
    if connection is not None:
        connection.close()


def init_app(app: Flask) -> None:
    app.teardown_request(_give_back_committed_reads)
