"""gunicorn under the production settings, and the few HTTP calls the benchmark makes itself."""

from __future__ import annotations

import http.client
import json
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.cookies import SimpleCookie
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
GUNICORN_CONF = ROOT / "deploy" / "gunicorn.conf.py"
START_TIMEOUT = 60.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Response:
    status: int
    headers: list[tuple[str, str]]
    body: bytes

    def cookies(self) -> dict[str, str]:
        jar: SimpleCookie = SimpleCookie()
        for name, value in self.headers:
            if name.lower() == "set-cookie":
                jar.load(value)
        return {key: morsel.value for key, morsel in jar.items()}

    def json(self) -> dict[str, object]:
        data = json.loads(self.body)
        assert isinstance(data, dict)
        return data


def request(
    port: int,
    method: str,
    path: str,
    *,
    headers: dict[str, str] | None = None,
    body: bytes | None = None,
    timeout: float = 60.0,
) -> Response:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        answer = connection.getresponse()
        return Response(answer.status, answer.getheaders(), answer.read())
    finally:
        connection.close()


class Gunicorn:
    """``app`` under ``deploy/gunicorn.conf.py`` on a free 127.0.0.1 port, ``workers`` sync
    workers; ``restart()`` drops whatever the workers were still doing."""

    def __init__(self, app: str, env: dict[str, str], *, workers: int, log: Path, probe: str = "/"):
        self.app, self.workers, self.log, self.probe = app, workers, log, probe
        self.env = env
        self.port = 0
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def start(self) -> None:
        self.port = free_port()
        env = {
            **self.env,
            "PORT": str(self.port),
            "HOST": "127.0.0.1",
            "WEB_CONCURRENCY": str(self.workers),
            "GUNICORN_THREADS": "1",
        }
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                [str(BIN / "gunicorn"), "-c", str(GUNICORN_CONF), self.app],
                env=env,
                cwd=ROOT,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        self._wait_until_serving()

    def stop(self, *, quick: bool = False) -> None:
        """SIGTERM (finish the requests in hand) or SIGQUIT (drop them), then wait."""
        if self.process is None:
            return
        self.process.send_signal(signal.SIGQUIT if quick else signal.SIGTERM)
        try:
            self.process.wait(timeout=40)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process = None

    def restart(self) -> None:
        self.stop(quick=True)
        self.start()

    def _wait_until_serving(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process is None or self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited while starting:\n{self.log.read_text()}")
            try:
                request(self.port, "GET", self.probe, timeout=30)
                return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError(f"gunicorn did not answer within {START_TIMEOUT:.0f}s; see {self.log}")


@contextmanager
def gunicorn(
    app: str, env: dict[str, str], *, workers: int, log: Path, probe: str = "/"
) -> Iterator[Gunicorn]:
    """A started :class:`Gunicorn`, stopped (gracefully, then killed) on leaving."""
    server = Gunicorn(app, env, workers=workers, log=log, probe=probe)
    try:
        server.start()
        yield server
    finally:
        server.stop()


DRAIN_LIMIT = 15.0  # seconds; a longer backlog is dropped by restarting the workers


def drain(server: Gunicorn, limit: float = DRAIN_LIMIT) -> bool:
    """Make sure the workers are idle before the next measurement.

    When wrk stops, requests it sent may still be queued in the listen backlog: sync workers
    serve them even though nobody waits. ``/healthz`` queues behind them, so two quick answers
    in a row mean the backlog is gone. Slow pages can leave minutes of backlog (a million
    posts): past ``limit`` the workers are restarted instead (quick shutdown, new port), and
    this returns True.
    """
    started = time.monotonic()
    quick = 0
    while quick < 2:
        left = limit - (time.monotonic() - started)
        if left <= 0:
            print(f"   (workers still busy after {limit:.0f}s: restarting gunicorn)", flush=True)
            server.restart()
            return True
        before = time.monotonic()
        try:
            request(server.port, "GET", "/healthz", timeout=left)
        except OSError:
            continue
        quick = quick + 1 if time.monotonic() - before < 0.5 else 0
    return False


_CSRF = re.compile(rb'name="csrf_token"[^>]*value="([^"]+)"')


def web_login(port: int, email: str, password: str) -> str:
    """Log in through the real form (CSRF token and all); return the ``Cookie`` header value
    of the logged-in session."""
    page = request(port, "GET", "/auth/login")
    token = _CSRF.search(page.body)
    if page.status != 200 or token is None:
        raise RuntimeError(f"GET /auth/login answered {page.status} without a CSRF token")
    cookies = page.cookies()
    form = (
        f"email={_quote(email)}&password={_quote(password)}"
        f"&csrf_token={_quote(token.group(1).decode())}"
    )
    answer = request(
        port,
        "POST",
        "/auth/login",
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "Cookie": "; ".join(f"{k}={v}" for k, v in cookies.items()),
        },
        body=form.encode(),
    )
    if answer.status not in (302, 303):
        raise RuntimeError(f"POST /auth/login answered {answer.status}, not a redirect")
    cookies.update(answer.cookies())
    return "; ".join(f"{k}={v}" for k, v in cookies.items())


def conduit_token(port: int, email: str, password: str) -> str:
    body = json.dumps({"user": {"email": email, "password": password}}).encode()
    answer = request(
        port,
        "POST",
        "/realworld/api/users/login",
        headers={"Content-Type": "application/json"},
        body=body,
    )
    if answer.status != 200:
        raise RuntimeError(f"Conduit login answered {answer.status}: {answer.body[:200]!r}")
    user = answer.json()["user"]
    assert isinstance(user, dict)
    return str(user["token"])


def bearer_token(port: int, email: str, password: str) -> str:
    body = json.dumps({"email": email, "password": password}).encode()
    answer = request(
        port, "POST", "/api/v1/auth/tokens", headers={"Content-Type": "application/json"}, body=body
    )
    if answer.status != 200:
        raise RuntimeError(f"token request answered {answer.status}: {answer.body[:200]!r}")
    return str(answer.json()["access_token"])


def _quote(value: str) -> str:
    from urllib.parse import quote_plus

    return quote_plus(value)


def auth_headers(kind: str, *, cookie: str, conduit: str, bearer: str) -> dict[str, str]:
    """The headers that make a request come from the benchmark's logged-in user."""
    if kind == "session":
        return {"Cookie": cookie}
    if kind == "conduit":
        return {"Authorization": f"Token {conduit}"}
    if kind == "bearer":
        return {"Authorization": f"Bearer {bearer}"}
    return {}
