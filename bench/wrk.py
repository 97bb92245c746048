"""Running wrk and reading its report.

wrk (Debian package ``wrk``) keeps a fixed number of connections busy for a fixed time, so
throughput and latency come from a client that is not the bottleneck. ``--latency`` adds the
percentiles; statuses other than 2xx/3xx are only counted, so the caller checks statuses
itself before trusting a figure.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import asdict, dataclass
from pathlib import Path

_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0, "h": 3_600_000.0}
_DURATION = r"([\d.]+)(us|ms|s|m|h)"


@dataclass(frozen=True)
class WrkResult:
    requests: int
    seconds: float
    req_per_s: float
    p50_ms: float | None
    p75_ms: float | None
    p90_ms: float | None
    p99_ms: float | None
    non_2xx_3xx: int
    socket_errors: dict[str, int]

    @property
    def errors(self) -> int:
        """Responses that were not 2xx/3xx plus requests that failed at the socket."""
        return self.non_2xx_3xx + sum(self.socket_errors.values())

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


class WrkError(RuntimeError):
    """wrk did not run or printed something this parser does not understand."""


def _ms(value: str, unit: str) -> float:
    return float(value) * _UNITS[unit]


def parse(output: str) -> WrkResult:
    """Read wrk's text report (run with ``--latency``)."""
    rate = re.search(r"^Requests/sec:\s+([\d.]+)", output, re.MULTILINE)
    total = re.search(r"^\s*(\d+) requests in " + _DURATION, output, re.MULTILINE)
    if rate is None or total is None:
        raise WrkError(f"cannot read wrk's report:\n{output}")
    percentiles: dict[str, float] = {}
    distribution = output.split("Latency Distribution", 1)
    if len(distribution) == 2:
        for pct, value, unit in re.findall(
            r"^\s+(\d+)%\s+" + _DURATION, distribution[1], re.MULTILINE
        ):
            percentiles[pct] = _ms(value, unit)
    socket = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    socket_errors = (
        dict(zip(("connect", "read", "write", "timeout"), map(int, socket.groups()), strict=True))
        if socket
        else {"connect": 0, "read": 0, "write": 0, "timeout": 0}
    )
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    return WrkResult(
        requests=int(total.group(1)),
        seconds=_ms(total.group(2), total.group(3)) / 1000,
        req_per_s=float(rate.group(1)),
        p50_ms=percentiles.get("50"),
        p75_ms=percentiles.get("75"),
        p90_ms=percentiles.get("90"),
        p99_ms=percentiles.get("99"),
        non_2xx_3xx=int(non_2xx.group(1)) if non_2xx else 0,
        socket_errors=socket_errors,
    )


def binary() -> str:
    """The wrk executable; the error says how to install it."""
    found = shutil.which("wrk")
    if not found:
        raise WrkError("wrk is not installed; on Debian: apt-get install wrk (make bench does)")
    return found


def version() -> str:
    """wrk's version line, e.g. ``wrk debian/4.1.0-3+b2 [epoll]``."""
    result = subprocess.run(
        [binary(), "--version"], capture_output=True, text=True, check=False, timeout=10
    )
    first = (result.stdout or result.stderr).splitlines()
    return first[0].split(" Copyright")[0].strip() if first else "unknown"


def run(
    url: str,
    *,
    seconds: float,
    threads: int,
    connections: int,
    headers: dict[str, str] | None = None,
    script: Path | None = None,
    script_args: list[str] | None = None,
    timeout_s: int = 30,
) -> tuple[WrkResult, str]:
    """Run wrk against ``url`` for ``seconds``; return the parsed result and the raw report."""
    command = [
        binary(),
        f"-t{threads}",
        f"-c{connections}",
        f"-d{max(int(round(seconds)), 1)}s",
        "--latency",
        "--timeout",
        f"{timeout_s}s",
    ]
    for name, value in (headers or {}).items():
        command += ["-H", f"{name}: {value}"]
    if script is not None:
        command += ["-s", str(script)]
    command.append(url)
    if script_args:
        command += ["--", *script_args]
    result = subprocess.run(
        command, capture_output=True, text=True, check=False, timeout=seconds + timeout_s + 30
    )
    if result.returncode != 0:
        raise WrkError(f"wrk failed ({result.returncode}):\n{result.stdout}{result.stderr}")
    return parse(result.stdout), result.stdout
