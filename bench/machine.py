"""What the numbers were measured on, how busy it was, and how big the workers grew."""

from __future__ import annotations

import os
import platform
import sqlite3
from importlib import metadata
from pathlib import Path

from bench import wrk


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _memory_gib() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    return None


def describe() -> dict[str, object]:
    """CPU, cores, memory, kernel and the versions that matter for the figures."""
    packages = ("flask", "sqlalchemy", "gunicorn", "werkzeug", "psycopg")
    return {
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "memory_gib": _memory_gib(),
        "kernel": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "wrk": wrk.version(),
        "packages": {name: metadata.version(name) for name in packages},
    }


def load_average() -> float:
    """The 1-minute load average: above the core count, others were using the machine."""
    return round(os.getloadavg()[0], 2)


def children(pid: int) -> list[int]:
    """Direct child processes of ``pid`` (gunicorn's workers), from /proc."""
    found: list[int] = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # The command name is in parentheses and may contain spaces: split after it.
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[1]) == pid:
            found.append(int(entry.name))
    return sorted(found)


def rss_mib(pid: int) -> float | None:
    """Resident memory of one process in MiB."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    return None


def worker_rss(master_pid: int) -> list[float]:
    """RSS in MiB of each worker of the gunicorn whose master is ``master_pid``."""
    sizes = [rss_mib(pid) for pid in children(master_pid)]
    return [size for size in sizes if size is not None]
