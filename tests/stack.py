"""Processes of the production stack (Celery worker and beat, gunicorn), started the way a
deployment starts them: separate processes configured by environment variables only.

Used by the outbox fault tests and by ``make faults`` (``faults/run.py``).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Settings of the developer's shell that must not leak into the processes under test.
_PRIVATE_PREFIXES = ("PENPRESS_", "MAIL_", "CELERY_", "PROMETHEUS_", "RATELIMIT_")
_PRIVATE_NAMES = {"SITE_URL", "DATABASE_URL", "REDIS_URL", "SECRET_KEY", "METRICS_TOKEN"}


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
    env: dict[str, str], log: Path, *, beat_schedule: Path | None = None, concurrency: int = 2
) -> subprocess.Popen[bytes]:
    """``celery -A penpress.celery_app worker`` (threads, so it starts fast on 2 cores); with
    ``beat_schedule``, Celery beat runs inside it (``-B``)."""
    argv = [
        "celery",
        "-A",
        "penpress.celery_app",
        "worker",
        "--pool=threads",
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
