"""Throwaway PostgreSQL and Redis servers for tests, started from the binaries on the machine.

Each server lives in its own temporary directory, listens on a free 127.0.0.1 port and can be
stopped and started again on the same port and data (the outage tests rely on that). PostgreSQL
refuses to run as root, so when the tests run as root the server runs as ``nobody``.
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import psycopg
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from penpress.backups import POSTGRES_GLOB as DEBIAN_POSTGRES_GLOB
from penpress.backups import find_postgres_tool

POSTGRES_USER = "penpress"
POSTGRES_GLOB = DEBIAN_POSTGRES_GLOB  # where Debian's packages put the server binaries
STARTUP_TIMEOUT = 30.0


class ServerUnavailable(RuntimeError):
    """The binaries for a server are not installed; the message says which."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_for_port(port: int, timeout: float = STARTUP_TIMEOUT, process: Any = None) -> None:
    """Block until something accepts connections on 127.0.0.1:``port``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"server exited with status {process.returncode} while starting")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing listened on 127.0.0.1:{port} within {timeout:.0f}s")


def find_postgres_bin(name: str) -> str | None:
    """``name`` (initdb, postgres) from PATH or the newest /usr/lib/postgresql/*/bin (found
    the way ``flask backup`` finds pg_dump)."""
    return find_postgres_tool(name, POSTGRES_GLOB)


def _unprivileged_user() -> pwd.struct_passwd | None:
    """The account to run PostgreSQL as: ``nobody`` when we are root, else ourselves."""
    if os.geteuid() != 0:
        return None
    return pwd.getpwnam("nobody")


class _Server:
    """Start, and on the first start retry on another port: between choosing a free port and
    the server binding it, another process (other test runs share the machine) may take it."""

    port: int
    _started_once = False

    @property
    def running(self) -> bool:
        process = getattr(self, "_process", None)
        return process is not None and process.poll() is None

    def _launch(self) -> None:
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError

    def start(self) -> None:
        """Start (again on the same port after ``stop``, so clients can reconnect)."""
        if self.running:
            return
        attempts = 1 if self._started_once else 3
        for attempt in range(attempts):
            try:
                self._launch()
                break
            except RuntimeError:
                self.stop()
                if attempt == attempts - 1:
                    raise
                self.port = free_port()
        self._started_once = True


class PostgresServer(_Server):
    """A PostgreSQL cluster in a temporary directory, with ``fsync`` off for speed."""

    def __init__(self) -> None:
        initdb = find_postgres_bin("initdb")
        postgres = find_postgres_bin("postgres")
        if not (initdb and postgres):
            raise ServerUnavailable(
                "PostgreSQL binaries (initdb, postgres) are not installed; "
                "on Debian: apt-get install postgresql"
            )
        self._initdb, self._postgres = initdb, postgres
        self._user = _unprivileged_user()
        self.port = free_port()
        self.root = Path(tempfile.mkdtemp(prefix="penpress-pg-"))
        self.data = self.root / "data"
        self.sockets = self.root / "sockets"
        self.sockets.mkdir()
        if self._user is not None:
            for path in (self.root, self.sockets):
                os.chown(path, self._user.pw_uid, self._user.pw_gid)
        self._process: subprocess.Popen[bytes] | None = None
        self._log = self.root / "postgres.log"
        self._run(
            [
                self._initdb,
                "--pgdata",
                str(self.data),
                "--username",
                POSTGRES_USER,
                "--auth",
                "trust",
                "--encoding",
                "UTF8",
                "--no-sync",
                "--no-instructions",
            ]
        )

    def _popen_kwargs(self) -> dict[str, Any]:
        kwargs: dict[str, Any] = {"cwd": self.root}
        if self._user is not None:
            kwargs.update(user=self._user.pw_uid, group=self._user.pw_gid, extra_groups=[])
        return kwargs

    def _run(self, command: list[str]) -> None:
        result = subprocess.run(  # noqa: S603  (fixed argv built from found binaries)
            command, capture_output=True, check=False, **self._popen_kwargs()
        )
        if result.returncode != 0:
            output = (result.stdout + result.stderr).decode(errors="replace")
            raise RuntimeError(f"{command[0]} failed:\n{output}")

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://{POSTGRES_USER}@127.0.0.1:{self.port}/{database}"

    def libpq_url(self, database: str = "postgres") -> str:
        return f"postgresql://{POSTGRES_USER}@127.0.0.1:{self.port}/{database}"

    def _launch(self) -> None:
        log = self._log.open("ab")
        self._process = subprocess.Popen(  # noqa: S603
            [
                self._postgres,
                "-D",
                str(self.data),
                "-p",
                str(self.port),
                "-h",
                "127.0.0.1",
                "-k",
                str(self.sockets),
                "-c",
                "fsync=off",
                "-c",
                "synchronous_commit=off",
                "-c",
                "full_page_writes=off",
                "-c",
                "max_connections=100",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            **self._popen_kwargs(),
        )
        log.close()
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while True:
            try:
                with psycopg.connect(self.libpq_url(), connect_timeout=2):
                    return
            except psycopg.OperationalError:
                if self._process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(
                        "PostgreSQL did not start:\n" + self._log.read_text(errors="replace")
                    ) from None
                time.sleep(0.1)

    def stop(self) -> None:
        """Fast shutdown: active connections are cut, like a crash from a client's view."""
        if self._process is None:
            return
        if self._process.poll() is None:
            self._process.send_signal(signal.SIGINT)
            try:
                self._process.wait(timeout=STARTUP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        self._process = None

    def create_database(self, name: str) -> str:
        """Create database ``name`` and return its SQLAlchemy URL."""
        with psycopg.connect(self.libpq_url(), autocommit=True) as connection:
            connection.execute(f'CREATE DATABASE "{name}"')  # type: ignore[arg-type]
        return self.url(name)

    def destroy(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)


class RedisServer(_Server):
    """A Redis server without persistence on a free port."""

    def __init__(self) -> None:
        binary = shutil.which("redis-server")
        if not binary:
            raise ServerUnavailable(
                "redis-server is not installed; on Debian: apt-get install redis-server"
            )
        self._binary = binary
        self.port = free_port()
        self.root = Path(tempfile.mkdtemp(prefix="penpress-redis-"))
        self._process: subprocess.Popen[bytes] | None = None

    def url(self, db: int = 0) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"

    def _launch(self) -> None:
        log = (self.root / "redis.log").open("ab")
        self._process = subprocess.Popen(  # noqa: S603
            [
                self._binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.root),
                "--protected-mode",
                "yes",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=self.root,
        )
        log.close()
        deadline = time.monotonic() + STARTUP_TIMEOUT
        client = redis.Redis(
            port=self.port,
            socket_connect_timeout=0.5,
            socket_timeout=0.5,
            retry=Retry(NoBackoff(), 0),
        )
        try:
            while True:
                time.sleep(0.05)
                if self._process.poll() is not None:  # e.g. the port was taken meanwhile
                    raise RuntimeError("redis-server exited while starting")
                try:
                    client.ping()
                    return
                except redis.exceptions.RedisError:  # not up yet, or someone else's port
                    if time.monotonic() > deadline:
                        raise RuntimeError("redis-server did not start") from None
        finally:
            client.close()

    def stop(self) -> None:
        if self._process is None:
            return
        if self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=STARTUP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        self._process = None

    def destroy(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)
