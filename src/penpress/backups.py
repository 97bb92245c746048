"""Backups: a consistent copy of the live database, and putting one back into an empty one.

SQLite is copied with its online backup API (``sqlite3.Connection.backup``): one step under a
read lock, so the copy is one moment of the database while the site keeps answering (WAL lets
writers go on). PostgreSQL is dumped by ``pg_dump`` in its custom format (one transaction, so
one snapshot) and restored by ``pg_restore`` in a single transaction. The server's credentials
reach those tools through the environment (``PGPASSWORD`` ...), never on a command line that
``ps`` shows to every user of the machine.

A backup carries its migration revision (the ``alembic_version`` table). A restore refuses a
backup whose revision this code does not know (made by a newer version), and a database that
already has tables unless forced; an older known revision is restored and then migrated.
"""

from __future__ import annotations

import glob
import os
import shutil
import sqlite3
import subprocess
import tempfile
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

from alembic.config import Config as AlembicConfig
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy import Engine, MetaData, inspect, text
from sqlalchemy.engine import URL

from penpress.database import MIGRATIONS_DIR

POSTGRES_GLOB = "/usr/lib/postgresql/*/bin"  # where Debian's packages put pg_dump and pg_restore
PGDUMP_MAGIC = b"PGDMP"  # the first bytes of a pg_dump custom-format archive
SQLITE_MAGIC = b"SQLite format 3\x00"


class BackupError(RuntimeError):
    """The backup or restore cannot be done; the message says why and what to do."""


@dataclass(frozen=True)
class Backup:
    """What a backup holds: its database kind and migration revision."""

    path: Path
    dialect: str
    revision: str


# --- migration revisions -------------------------------------------------------------------------


def _scripts() -> ScriptDirectory:
    config = AlembicConfig()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return ScriptDirectory.from_config(config)


def code_revision() -> str:
    """The migration revision this code's models are at (the head)."""
    head = _scripts().get_current_head()
    assert head is not None, "the package ships its migrations"
    return head


def check_revision(revision: str) -> None:
    """Refuse a revision this code does not know: the backup comes from a newer version."""
    try:
        known = _scripts().get_revision(revision)
    except CommandError:
        known = None
    if known is None:
        raise BackupError(
            f"The backup is at migration revision {revision}, which this version of Penpress "
            f"does not know (it is at {code_revision()}). Restore it with the version that "
            "made it."
        )


# --- backing up -----------------------------------------------------------------------------------


def backup(engine: Engine, target: Path) -> Backup:
    """Write a consistent copy of ``engine``'s database to ``target`` (replaced atomically,
    readable by its owner only: it holds password hashes and session secrets)."""
    target = target.resolve()
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, partial_name = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    os.close(handle)
    partial = Path(partial_name)  # created 0600 by mkstemp
    try:
        if engine.dialect.name == "sqlite":
            _sqlite_backup(_sqlite_path(engine.url), partial)
        elif engine.dialect.name == "postgresql":
            _run(_tool("pg_dump"), ["--format=custom", f"--file={partial}"], engine.url)
        else:
            raise BackupError(f"Backups of {engine.dialect.name} databases are not supported.")
        revision = read_revision(partial)
        partial.replace(target)
    finally:
        partial.unlink(missing_ok=True)
    return Backup(target, engine.dialect.name, revision)


def _sqlite_backup(source: Path, target: Path) -> None:
    with closing(sqlite3.connect(source)) as live, closing(sqlite3.connect(target)) as copy:
        live.backup(copy)  # all pages in one step: one read transaction, one moment


# --- reading a backup --------------------------------------------------------------------------


def kind_of(path: Path) -> str:
    """``sqlite`` or ``postgresql``: which kind of database ``path`` is a backup of."""
    with path.open("rb") as file:
        start = file.read(len(SQLITE_MAGIC))
    if start.startswith(PGDUMP_MAGIC):
        return "postgresql"
    if start == SQLITE_MAGIC:
        return "sqlite"
    raise BackupError(f"{path} is not a Penpress backup (neither SQLite nor a pg_dump archive).")


def read_revision(path: Path) -> str:
    """The migration revision recorded in the backup at ``path``."""
    kind = kind_of(path)
    revision: str | None = None
    if kind == "sqlite":
        try:
            with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as copy:
                row = copy.execute("SELECT version_num FROM alembic_version").fetchone()
        except sqlite3.DatabaseError:
            row = None
        revision = row[0] if row else None
    else:
        listing = _run(
            _tool("pg_restore"),
            ["--data-only", "--table=alembic_version", "--file=-", str(path)],
            None,
        )
        lines = listing.splitlines()
        for number, line in enumerate(lines):
            if line.startswith("COPY ") and "alembic_version" in line and number + 1 < len(lines):
                revision = lines[number + 1].strip() if lines[number + 1] != "\\." else None
    if not revision:
        raise BackupError(f"{path} has no migration revision: it is not a Penpress backup.")
    return revision


# --- restoring -------------------------------------------------------------------------------


def restore(engine: Engine, source: Path, *, force: bool = False) -> Backup:
    """Put the backup at ``source`` into ``engine``'s database, which must have no tables
    unless ``force`` (then everything in it is replaced). The caller migrates the result if
    the backup's revision is older than the code's."""
    kind = kind_of(source)
    if kind != engine.dialect.name:
        raise BackupError(
            f"{source} is a backup of a {kind} database; this site uses {engine.dialect.name}."
        )
    revision = read_revision(source)
    check_revision(revision)
    tables = inspect(engine).get_table_names()
    if tables and not force:
        raise BackupError(
            f"The database is not empty ({len(tables)} tables). Restore into an empty database, "
            "or add --force to replace everything in this one."
        )
    engine.dispose()  # no pooled connection may keep the old contents open
    if kind == "sqlite":
        with (
            closing(sqlite3.connect(f"file:{source}?mode=ro", uri=True)) as copy,
            closing(sqlite3.connect(_sqlite_path(engine.url))) as live,
        ):
            copy.backup(live)  # replaces every page of the live database
    else:
        if tables:
            _drop_everything(engine)
        _run(
            _tool("pg_restore"),
            [
                "--no-owner",
                "--no-privileges",
                "--exit-on-error",
                "--single-transaction",
                f"--dbname={engine.url.database}",
                str(source),
            ],
            engine.url,
        )
    return Backup(source, kind, revision)


# What a schema holds beside tables, as (kind, query for the names to drop) — functions (the
# audit log's append-only trigger) would otherwise make pg_restore fail with "already exists".
# Objects that belong to an extension are left to it.
_SCHEMA_OBJECTS = (
    (
        "VIEW",
        "SELECT quote_ident(c.relname) FROM pg_class c"
        " JOIN pg_namespace n ON n.oid = c.relnamespace"
        " WHERE n.nspname = current_schema() AND c.relkind IN ('v', 'm')",
    ),
    (
        "FUNCTION",
        "SELECT p.oid::regprocedure::text FROM pg_proc p"
        " JOIN pg_namespace n ON n.oid = p.pronamespace"
        " WHERE n.nspname = current_schema() AND p.prokind = 'f' AND NOT EXISTS"
        " (SELECT 1 FROM pg_depend d WHERE d.objid = p.oid AND d.deptype = 'e')",
    ),
    (
        "SEQUENCE",
        "SELECT quote_ident(c.relname) FROM pg_class c"
        " JOIN pg_namespace n ON n.oid = c.relnamespace"
        " WHERE n.nspname = current_schema() AND c.relkind = 'S'",
    ),
    (
        "TYPE",
        "SELECT quote_ident(t.typname) FROM pg_type t"
        " JOIN pg_namespace n ON n.oid = t.typnamespace"
        " WHERE n.nspname = current_schema() AND t.typtype IN ('e', 'd') AND NOT EXISTS"
        " (SELECT 1 FROM pg_depend d WHERE d.objid = t.oid AND d.deptype = 'e')",
    ),
)


def _drop_everything(engine: Engine) -> None:
    """Drop every table (and the sequences they own), then every view, function, sequence and
    type left in the site's schema, in one transaction, so the dump's own recreate them."""
    with engine.begin() as connection:
        existing = MetaData()
        existing.reflect(connection)
        existing.drop_all(connection)
        for kind, names in _SCHEMA_OBJECTS:
            for (name,) in connection.execute(text(names)).all():
                connection.execute(text(f"DROP {kind} IF EXISTS {name} CASCADE"))


# --- helpers ----------------------------------------------------------------------------------


def _sqlite_path(url: URL) -> Path:
    if not url.database or url.database == ":memory:":
        raise BackupError("An in-memory SQLite database cannot be backed up or restored.")
    return Path(url.database)


def find_postgres_tool(name: str, pattern: str = POSTGRES_GLOB) -> str | None:
    """``name`` (pg_dump, initdb ...) from PATH, else from the newest ``pattern`` folder."""
    found = shutil.which(name)
    if found:
        return found
    candidates = glob.glob(f"{pattern}/{name}")

    def version(path: str) -> float:
        try:
            return float(Path(path).parent.parent.name)
        except ValueError:
            return 0.0

    return max(candidates, key=version) if candidates else None


def _tool(name: str) -> str:
    found = find_postgres_tool(name)
    if found is None:
        raise BackupError(
            f"{name} is not installed; on Debian: apt-get install postgresql-client "
            "(its version must be at least the server's)"
        )
    return found


def postgres_environment(url: URL | None) -> dict[str, str]:
    """libpq's environment variables for ``url``: the password goes here, not into argv."""
    env = dict(os.environ)  # the operator's own PG* settings (PGSSLROOTCERT ...) still apply
    if url is None:
        return env
    for variable, value in (
        ("PGHOST", url.host),
        ("PGPORT", url.port),
        ("PGUSER", url.username),
        ("PGPASSWORD", url.password),
        ("PGDATABASE", url.database),
        ("PGSSLMODE", url.query.get("sslmode")),
        ("PGCONNECT_TIMEOUT", url.query.get("connect_timeout")),
    ):
        if value:
            env[variable] = str(value)
    return env


def _run(tool: str, arguments: list[str], url: URL | None) -> str:
    """Run a PostgreSQL client tool; its standard output, or BackupError with what it said."""
    result = subprocess.run(  # noqa: S603  (a found PostgreSQL tool, arguments built here)
        [tool, *arguments],
        env=postgres_environment(url),
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise BackupError(f"{Path(tool).name} failed:\n{result.stderr.strip()}")
    return result.stdout
