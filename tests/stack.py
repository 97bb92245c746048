"""Processes of the production stack (Celery worker and beat, gunicorn), started the way a
deployment starts them: separate processes configured by environment variables only.

Used by the outbox fault tests and by ``make faults`` (``faults/run.py``).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import uuid
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Settings of the developer's shell that must not leak into the processes under test.
_PRIVATE_PREFIXES = ("PENPRESS_", "MAIL_", "CELERY_", "PROMETHEUS_", "RATELIMIT_")
_PRIVATE_NAMES = {
    "SITE_URL",
    "DATABASE_URL",
    "REDIS_URL",
    "SECRET_KEY",
    "METRICS_TOKEN",
    "REGISTRATION",
    "DEFAULT_ROLE",
    "REQUIRE_CONFIRMED_EMAIL",
    "INVITE_MAX_AGE",
}


def environment(instance: Path, config: str = "", **settings: str) -> dict[str, str]:
    """The environment of a Penpress process: ours without Penpress settings, plus
    ``settings``; ``config`` becomes ``instance/config.py`` (for config-file-only keys)."""
    instance.mkdir(parents=True, exist_ok=True)
    if config:
        (instance / "config.py").write_text(config)
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(_PRIVATE_PREFIXES) and key not in _PRIVATE_NAMES
    }
    env.update(PENPRESS_INSTANCE_PATH=str(instance), **settings)
    return env


def start(
    argv: list[str], env: dict[str, str], log: Path, cwd: Path = ROOT
) -> subprocess.Popen[bytes]:
    """Start ``argv`` (``python -m ...``) with its output in ``log``."""
    with log.open("ab") as output:
        return subprocess.Popen(  # noqa: S603  (fixed argv of this project's own programs)
            [sys.executable, "-m", *argv],
            cwd=cwd,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )


def celery_worker(
    env: dict[str, str],
    log: Path,
    *,
    beat_schedule: Path | None = None,
    concurrency: int = 2,
    pool: str = "threads",
) -> subprocess.Popen[bytes]:
    """``celery -A penpress.celery_app worker`` (by default with threads, which start fast on
    2 cores; ``pool="prefork"`` is Celery's default); with ``beat_schedule``, Celery beat runs
    inside it (``-B``)."""
    argv = [
        "celery",
        "-A",
        "penpress.celery_app",
        "worker",
        f"--pool={pool}",
        f"--concurrency={concurrency}",
        "--loglevel=INFO",
        "--without-gossip",
        "--without-mingle",
        "--without-heartbeat",
        f"--hostname=test-{uuid.uuid4().hex[:8]}@localhost",
    ]
    if beat_schedule is not None:
        argv += ["-B", f"--schedule={beat_schedule}"]
    return start(argv, env, log)


def celery_beat(env: dict[str, str], log: Path, schedule: Path) -> subprocess.Popen[bytes]:
    """``celery -A penpress.celery_app beat``, its schedule file in a folder of the caller."""
    argv = [
        "celery",
        "-A",
        "penpress.celery_app",
        "beat",
        "--loglevel=INFO",
        f"--schedule={schedule}",
    ]
    return start(argv, env, log)


def gunicorn(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """gunicorn with ``deploy/gunicorn.conf.py`` (HOST, PORT, WEB_CONCURRENCY from ``env``)."""
    argv = ["gunicorn", "-c", str(ROOT / "deploy" / "gunicorn.conf.py"), "penpress:create_app()"]
    return start(argv, env, log)


def stop(process: subprocess.Popen[bytes], timeout: float = 20) -> None:
    """Warm shutdown (SIGTERM), then kill if it takes longer than ``timeout``."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


class Supervised:
    """A process restarted whenever it exits, as ``restart: unless-stopped`` (compose) or
    ``Restart=always`` (systemd) do in production; ``restarts`` counts how often it had to."""

    def __init__(self, launch: Callable[[], subprocess.Popen[bytes]], poll: float = 0.2) -> None:
        self._launch = launch
        self.process = launch()
        self.restarts = 0
        self._stopping = threading.Event()
        self._watcher = threading.Thread(target=self._watch, args=(poll,), daemon=True)
        self._watcher.start()

    def _watch(self, poll: float) -> None:
        while not self._stopping.wait(poll):
            if self.process.poll() is not None and not self._stopping.is_set():
                self.restarts += 1
                self.process = self._launch()

    def stop(self, timeout: float = 20) -> None:
        self._stopping.set()
        self._watcher.join(5)
        stop(self.process, timeout)
