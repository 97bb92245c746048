"""Install Penpress into the virtualenv whose Python runs this script, pinned by constraints.txt.

    .venv/bin/python tools/install.py           # the package and its runtime dependencies
    .venv/bin/python tools/install.py --dev     # ... plus the development tools (extra "dev")
    .venv/bin/python tools/install.py --lock    # regenerate constraints.txt (keeps current pins)
    .venv/bin/python tools/install.py --lock --upgrade   # ... moving every pin to the newest

The Makefile calls it. uv installs in a fraction of pip's time, so it is used when it can be:
uv is itself pinned in constraints.txt and installed into the venv with pip. uv reads neither
pip.conf nor PIP_* variables, so the machine's package-index set-up (index, extra indexes,
find-links, CA bundle, trusted hosts, proxy, timeout, global constraints) is read from pip's own
configuration at run time and handed to uv. When uv cannot be installed or fails, pip does the
install exactly as it did before uv; PENPRESS_INSTALLER=pip skips uv altogether.

The Makefile creates the venv without pip, since ensurepip alone takes longer than the whole uv
install: uv is put in by the base Python's pip (`pip --python`), or, where that Python has no
pip, by the venv's own after ensurepip. The dev extra puts a pinned pip back into the venv.
"""

from __future__ import annotations

import argparse
import ast
import functools
import importlib.metadata
import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CONSTRAINTS = "constraints.txt"
PYTHON = sys.executable
UV = str(Path(PYTHON).parent / "uv")
LOCK_PYTHON = "3.11"  # the oldest Python that pyproject.toml's requires-python allows


def pip_settings() -> dict[str, str]:
    """pip's effective settings for `pip install`, as `pip config list` reports them.

    Its keys are `global.x`, `install.x` (command-specific, wins over global) and `:env:.x`
    (PIP_X variables, win over every file); the files are already merged in pip's order.
    """
    listing = subprocess.run(
        [*bootstrap_pip(), "config", "list"], capture_output=True, text=True, check=False
    ).stdout
    rank = {"global": 0, "install": 1, ":env:": 2}
    found: dict[str, tuple[int, str]] = {}
    for line in listing.splitlines():
        match = re.fullmatch(r"(:env:|global|install)\.([\w-]+)=(.*)", line.strip())
        if not match:
            continue
        section, key, raw = match.groups()
        try:
            value = str(ast.literal_eval(raw))  # pip prints values with repr()
        except (ValueError, SyntaxError):
            value = raw.strip("'\"")
        key = {"default-timeout": "timeout"}.get(key, key)
        if key not in found or rank[section] >= found[key][0]:
            found[key] = (rank[section], value)
    return {key: value for key, (_, value) in found.items()}


def truthy(value: str) -> bool:
    return value.strip().lower() in {"1", "true", "yes", "on"}


def uv_options(pip: dict[str, str], lock: bool = False) -> tuple[dict[str, str], list[str]]:
    """The environment variables and arguments that give uv pip's index set-up.

    Variables the caller already set (UV_*, SSL_CERT_FILE, proxies) are left as they are. The
    machine's own pip constraints apply to installs only: they must not leak into the lock.
    """
    env: dict[str, str] = {}
    args: list[str] = []
    if "index-url" in pip:
        env["UV_DEFAULT_INDEX"] = pip["index-url"]
    if extra := pip.get("extra-index-url", "").split():
        env["UV_INDEX"] = " ".join(extra)
        # pip picks the best version across all indexes; uv by default stops at the first
        # index that knows the name, which would miss pins that only another index has.
        env["UV_INDEX_STRATEGY"] = "unsafe-best-match"
    if truthy(pip.get("no-index", "")):
        env["UV_NO_INDEX"] = "1"
    if "cert" in pip:
        env["SSL_CERT_FILE"] = pip["cert"]
    if "client-cert" in pip:
        env["SSL_CLIENT_CERT"] = pip["client-cert"]
    if "timeout" in pip:
        env["UV_HTTP_TIMEOUT"] = pip["timeout"]
    if "proxy" in pip:
        env["HTTPS_PROXY"] = env["HTTP_PROXY"] = pip["proxy"]
    for location in pip.get("find-links", "").split():
        args += ["--find-links", location]
    for host in pip.get("trusted-host", "").split():
        args += ["--allow-insecure-host", host]
    for constraint in [] if lock else pip.get("constraint", "").split():
        args += ["--constraint", constraint]
    return {key: value for key, value in env.items() if key not in os.environ}, args


def pinned_version(package: str) -> str | None:
    """The version constraints.txt pins for ``package``."""
    for line in (ROOT / CONSTRAINTS).read_text().splitlines():
        match = re.match(rf"{re.escape(package)}==([^\s;#]+)", line.strip(), re.IGNORECASE)
        if match:
            return match.group(1)
    return None


def venv_pip() -> list[str]:
    """The venv's own pip, put in by ensurepip first when the venv has none."""
    if importlib.util.find_spec("pip") is None:
        ensurepip = [PYTHON, "-m", "ensurepip", "--default-pip"]
        subprocess.run(ensurepip, check=True, stdout=subprocess.DEVNULL)
    return [PYTHON, "-m", "pip"]


@functools.cache
def bootstrap_pip() -> list[str]:
    """The quickest pip that installs into this venv: its own, else the base Python's aimed at
    it (`--python` needs pip 22.3), else its own after ensurepip."""
    if importlib.util.find_spec("pip") is not None:
        return [PYTHON, "-m", "pip"]
    base = getattr(sys, "_base_executable", PYTHON)
    if base and base != PYTHON and pip_version(base) >= (22, 3):
        return [base, "-m", "pip", "--python", PYTHON]
    return venv_pip()


def pip_version(python: str) -> tuple[int, int]:
    """(major, minor) of the pip that ``python`` has; (0, 0) when it has none."""
    probe = [python, "-c", "import pip; print(pip.__version__)"]
    found = subprocess.run(probe, capture_output=True, text=True, check=False).stdout
    match = re.match(r"(\d+)\.(\d+)", found)
    return (int(match[1]), int(match[2])) if match else (0, 0)


def ensure_uv() -> bool:
    """Install the pinned uv into the venv unless it is there already; False if that fails."""
    try:
        if importlib.metadata.version("uv") == pinned_version("uv") and Path(UV).exists():
            return True
    except importlib.metadata.PackageNotFoundError:
        pass
    install_uv = ["install", "--quiet", "-c", CONSTRAINTS, "uv"]
    if subprocess.run([*bootstrap_pip(), *install_uv], cwd=ROOT, check=False).returncode == 0:
        return True
    if bootstrap_pip()[0] == PYTHON:
        return False
    # The base Python's pip could not do it: try once more with the venv's own.
    return subprocess.run([*venv_pip(), *install_uv], cwd=ROOT, check=False).returncode == 0


def run_uv(args: list[str], lock: bool = False) -> bool:
    env, extra_args = uv_options(pip_settings(), lock)
    command = [UV, *args, *extra_args]
    return subprocess.run(command, cwd=ROOT, env={**os.environ, **env}, check=False).returncode == 0


def install(dev: bool) -> int:
    target = ".[dev]" if dev else "."
    if os.environ.get("PENPRESS_INSTALLER", "uv") != "pip":
        uv_install = ["pip", "install", "--quiet", "--python", PYTHON, "-c", CONSTRAINTS]
        if not ensure_uv():
            print("install.py: uv could not be installed; installing with pip", file=sys.stderr)
        elif run_uv([*uv_install, "-e", target]):
            return 0
        else:
            print("install.py: uv failed; installing with pip", file=sys.stderr)
    pip = [*venv_pip(), "install", "--quiet"]
    subprocess.run([*pip, "--upgrade", "pip"], cwd=ROOT, check=True)
    return subprocess.run([*pip, "-c", CONSTRAINTS, "-e", target], cwd=ROOT, check=False).returncode


def lock(upgrade: bool) -> int:
    """Resolve pyproject.toml (with the dev extra) into constraints.txt for every platform."""
    if not ensure_uv():
        print("install.py: regenerating the lock needs uv, which could not be installed")
        return 1
    args = ["pip", "compile", "pyproject.toml", "--extra", "dev", "--universal"]
    args += ["--python-version", LOCK_PYTHON, "--output-file", CONSTRAINTS, "--quiet"]
    args += ["--custom-compile-command", "make lock"] + (["--upgrade"] if upgrade else [])
    return 0 if run_uv(args, lock=True) else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dev", action="store_true", help="add the development tools")
    parser.add_argument("--lock", action="store_true", help="regenerate constraints.txt")
    parser.add_argument("--upgrade", action="store_true", help="with --lock: newest versions")
    options = parser.parse_args()
    return lock(options.upgrade) if options.lock else install(options.dev)


if __name__ == "__main__":
    sys.exit(main())
