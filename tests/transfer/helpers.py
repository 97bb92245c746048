"""Reading exports and counting rows, for the transfer tests."""

from __future__ import annotations

import hashlib
import json
import zipfile
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from penpress.accounts.models import Follow, User
from penpress.blog.models import Comment, Favorite, Page, Post, Tag, post_tags
from penpress.extensions import db
from penpress.media.models import Media
from penpress.newsletter.models import Subscriber
from penpress.settings.models import SiteSetting
from penpress.transfer.models import LegacyPath

COUNTED = {
    "users": User,
    "tags": Tag,
    "posts": Post,
    "comments": Comment,
    "favorites": Favorite,
    "follows": Follow,
    "settings": SiteSetting,
    "media": Media,
    "subscribers": Subscriber,
    "redirects": LegacyPath,
    "pages": Page,
}


def row_counts() -> dict[str, int]:
    """Rows per table the imports write (in an app context)."""
    counts = {
        name: db.session.scalar(select(func.count()).select_from(model)) or 0
        for name, model in COUNTED.items()
    }
    counts["post_tags"] = db.session.scalar(select(func.count()).select_from(post_tags)) or 0
    return counts


def members(path: Path) -> dict[str, list[Any]]:
    """Every JSON Lines member of an export, parsed; the manifest without its date."""
    with zipfile.ZipFile(path) as archive:
        found: dict[str, list[Any]] = {}
        for name in archive.namelist():
            if name.startswith("media/"):
                found[name] = [archive.read(name)]
                continue
            text = archive.read(name).decode()
            if name == "manifest.json":
                manifest = json.loads(text)
                manifest.pop("exported_at")
                found[name] = [manifest]
            else:
                found[name] = [json.loads(line) for line in text.splitlines()]
        return found


def write_zip(path: Path, files: dict[str, str | bytes]) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        for name, content in files.items():
            archive.writestr(name, content)
    return path


def rewrite(source: Path, target: Path, changes: dict[str, str | bytes | None]) -> Path:
    """A copy of the export ``source`` with members replaced (None drops one)."""
    with zipfile.ZipFile(source) as original, zipfile.ZipFile(target, "w") as copy:
        for name in original.namelist():
            if name in changes:
                continue
            copy.writestr(name, original.read(name))
        for name, content in changes.items():
            if content is not None:
                copy.writestr(name, content)
    return target


def with_records(source: Path, target: Path, member: str, lines: list[str]) -> Path:
    """A copy of ``source`` whose ``member`` holds ``lines``, with a manifest that agrees (so
    only the records themselves are wrong)."""
    body = "".join(line + "\n" for line in lines).encode()
    with zipfile.ZipFile(source) as original:
        manifest = json.loads(original.read("manifest.json"))
    manifest["files"][member] = {"records": len(lines), "sha256": hashlib.sha256(body).hexdigest()}
    return rewrite(source, target, {member: body, "manifest.json": json.dumps(manifest)})


def records_of(path: Path, member: str) -> list[dict[str, Any]]:
    with zipfile.ZipFile(path) as archive:
        return [json.loads(line) for line in archive.read(member).decode().splitlines()]
