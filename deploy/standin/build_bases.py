#!/usr/bin/env python3
"""Build local stand-ins for the official base images, from Debian packages only.

For machines that cannot pull from Docker Hub (CI, air-gapped hosts). One Debian root
(``debootstrap --variant=minbase``) is made once and imported as ``penpress-standin/debian``;
four small Dockerfiles in this folder install Python 3.11, PostgreSQL, Redis and nginx on it
from Debian packages. ``deploy/compose.standin.yaml`` then builds and runs Penpress on them.

The root takes this machine's package settings, read when the script runs, so that apt and
pip inside ``docker build`` reach the registries the way the host does: the apt mirror(s) of
the host's Debian release and its ``Acquire::`` proxy/validity settings, the pip index, proxy
and certificate settings (``pip config list``), and the host's CA bundle. Nothing about them
is written in the repository. The root is rebuilt when those settings change or with
``--rebuild``; the four images are rebuilt by ``docker build`` (a no-op when cached).

Usage, as root, with Docker running and debootstrap installed:

    python3 deploy/standin/build_bases.py [--rebuild] [--mirror URL]
"""

from __future__ import annotations

import argparse
import hashlib
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import IO

HERE = Path(__file__).resolve().parent
SUITE = "bookworm"  # the Debian release of python:3.11-slim-bookworm
PREFIX = "penpress-standin"
ROOT_IMAGE = f"{PREFIX}/debian:{SUITE}"
# Stand-in image -> the Dockerfile in this folder that builds it on ROOT_IMAGE.
IMAGES = {
    f"{PREFIX}/python:{SUITE}": "python.Dockerfile",
    f"{PREFIX}/postgres:{SUITE}": "postgres.Dockerfile",
    f"{PREFIX}/redis:{SUITE}": "redis.Dockerfile",
    f"{PREFIX}/nginx:{SUITE}": "nginx.Dockerfile",
}
SETTINGS_LABEL = "org.penpress.standin.settings"
KEYRING = Path("/usr/share/keyrings/debian-archive-keyring.gpg")
CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")
# apt settings that decide how the archive is reached; the rest of the host's apt config stays.
APT_KEYS = (
    "Acquire::Check-Valid-Until",
    "Acquire::Check-Date",
    "Acquire::Retries",
    "Acquire::http::Proxy",
    "Acquire::https::Proxy",
    "Acquire::https::CAInfo",
)
# pip settings that decide how PyPI is reached; local paths (find-links, constraints, file://
# indexes) mean nothing inside an image and are left out.
PIP_KEYS = (
    "index-url",
    "extra-index-url",
    "trusted-host",
    "proxy",
    "cert",
    "client-cert",
    "timeout",
    "default-timeout",
    "retries",
)
PIP_FILE_KEYS = ("cert", "client-cert")
PIP_SCOPES = {"global": 0, "user": 1, "site": 2, ":env:": 3}  # lowest priority first


class StandinError(RuntimeError):
    """A step failed; the message says which and why."""


def run(command: list[str], stdin: IO[bytes] | None = None) -> str:
    """Run ``command``, return its standard output, raise StandinError with its output on
    failure."""
    result = subprocess.run(  # noqa: S603  (fixed commands of this script)
        command, stdin=stdin, capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise StandinError(
            f"{' '.join(command[:3])} ... failed ({result.returncode}):\n"
            f"{(result.stdout + result.stderr)[-4000:]}"
        )
    return result.stdout


def host_codename() -> str:
    for line in Path("/etc/os-release").read_text().splitlines():
        if line.startswith("VERSION_CODENAME="):
            return line.split("=", 1)[1].strip().strip('"')
    raise StandinError("cannot tell this machine's Debian release; pass --mirror URL")


def apt_sources(mirror: str | None) -> tuple[str, list[str]]:
    """The archive to debootstrap from and the ``deb`` lines for the images, from the host's
    apt sources of its own release (``apt-get indextargets`` reads both source formats)."""
    if mirror:
        return mirror, [f"deb {mirror} {SUITE} main", f"deb {mirror} {SUITE}-updates main"]
    codename = host_codename()
    targets = run(["apt-get", "indextargets", "--format", "$(SITE) $(RELEASE) $(COMPONENT)"])
    archive = None
    lines: list[str] = []
    for target in sorted(set(targets.splitlines())):
        parts = target.split()
        if len(parts) != 3 or parts[2] != "main":
            continue
        site, release, _ = parts
        found = re.fullmatch(rf"{re.escape(codename)}(-updates|-security)?", release)
        if not found:
            continue
        suffix = found.group(1) or ""
        lines.append(f"deb {site} {SUITE}{suffix} main")
        if not suffix:
            archive = site
    if archive is None:
        raise StandinError(
            f"no Debian archive for {codename!r} in this machine's apt sources; pass --mirror URL"
        )
    return archive, sorted(set(lines))


def apt_settings() -> str:
    """The host's ``Acquire::`` settings from APT_KEYS, as an apt.conf fragment."""
    dump = run(["apt-config", "dump"])
    kept = [line for line in dump.splitlines() if line.split(" ", 1)[0] in APT_KEYS]
    return "".join(f"{line}\n" for line in kept)


def pip_settings() -> dict[str, str]:
    """The host's pip settings from PIP_KEYS (``pip config list``), highest priority winning."""
    commands = [[sys.executable, "-m", "pip"]]
    commands += [[pip] for pip in ("pip3", "pip") if shutil.which(pip)]
    for command in commands:
        try:
            listing = run([*command, "config", "list"])
            break
        except StandinError:
            continue
    else:
        return {}
    chosen: dict[str, tuple[int, str]] = {}
    for line in listing.splitlines():
        found = re.fullmatch(r"(.+?)\.([a-z-]+)='(.*)'", line.strip())
        if not found:
            continue
        scope, key, value = found.groups()
        if key not in PIP_KEYS:
            continue
        if key.endswith("index-url"):
            value = " ".join(url for url in value.split() if not url.startswith("file:"))
        if key in PIP_FILE_KEYS and not Path(value).is_file():
            continue
        rank = PIP_SCOPES.get(scope, 0)
        if value and rank >= chosen.get(key, (-1, ""))[0]:
            chosen[key] = (rank, value)
    return {key: value for key, (_, value) in sorted(chosen.items())}


def files_to_copy(apt_conf: str, pip: dict[str, str]) -> list[Path]:
    """Host files the settings name (certificates), copied into the root at the same path."""
    paths = {CA_BUNDLE} if CA_BUNDLE.is_file() else set()
    paths.update(Path(pip[key]) for key in PIP_FILE_KEYS if key in pip)
    paths.update(Path(p) for p in re.findall(r'CAInfo "([^"]+)"', apt_conf) if Path(p).is_file())
    return sorted(paths)


def settings_digest(
    archive: str, sources: list[str], apt_conf: str, pip_conf: str, files: list[Path]
) -> str:
    """Changes when anything the root is made from changes, so a stale root is rebuilt."""
    digest = hashlib.sha256()
    for part in (SUITE, archive, *sources, apt_conf, pip_conf, *map(str, files)):
        digest.update(part.encode() + b"\0")
    for path in files:
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def pip_config_text(pip: dict[str, str]) -> str:
    if not pip:
        return ""
    return "[global]\n" + "".join(f"{key} = {value}\n" for key, value in pip.items())


def image_id(name: str) -> str | None:
    result = subprocess.run(  # noqa: S603
        ["docker", "image", "inspect", "--format", "{{.Id}}", name],  # noqa: S607
        capture_output=True,
        text=True,
        check=False,
    )
    return result.stdout.strip() if result.returncode == 0 else None


def image_label(name: str, label: str) -> str:
    template = f'{{{{ index .Config.Labels "{label}" }}}}'
    return run(["docker", "image", "inspect", "--format", template, name]).strip()


def make_root(
    archive: str, sources: list[str], apt_conf: str, pip_conf: str, files: list[Path], digest: str
) -> None:
    """debootstrap a minimal root, give it the host's settings, import it as ROOT_IMAGE."""
    for tool in ("debootstrap", "tar"):
        if not shutil.which(tool):
            raise StandinError(f"{tool} is not installed (apt-get install {tool})")
    keyring = ["--keyring", str(KEYRING)] if KEYRING.is_file() else []
    workdir = Path(tempfile.mkdtemp(prefix="penpress-standin-", dir="/var/tmp"))  # noqa: S108
    root = workdir / "root"
    try:
        run(
            [
                "debootstrap",
                "--variant=minbase",
                "--components=main",
                *keyring,
                SUITE,
                str(root),
                archive,
            ]
        )
        (root / "etc/apt/sources.list").write_text("".join(f"{s}\n" for s in sources))
        (root / "etc/apt/apt.conf.d/90host-settings").write_text(apt_conf)
        # Leaner images: no documentation, and no service starts from package scripts.
        (root / "etc/dpkg/dpkg.cfg.d/90no-docs").write_text(
            "path-exclude=/usr/share/doc/*\npath-include=/usr/share/doc/*/copyright\n"
            "path-exclude=/usr/share/man/*\npath-exclude=/usr/share/info/*\n"
            "path-exclude=/usr/share/locale/*\n"
        )
        policy = root / "usr/sbin/policy-rc.d"
        policy.write_text("#!/bin/sh\nexit 101\n")
        policy.chmod(0o755)
        if pip_conf:
            (root / "etc/pip.conf").write_text(pip_conf)
        for path in files:
            target = root / path.relative_to("/")
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, target)
        if CA_BUNDLE.is_file():  # kept if a package later rebuilds the bundle (ca-certificates)
            local = root / "usr/local/share/ca-certificates/host-bundle.crt"
            local.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(CA_BUNDLE, local)
        for leftover in ("var/cache/apt/archives", "var/lib/apt/lists"):
            for item in (root / leftover).glob("*"):
                if item.is_file():
                    item.unlink()
        with subprocess.Popen(  # noqa: S603
            ["tar", "--numeric-owner", "-C", str(root), "-c", "."],  # noqa: S607
            stdout=subprocess.PIPE,
        ) as tar:
            run(
                [
                    "docker",
                    "import",
                    "--change",
                    "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                    "--change",
                    "ENV LANG=C.UTF-8",
                    "--change",
                    f"LABEL {SETTINGS_LABEL}={digest}",
                    "--change",
                    'CMD ["bash"]',
                    "-",
                    ROOT_IMAGE,
                ],
                stdin=tar.stdout,
            )
        if tar.returncode != 0:
            raise StandinError(f"tar of the root failed ({tar.returncode})")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def build_bases(rebuild: bool = False, mirror: str | None = None) -> dict[str, float]:
    """Make sure ROOT_IMAGE and the IMAGES are there and current; seconds spent per step."""
    if not shutil.which("docker"):
        raise StandinError("docker is not installed (apt-get install docker.io)")
    timings: dict[str, float] = {}
    archive, sources = apt_sources(mirror)
    apt_conf = apt_settings()
    pip = pip_settings()
    pip_conf = pip_config_text(pip)
    files = files_to_copy(apt_conf, pip)
    digest = settings_digest(archive, sources, apt_conf, pip_conf, files)
    before = {name: image_id(name) for name in (ROOT_IMAGE, *IMAGES)}

    if rebuild or before[ROOT_IMAGE] is None or image_label(ROOT_IMAGE, SETTINGS_LABEL) != digest:
        started = time.monotonic()
        make_root(archive, sources, apt_conf, pip_conf, files, digest)
        timings["debootstrap + import"] = time.monotonic() - started
    # The four builds mostly wait on downloads and dpkg, so they run side by side.
    started = time.monotonic()
    builds = {
        name: subprocess.Popen(  # noqa: S603
            [  # noqa: S607
                "docker",
                "build",
                "--build-arg",
                f"BASE={ROOT_IMAGE}",
                "--tag",
                name,
                "--file",
                str(HERE / dockerfile),
                str(HERE),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for name, dockerfile in IMAGES.items()
    }
    failed = []
    for name, process in builds.items():
        output, _ = process.communicate()
        if process.returncode != 0:
            failed.append(f"docker build of {name} failed:\n{output[-3000:]}")
    if failed:
        raise StandinError("\n".join(failed))
    timings[f"{len(IMAGES)} images, built side by side"] = time.monotonic() - started

    # Images these tags pointed to before a rebuild would linger untagged: remove them
    # (derived images first), and nothing else.
    for name in (*IMAGES, ROOT_IMAGE):
        old = before[name]
        if old and old != image_id(name):
            subprocess.run(  # noqa: S603
                ["docker", "image", "rm", old],  # noqa: S607
                capture_output=True,
                check=False,
            )
    return timings


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rebuild", action="store_true", help="debootstrap the root again")
    parser.add_argument(
        "--mirror", help="Debian archive URL (default: from this machine's apt sources)"
    )
    options = parser.parse_args()
    try:
        timings = build_bases(rebuild=options.rebuild, mirror=options.mirror)
    except StandinError as error:
        print(f"build_bases: {error}", file=sys.stderr)
        return 1
    for step, seconds in timings.items():
        print(f"{seconds:7.1f} s  {step}")
    print("stand-in bases:", ROOT_IMAGE, *IMAGES)
    return 0


if __name__ == "__main__":
    sys.exit(main())
