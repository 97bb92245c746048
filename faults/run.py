"""Fault run: the production stack under a write load while PostgreSQL, Redis and SMTP fail.

    make faults            # or: .venv/bin/python faults/run.py [--load-seconds 50]

Everything is a throwaway server on 127.0.0.1, started like ``tests/servers.py`` does:
PostgreSQL, Redis, an SMTP server (aiosmtpd), gunicorn with the production config and 2
workers, a Celery worker and Celery beat. Client threads register accounts, write posts and
comment through the site's forms, ``/api/v1`` and the Conduit API while, on a fixed timeline,
PostgreSQL is restarted, Redis is down for 10 s and the SMTP server is down for 10 s; a
``flask backup`` runs during the load and is restored into a fresh database afterwards.

It then counts: requests tried and their statuses (5xx by code), writes acknowledged versus
found in the database, emails expected (one confirmation per account, one notification per
comment on someone else's post) versus delivered and how often, and how long each fault took
to recover from. The figures are printed, written to ``faults/results/latest.json`` and into
``RELIABILITY.md``. The exit status is 0 exactly when no acknowledged write was lost, every
email arrived exactly once and every 5xx was a 503.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import random
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # tests/ holds the throwaway servers and the SMTP sink

import psycopg  # noqa: E402

from tests import stack  # noqa: E402
from tests.servers import PostgresServer, RedisServer, free_port, wait_for_port  # noqa: E402
from tests.smtp_sink import SmtpSink  # noqa: E402

RESULTS = ROOT / "faults" / "results" / "latest.json"
REPORT = ROOT / "RELIABILITY.md"
BEGIN, END = "<!-- faults:begin -->", "<!-- faults:end -->"
SECRET_KEY = "fault-run-secret-key-" + "x" * 40
PASSWORD = "fault-run-password"
CLIENTS = 6
LEASE = 12  # OUTBOX_LEASE: seconds before the sweep sends a job again (default 60)
SWEEP_EVERY = 2  # seconds between sweeps (default 15)
DEADLINE = 118.0  # the whole run, in seconds: the drain stops waiting before this
AFTER_LOAD = 38.0  # seconds kept after the load for the mail to drain and the checks
MIN_LOAD = 40.0  # the faults and their backlogs need this much load at least
MARK = re.compile(r"\bmk-[0-9a-f]{12}\b")  # the unique mark each comment body carries


def mark() -> str:
    return f"mk-{uuid.uuid4().hex[:12]}"


# --- recording ------------------------------------------------------------------------------


@dataclass
class Write:
    kind: str  # registration, post, comment
    door: str  # site, api, conduit
    key: str  # username, post title or comment mark
    started: float
    ended: float


@dataclass
class Tally:
    """What the clients saw, shared by their threads."""

    statuses: Counter[str] = field(default_factory=Counter)
    writes: list[Write] = field(default_factory=list)
    refused: list[tuple[float, str, int]] = field(default_factory=list)  # failed writes
    posts: list[tuple[str, int]] = field(default_factory=list)  # (slug, client) to comment on
    lock: threading.Lock = field(default_factory=threading.Lock)

    def status(self, code: int) -> None:
        with self.lock:
            self.statuses[str(code) if code else "connection error"] += 1

    def acknowledged(self, write: Write) -> None:
        with self.lock:
            self.writes.append(write)

    def failed(self, at: float, what: str, code: int) -> None:
        with self.lock:
            self.refused.append((at, what, code))


@dataclass
class Reply:
    status: int
    headers: Any
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class Browser:
    """A cookie-keeping HTTP client; it sends Secure cookies over plain HTTP (the production
    config's cookies are Secure, and there is no TLS between the run and gunicorn)."""

    def __init__(self, port: int, tally: Tally) -> None:
        self.port = port
        self.tally = tally
        self.cookies: dict[str, str] = {}

    def request(
        self,
        method: str,
        path: str,
        form: dict[str, str] | None = None,
        body: object = None,
        headers: dict[str, str] | None = None,
    ) -> Reply:
        sent = dict(headers or {})
        if self.cookies:
            sent["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        payload = None
        if form is not None:
            payload = urlencode(form)
            sent["Content-Type"] = "application/x-www-form-urlencoded"
        elif body is not None:
            payload = json.dumps(body)
            sent["Content-Type"] = "application/json"
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            connection.request(method, path, body=payload, headers=sent)
            response = connection.getresponse()
            reply = Reply(response.status, response.headers, response.read())
        except OSError:
            reply = Reply(0, {}, b"")
        finally:
            connection.close()
        self.tally.status(reply.status)
        if reply.status:
            for header in reply.headers.get_all("Set-Cookie") or []:
                for name, morsel in SimpleCookie(header).items():
                    self.cookies[name] = morsel.value
        return reply

    def csrf(self, path: str) -> str | None:
        page = self.request("GET", path)
        found = re.search(rb'name="csrf_token" value="([^"]+)"', page.body)
        return found.group(1).decode() if page.status == 200 and found else None


# --- the load -------------------------------------------------------------------------------


class Client(threading.Thread):
    """One writer: an account of its own on all three front doors, then a random mix of
    registrations, posts and comments until ``stop`` is set."""

    def __init__(self, number: int, port: int, tally: Tally, stop: threading.Event) -> None:
        super().__init__(name=f"client-{number}", daemon=True)
        self.number, self.port, self.tally, self.stop = number, port, tally, stop
        self.random = random.Random(number)
        self.site = Browser(port, tally)
        self.api_token = ""
        self.conduit_token = ""
        self.site_csrf: str | None = None
        self.count = 0

    # identity --------------------------------------------------------------------------

    def set_up(self) -> None:
        """Register through /api/v1 and log in on every door (before the faults start)."""
        username = f"writer{self.number}-{uuid.uuid4().hex[:6]}"
        email = f"{username}@example.com"
        started = time.monotonic()
        reply = Browser(self.port, self.tally).request(
            "POST",
            "/api/v1/users",
            body={"username": username, "email": email, "password": PASSWORD},
        )
        if reply.status != 201:
            raise RuntimeError(
                f"could not register {username}: {reply.status} {reply.body[:300]!r}"
            )
        self.tally.acknowledged(Write("registration", "api", username, started, time.monotonic()))
        tokens = self.site.request(
            "POST", "/api/v1/auth/tokens", body={"email": email, "password": PASSWORD}
        ).json()
        self.api_token = tokens["access_token"]
        conduit = self.site.request(
            "POST",
            "/realworld/api/users/login",
            body={"user": {"email": email, "password": PASSWORD}},
        ).json()
        self.conduit_token = conduit["user"]["token"]
        login_csrf = self.site.csrf("/auth/login")
        assert login_csrf, "no CSRF token on the login page"
        login = self.site.request(
            "POST",
            "/auth/login",
            form={"csrf_token": login_csrf, "email": email, "password": PASSWORD},
        )
        assert login.status == 303, login.status
        self.site_csrf = self.site.csrf("/blog/create")
        self.write_post("api")  # something for the others to comment on

    # writes ----------------------------------------------------------------------------

    def run(self) -> None:
        doors = ("site", "api", "conduit")
        while not self.stop.is_set():
            roll = self.random.random()
            door = self.random.choice(doors)
            if roll < 0.2:
                self.register(door)
            elif roll < 0.5:
                self.write_post(door)
            else:
                self.comment(door)
            self.count += 1

    def _record(
        self, kind: str, door: str, key: str, started: float, reply: Reply, ok: tuple[int, ...]
    ) -> bool:  # noqa: E501
        if reply.status in ok:
            self.tally.acknowledged(Write(kind, door, key, started, time.monotonic()))
            return True
        self.tally.failed(started, f"{kind} via {door}", reply.status)
        if reply.status in (0, 503):
            time.sleep(0.2)  # the site said "later": do not hammer it
        return False

    def register(self, door: str) -> None:
        username = f"r{self.number}-{uuid.uuid4().hex[:10]}"
        email = f"{username}@example.com"
        started = time.monotonic()
        if door == "site":
            visitor = Browser(self.port, self.tally)
            token = visitor.csrf("/auth/register")
            if token is None:
                self.tally.failed(started, "registration via site", 503)
                time.sleep(0.2)
                return
            form = {
                "csrf_token": token,
                "username": username,
                "email": email,
                "password": PASSWORD,
                "password_confirm": PASSWORD,
            }
            reply = visitor.request("POST", "/auth/register", form=form)
            self._record("registration", door, username, started, reply, (303,))
        elif door == "api":
            body = {"username": username, "email": email, "password": PASSWORD}
            reply = Browser(self.port, self.tally).request("POST", "/api/v1/users", body=body)
            self._record("registration", door, username, started, reply, (201,))
        else:
            body = {"user": {"username": username, "email": email, "password": PASSWORD}}
            reply = Browser(self.port, self.tally).request(
                "POST", "/realworld/api/users", body=body
            )
            self._record("registration", door, username, started, reply, (201,))

    def write_post(self, door: str) -> None:
        title = f"Post {self.number}-{uuid.uuid4().hex[:10]}"
        tags = [f"load{self.random.randint(1, 5)}"]
        started = time.monotonic()
        if door == "site" and self.site_csrf:
            form = {
                "csrf_token": self.site_csrf,
                "title": title,
                "summary": "",
                "body": "Body.",
                "tags": ", ".join(tags),
                "published": "y",
            }
            reply = self.site.request("POST", "/blog/create", form=form)
            ok = self._record("post", door, title, started, reply, (303,))
            slug = reply.headers.get("Location", "").rsplit("/", 1)[-1] if ok else ""
        elif door == "conduit":
            body = {
                "article": {"title": title, "description": "d", "body": "Body.", "tagList": tags}
            }
            reply = self.site.request(
                "POST",
                "/realworld/api/articles",
                body=body,
                headers={"Authorization": f"Token {self.conduit_token}"},
            )
            ok = self._record("post", door, title, started, reply, (201,))
            slug = reply.json()["article"]["slug"] if ok else ""
        else:
            body = {"title": title, "body": "Body.", "tags": tags, "published": True}
            reply = self.site.request(
                "POST",
                "/api/v1/posts",
                body=body,
                headers={"Authorization": f"Bearer {self.api_token}"},
            )
            ok = self._record("post", "api", title, started, reply, (201,))
            slug = reply.json()["slug"] if ok else ""
        if slug:
            with self.tally.lock:
                self.tally.posts.append((slug, self.number))

    def comment(self, door: str) -> None:
        with self.tally.lock:
            others = [slug for slug, owner in self.tally.posts if owner != self.number]
        if not others:
            time.sleep(0.05)
            return
        slug = self.random.choice(others[-50:])
        key = mark()
        text = f"A comment ({key})."
        started = time.monotonic()
        if door == "site" and self.site_csrf:
            form = {"csrf_token": self.site_csrf, "body": text}
            reply = self.site.request("POST", f"/blog/post/{slug}/comment", form=form)
            self._record("comment", door, key, started, reply, (303,))
        elif door == "conduit":
            reply = self.site.request(
                "POST",
                f"/realworld/api/articles/{slug}/comments",
                body={"comment": {"body": text}},
                headers={"Authorization": f"Token {self.conduit_token}"},
            )
            self._record("comment", door, key, started, reply, (200,))
        else:
            reply = self.site.request(
                "POST",
                f"/api/v1/posts/{slug}/comments",
                body={"body": text},
                headers={"Authorization": f"Bearer {self.api_token}"},
            )
            self._record("comment", "api", key, started, reply, (201,))


# --- the stack -------------------------------------------------------------------------------


@dataclass
class Stack:
    folder: Path
    postgres: PostgresServer
    redis: RedisServer
    sink: SmtpSink
    database_url: str
    env: dict[str, str]
    port: int
    processes: dict[str, stack.Supervised] = field(default_factory=dict)

    def libpq(self, database: str = "penpress") -> str:
        return self.postgres.libpq_url(database)

    def log_tail(self, name: str, size: int = 3000) -> str:
        path = self.folder / f"{name}.log"
        return path.read_text(errors="replace")[-size:] if path.exists() else ""


def flask(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603  (this project's own CLI)
        [sys.executable, "-m", "flask", "--app", "penpress", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


def start_stack(folder: Path) -> Stack:
    postgres, redis = PostgresServer(), RedisServer()
    postgres.start()
    redis.start()
    sink = SmtpSink()
    sink.start()
    database_url = postgres.create_database("penpress")
    port = free_port()
    config = (
        f"OUTBOX_LEASE = {LEASE}\n"
        f'PERIODIC_JOBS = {{"penpress.outbox.sweep": {SWEEP_EVERY}, '
        '"penpress.outbox.prune": 3600}\n'
        'RATELIMIT_EMAIL = "100000 per hour"\n'
    )
    env = stack.environment(
        folder / "instance",
        config=config,
        PENPRESS_CONFIG="production",
        SECRET_KEY=SECRET_KEY,
        DATABASE_URL=database_url,
        REDIS_URL=redis.url(),
        SITE_URL=f"http://127.0.0.1:{port}",
        MAIL_SERVER="127.0.0.1",
        MAIL_PORT=str(sink.port),
        MAIL_TIMEOUT="5",
        RATELIMIT_DEFAULT="1000000 per minute",
        RATELIMIT_AUTH="1000000 per minute",
        RATELIMIT_WRITE="1000000 per minute",
        # Everyone who registers writes and comments at once (new accounts are readers, and
        # production asks for a confirmed address first): the load is writes, not sign-ups.
        DEFAULT_ROLE="author",
        REQUIRE_CONFIRMED_EMAIL="false",
        LOG_LEVEL="INFO",
    )
    # Migrating and starting the processes overlap: none of them needs the tables to start.
    migration = subprocess.Popen(  # noqa: S603  (this project's own CLI)
        [sys.executable, "-m", "flask", "--app", "penpress", "init-db"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    running = Stack(folder, postgres, redis, sink, database_url, env, port)
    metrics = folder / "metrics"
    metrics.mkdir()
    web_env = {
        **env,
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "WEB_CONCURRENCY": "2",
        "PROMETHEUS_MULTIPROC_DIR": str(metrics),
        "GUNICORN_ACCESS_LOG": "/dev/null",
    }
    # Every process is restarted if it exits, as compose's "restart: unless-stopped" does.
    running.processes["gunicorn"] = stack.Supervised(
        lambda: stack.gunicorn(web_env, folder / "gunicorn.log")
    )
    running.processes["worker"] = stack.Supervised(
        lambda: stack.celery_worker(env, folder / "worker.log", pool="prefork", concurrency=2)
    )
    running.processes["beat"] = stack.Supervised(
        lambda: stack.celery_beat(env, folder / "beat.log", folder / "beat-schedule")
    )
    output, _ = migration.communicate(timeout=60)
    if migration.returncode != 0:
        raise RuntimeError(f"init-db failed:\n{output.decode(errors='replace')}")
    wait_for_port(port, timeout=60)
    return running


def stop_stack(running: Stack) -> None:
    for process in running.processes.values():
        process.stop()
    running.sink.stop()
    running.redis.destroy()
    running.postgres.destroy()


# --- faults ---------------------------------------------------------------------------------


@dataclass
class Fault:
    name: str
    at: float  # seconds into the load
    down_for: float
    down_at: float = 0.0  # time.monotonic()
    up_at: float = 0.0


def run_faults(running: Stack, faults: list[Fault], started: float, backup: dict[str, Any]) -> None:
    """Break and mend the servers on the timeline (a thread beside the clients)."""
    actions = {
        "PostgreSQL restart": (running.postgres.stop, running.postgres.start),
        "Redis outage": (running.redis.stop, running.redis.start),
        "SMTP outage": (running.sink.stop, running.sink.start),
    }

    def take_backup() -> None:
        time.sleep(max(0.0, started + backup["at"] - time.monotonic()))
        began = time.monotonic()
        made = flask(running.env, "backup", str(running.folder / "during-load.backup"))
        backup.update(
            seconds=round(time.monotonic() - began, 2),
            exit_status=made.returncode,
            output=(made.stdout + made.stderr).strip()[-500:],
        )

    backing_up = threading.Thread(target=take_backup, daemon=True)
    backing_up.start()
    for fault in faults:
        time.sleep(max(0.0, started + fault.at - time.monotonic()))
        down, up = actions[fault.name]
        fault.down_at = time.monotonic()
        down()
        time.sleep(fault.down_for)
        up()
        fault.up_at = time.monotonic()
    backing_up.join(120)


# --- checking --------------------------------------------------------------------------------


def query(url: str, sql: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(url) as connection:
        return list(connection.execute(sql))  # type: ignore[arg-type]


def expected_emails(running: Stack) -> tuple[Counter[tuple[str, str]], dict[str, str]]:
    """(kind, key) → 1 for every email the committed data calls for; mark → recipient."""
    wanted: Counter[tuple[str, str]] = Counter()
    for (email,) in query(running.libpq(), "SELECT email FROM users"):
        wanted[("confirmation", email)] += 1
    recipients = {}
    rows = query(
        running.libpq(),
        "SELECT c.body, a.email FROM comments c JOIN posts p ON p.id = c.post_id "
        "JOIN users a ON a.id = p.author_id WHERE c.author_id <> p.author_id",
    )
    for body, author_email in rows:
        found = MARK.search(body)
        if found:
            wanted[("notification", found.group(0))] += 1
            recipients[found.group(0)] = author_email
    return wanted, recipients


def delivered_emails(
    sink: SmtpSink,
) -> tuple[Counter[tuple[str, str]], dict[tuple[str, str], float]]:
    """(kind, key) → how many arrived; and when the first of each arrived."""
    got: Counter[tuple[str, str]] = Counter()
    first: dict[tuple[str, str], float] = {}
    for message, arrived in sink.received_with_arrivals():
        subject = str(message["Subject"])
        if subject == "Confirm your email address":
            key = ("confirmation", str(message["To"]))
        elif subject.startswith("New comment"):
            plain = message.get_body(preferencelist=("plain",))
            found = MARK.search(str(plain.get_content()) if plain else "")
            key = ("notification", found.group(0) if found else "?")
        else:
            key = ("other", subject)
        got[key] += 1
        first.setdefault(key, arrived)
    return got, first


def wait_for_emails(running: Stack, until: float) -> float:
    """Wait until every expected email arrived (or ``until``); seconds waited."""
    began = time.monotonic()
    while time.monotonic() < until:
        wanted, _ = expected_emails(running)
        got, _ = delivered_emails(running.sink)
        if all(got[key] >= n for key, n in wanted.items()):
            break
        time.sleep(0.5)
    return time.monotonic() - began


def check_writes(running: Stack, tally: Tally) -> dict[str, Any]:
    present = {
        "registration": Counter(
            name for (name,) in query(running.libpq(), "SELECT username FROM users")
        ),
        "post": Counter(title for (title,) in query(running.libpq(), "SELECT title FROM posts")),
        "comment": Counter(
            found.group(0)
            for (body,) in query(running.libpq(), "SELECT body FROM comments")
            if (found := MARK.search(body))
        ),
    }
    figures: dict[str, Any] = {}
    for kind in ("registration", "post", "comment"):
        acked = [w for w in tally.writes if w.kind == kind]
        found = [w for w in acked if present[kind][w.key] >= 1]
        figures[kind] = {
            "acknowledged": len(acked),
            "found": len(found),
            "lost": len(acked) - len(found),
            "duplicated": sum(1 for w in acked if present[kind][w.key] > 1),
            "by_door": dict(Counter(w.door for w in acked)),
        }
    figures["total"] = {
        name: sum(figures[kind][name] for kind in ("registration", "post", "comment"))
        for name in ("acknowledged", "found", "lost", "duplicated")
    }
    return figures


def check_backup(running: Stack, backup: dict[str, Any]) -> dict[str, Any]:
    """Restore the backup made during the load into a fresh database and compare."""
    if backup.get("exit_status") != 0:
        return {**backup, "restored": False}
    fresh = running.postgres.create_database("penpress_restored")
    env = {**running.env, "DATABASE_URL": fresh}
    began = time.monotonic()
    restored = flask(env, "restore", str(running.folder / "during-load.backup"))
    backup["restore_seconds"] = round(time.monotonic() - began, 2)
    backup["restored"] = restored.returncode == 0
    if not backup["restored"]:
        backup["output"] = (restored.stdout + restored.stderr)[-500:]
        return backup
    tables = {
        "users": "SELECT id, username, email FROM users",
        "posts": "SELECT id, title, body FROM posts",
        "comments": "SELECT id, post_id, body FROM comments",
        "post_tags": "SELECT post_id, tag_id FROM post_tags",
        "outbox_jobs": "SELECT id, key, task_name FROM outbox_jobs",
    }
    compared = {}
    for table, sql in tables.items():
        copy = set(query(running.postgres.libpq_url("penpress_restored"), sql))
        live = set(query(running.libpq(), sql))
        compared[table] = {
            "rows_in_backup": len(copy),
            "rows_now": len(live),
            "not_in_live_database": len(copy - live),
        }
    backup["tables"] = compared
    backup["consistent"] = all(t["not_in_live_database"] == 0 for t in compared.values())
    return backup


def recovery(
    fault: Fault,
    tally: Tally,
    arrivals: dict[tuple[str, str], float],
    writes_to_email: dict[str, tuple[str, str]],
) -> dict[str, Any]:
    """How the fault showed and how long it took to be over."""
    failed = Counter(
        code for at, _, code in tally.refused if fault.down_at <= at <= fault.up_at + 5
    )
    figures: dict[str, Any] = {
        "fault": fault.name,
        "at_s": fault.at,
        "down_s": round(fault.up_at - fault.down_at, 1),
        "refused_writes": {
            str(code) if code else "connection error": n for code, n in failed.items()
        },
    }
    after = [w for w in tally.writes if w.started >= fault.up_at]
    first_write = min((w.ended for w in after), default=None)
    figures["writes_recovered_s"] = round(first_write - fault.up_at, 2) if first_write else None
    during = [w for w in tally.writes if fault.down_at <= w.ended <= fault.up_at]
    emails = [writes_to_email[w.key] for w in during if w.key in writes_to_email]
    arrived = [arrivals[e] for e in emails if e in arrivals]
    figures["emails_of_writes_during"] = len(emails)
    figures["emails_recovered_s"] = (
        round(max(arrived) - fault.up_at, 1) if arrived and len(arrived) == len(emails) else None
    )
    return figures


# --- the run ---------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--load-seconds", type=float, default=55.0)
    parser.add_argument("--no-write", action="store_true", help="print only; keep the files")
    parser.add_argument("--keep-logs", action="store_true", help="keep the servers' folder")
    args = parser.parse_args()
    run_started = time.monotonic()
    folder = Path(tempfile.mkdtemp(prefix="penpress-faults-"))
    print(f"fault run: servers and logs in {folder}", flush=True)
    running = start_stack(folder)
    print(f"servers and processes up in {time.monotonic() - run_started:.1f}s", flush=True)
    try:
        tally = Tally()
        stop = threading.Event()
        clients = [Client(n, running.port, tally, stop) for n in range(CLIENTS)]
        problems: list[BaseException] = []

        def set_up(client: Client) -> None:
            try:
                client.set_up()
            except BaseException as problem:
                problems.append(problem)

        setting_up = [threading.Thread(target=set_up, args=(client,)) for client in clients]
        for thread in setting_up:
            thread.start()
        for thread in setting_up:
            thread.join(60)
        if problems:
            raise problems[0]
        setup_seconds = time.monotonic() - run_started
        # The whole run stays within DEADLINE: on a slow (or busy) machine the load is shorter.
        load = max(MIN_LOAD, min(args.load_seconds, DEADLINE - setup_seconds - AFTER_LOAD))
        # Far enough apart that each fault's backlog clears before the next one starts.
        faults = [
            Fault("PostgreSQL restart", at=0.07 * load, down_for=1.0),
            Fault("Redis outage", at=0.15 * load, down_for=10.0),
            Fault("SMTP outage", at=0.75 * load, down_for=10.0),
        ]
        backup: dict[str, Any] = {"at": 0.45 * load}  # `flask backup` while clients write
        print(f"stack up in {setup_seconds:.1f}s; load for {load:.0f}s with faults", flush=True)
        load_started = time.monotonic()
        breaker = threading.Thread(
            target=run_faults, args=(running, faults, load_started, backup), daemon=True
        )
        breaker.start()
        for client in clients:
            client.start()
        time.sleep(load)
        stop.set()
        for client in clients:
            client.join(60)
        breaker.join(60)
        load_ended = time.monotonic()
        print("load over; waiting for the emails", flush=True)
        drained = wait_for_emails(running, run_started + DEADLINE - 12)
        restarts = {name: process.restarts for name, process in running.processes.items()}
        backup_figures = check_backup(running, backup)

        wanted, recipients = expected_emails(running)
        got, arrivals = delivered_emails(running.sink)
        writes = check_writes(running, tally)
        outbox = dict(
            query(running.libpq(), "SELECT state, count(*) FROM outbox_jobs GROUP BY state")
        )
        attempts = query(
            running.libpq(), "SELECT max(attempts), sum(attempts - 1) FROM outbox_jobs"
        )[0]
        writes_to_email = {
            w.key: ("confirmation", f"{w.key}@example.com")
            for w in tally.writes
            if w.kind == "registration"
        }  # noqa: E501
        writes_to_email.update(
            {
                w.key: ("notification", w.key)
                for w in tally.writes
                if w.kind == "comment" and w.key in recipients
            }
        )  # noqa: E501
        fault_figures = [recovery(f, tally, arrivals, writes_to_email) for f in faults]
    finally:
        logs = {name: running.log_tail(name, 1500) for name in ("worker", "beat", "gunicorn")}
        stop_stack(running)

    statuses = dict(sorted(tally.statuses.items()))
    five_xx = {code: n for code, n in statuses.items() if code.startswith("5")}
    emails = {
        "expected": sum(wanted.values()),
        "delivered": sum(n for key, n in got.items() if key in wanted),
        "exactly_once": sum(1 for key in wanted if got[key] == 1),
        "missing": sum(1 for key in wanted if got[key] == 0),
        "duplicated": sum(1 for key in wanted if got[key] > 1),
        "unexpected": sum(n for key, n in got.items() if key not in wanted),
        "confirmations": sum(1 for kind, _ in wanted if kind == "confirmation"),
        "notifications": sum(1 for kind, _ in wanted if kind == "notification"),
        "drain_s": round(drained, 1),
    }
    ok = (
        writes["total"]["lost"] == 0
        and writes["total"]["duplicated"] == 0
        and emails["missing"] == 0
        and emails["duplicated"] == 0
        and emails["unexpected"] == 0
        and set(five_xx) <= {"503"}
        and backup_figures.get("consistent", False)
    )
    result = {
        "when": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": (
            f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}"
        ),
        "stack": (
            "gunicorn (production config, 2 sync workers), Celery worker (prefork, 2) and "
            "beat, PostgreSQL, Redis, aiosmtpd; all on 127.0.0.1"
        ),
        "settings": {"OUTBOX_LEASE": LEASE, "sweep_every_s": SWEEP_EVERY, "clients": CLIENTS},
        "setup_s": round(setup_seconds, 1),
        "load_s": round(load_ended - load_started, 1),
        "total_s": round(time.monotonic() - run_started, 1),
        "requests": {"tried": sum(statuses.values()), "by_status": statuses, "5xx": five_xx},
        "writes": writes,
        "emails": emails,
        "faults": fault_figures,
        "outbox": {"by_state": outbox, "max_attempts": attempts[0], "re_sent": attempts[1]},
        "process_restarts": restarts,
        "backup": {k: v for k, v in backup_figures.items() if k != "output" or not v},
        "ok": ok,
    }
    if ok and not args.keep_logs:
        shutil.rmtree(folder, ignore_errors=True)
    else:
        result["logs"] = logs
        print(f"logs kept in {folder}")
    text = render(result)
    print(text)
    if not args.no_write:
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text(json.dumps(result, indent=2, default=str) + "\n")
        update_report(text)
        print(f"written to {RESULTS.relative_to(ROOT)} and {REPORT.name}")
    return 0 if ok else 1


def render(result: dict[str, Any]) -> str:
    """The figures as the Markdown section of RELIABILITY.md."""
    writes, emails, requests = result["writes"], result["emails"], result["requests"]
    five_xx = ", ".join(f"{code}: {n}" for code, n in result["requests"]["5xx"].items()) or "none"
    lines = [
        f"Last run: {result['when']} on {result['machine']}; {result['stack']}. "
        f"Set-up {result['setup_s']} s, load {result['load_s']} s with "
        f"{result['settings']['clients']} clients, "
        f"whole run {result['total_s']} s. Verdict: **{'pass' if result['ok'] else 'FAIL'}**.",
        "",
        "| figure | value |",
        "|---|---|",
        f"| requests tried | {requests['tried']} |",
        f"| 5xx by code | {five_xx} |",
        f"| writes acknowledged / found in the database | {writes['total']['acknowledged']} / "
        f"{writes['total']['found']} (lost {writes['total']['lost']}, duplicated "
        f"{writes['total']['duplicated']}) |",
    ]
    for kind in ("registration", "post", "comment"):
        doors = ", ".join(f"{door} {n}" for door, n in sorted(writes[kind]["by_door"].items()))
        lines.append(
            f"| — {kind}s acknowledged / found | {writes[kind]['acknowledged']} / "
            f"{writes[kind]['found']} ({doors}) |"
        )
    lines += [
        f"| emails expected / delivered | {emails['expected']} / {emails['delivered']} "
        f"({emails['confirmations']} confirmations, "
        f"{emails['notifications']} comment notifications) |",
        f"| emails delivered exactly once / missing / duplicated / unexpected | "
        f"{emails['exactly_once']} / {emails['missing']} / {emails['duplicated']} / "
        f"{emails['unexpected']} |",
        f"| outbox after the run | {result['outbox']['by_state']}; jobs sent again by the sweep: "
        f"{result['outbox']['re_sent']} "
        f"(most attempts of one job: {result['outbox']['max_attempts']}) |",
        f"| processes restarted by the supervisor | "
        f"{', '.join(f'{k} {v}' for k, v in result['process_restarts'].items())} |",
    ]
    backup = result["backup"]
    if backup.get("restored"):
        rows = ", ".join(f"{t} {v['rows_in_backup']}" for t, v in backup["tables"].items())
        lines.append(
            f"| backup during the load | `flask backup` {backup['seconds']} s, restored in "
            f"{backup['restore_seconds']} s; rows: {rows}; rows not in the live database: "
            f"{sum(v['not_in_live_database'] for v in backup['tables'].values())} |"
        )
    else:
        lines.append(f"| backup during the load | failed: {backup.get('output', '')} |")
    lines += [
        "",
        "| fault | at | down | writes refused meanwhile | writes back after | "
        "emails of writes made during it | all those emails delivered after |",
        "|---|---|---|---|---|---|---|",
    ]
    for fault in result["faults"]:
        refused = ", ".join(f"{c}: {n}" for c, n in fault["refused_writes"].items()) or "none"
        back = (
            f"{fault['writes_recovered_s']} s" if fault["writes_recovered_s"] is not None else "—"
        )
        mails = (
            f"{fault['emails_recovered_s']} s" if fault["emails_recovered_s"] is not None else "—"
        )
        lines.append(
            f"| {fault['fault']} | {fault['at_s']:.0f} s | {fault['down_s']} s | {refused} | "
            f"{back} | {fault['emails_of_writes_during']} | {mails} |"
        )
    return "\n".join(lines) + "\n"


def update_report(section: str) -> None:
    """Put ``section`` between the markers of RELIABILITY.md."""
    text = REPORT.read_text()
    start, end = text.index(BEGIN) + len(BEGIN), text.index(END)
    REPORT.write_text(text[:start] + "\n" + section + text[end:])


if __name__ == "__main__":
    sys.exit(main())
