"""A real server and headless Chromium for end-to-end tests."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from tests.skips import unavailable

# An administrator the live server's database starts with (pages only admins see).
ADMIN_EMAIL = "e2e-admin@example.com"
ADMIN_PASSWORD = "e2e-admin-password"  # noqa: S105  (a throwaway test account)

ROOT = Path(__file__).resolve().parents[2]

CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome")


def _chromium() -> str | None:
    for candidate in (os.environ.get("CHROMIUM_PATH"), *CHROMIUM_CANDIDATES):
        if candidate and Path(candidate).exists():
            return candidate
    return shutil.which("chromium")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def chromium_path() -> str:
    path = _chromium()
    if path is None:
        unavailable("Chromium is not installed (apt-get install chromium)")
    return path


@contextmanager
def serve(tmp: Path, *, seed: bool = True, **settings: str) -> Iterator[str]:
    """The site served by a real WSGI server on 127.0.0.1, on its own SQLite database in
    ``tmp`` with an administrator (:data:`ADMIN_EMAIL`); seeded with posts unless ``seed`` is
    false; ``settings`` are extra environment variables. Yields its address."""
    port = _free_port()
    env = {
        **os.environ,
        "PENPRESS_CONFIG": "development",
        "DATABASE_URL": f"sqlite:///{tmp / 'e2e.db'}",
        "SECRET_KEY": "e2e-secret-key-" + "x" * 40,
        "LOG_LEVEL": "WARNING",
        "PORT": str(port),  # the development SITE_URL (image addresses) names this port
        **settings,
    }
    env.pop("REDIS_URL", None)
    bin_dir = Path(sys.executable).parent
    flask = [str(bin_dir / "flask"), "--app", "penpress"]
    subprocess.run([*flask, "init-db"], env=env, check=True, capture_output=True, cwd=tmp)
    if seed:
        subprocess.run(
            [*flask, "seed-db", "--posts", "8", "--comments", "5"],
            env=env, check=True, capture_output=True, cwd=tmp,
        )  # fmt: skip
    subprocess.run(
        [*flask, "create-admin", "--username", "e2eadmin", "--email", ADMIN_EMAIL,
         "--password", ADMIN_PASSWORD],
        env=env, check=True, capture_output=True, cwd=tmp,
    )  # fmt: skip
    server = subprocess.Popen(
        [*flask, "run", "--host", "127.0.0.1", "--port", str(port)],
        env=env, cwd=tmp, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise RuntimeError("the e2e server did not start") from None
                time.sleep(0.2)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.terminate()
        server.wait(timeout=15)


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The seeded site most browser tests share."""
    # A site where everyone who signs up writes: the browser test registers, then publishes.
    with serve(tmp_path_factory.mktemp("e2e"), DEFAULT_ROLE="author") as address:
        yield address


@pytest.fixture
def browser_page(chromium_path: str) -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium_path,
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        try:
            page = browser.new_page()
            yield page
        finally:
            browser.close()


@pytest.fixture(scope="module")
def artifacts() -> Path:
    """Where browser tests save their screenshots: ``test-artifacts/e2e/`` or
    ``$PENPRESS_ARTIFACTS``; the test prints it."""
    folder = Path(os.environ.get("PENPRESS_ARTIFACTS") or ROOT / "test-artifacts" / "e2e")
    folder.mkdir(parents=True, exist_ok=True)
    print(f"\nScreenshots: {folder}")  # noqa: T201  (the test says where they are)
    return folder


def watch_problems(page: Any, problems: list[str], *, error_statuses: bool = False) -> None:
    """Add what goes wrong on ``page`` to ``problems``: console errors, uncaught script
    errors, failed requests (with their reason, so that requests lost while a test holds the
    browser offline can be told from real failures) and, with ``error_statuses``, every answer
    of 400 or more. A test ends by asserting the list is empty."""
    page.on("console", lambda msg: problems.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.on(
        "requestfailed",
        lambda request: problems.append(f"failed {request.url}: {request.failure}"),
    )
    if error_statuses:
        page.on(
            "response",
            lambda r: problems.append(f"{r.status} {r.url}") if r.status >= 400 else None,
        )
