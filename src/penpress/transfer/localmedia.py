"""Images of an imported blog taken from a local folder (``--media-dir``), never downloaded.

A WordPress or Ghost site may already be offline, and fetching addresses named in a file is
how an import would be made to reach into a private network: so images come only from the
folder the operator gives (a copy of ``wp-content/uploads`` or of Ghost's ``content/images``).
Each is checked and cleaned exactly as an upload is (``media.images.clean_image``: by content,
re-encoded without metadata, resized), written to a temporary folder, and becomes a ``media``
record; the import then stores the files with the rest, in its transaction.
"""

from __future__ import annotations

import re
import secrets
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from flask import current_app

from penpress.database import utcnow
from penpress.media import images
from penpress.media.models import Media
from penpress.media.urls import PATH_PREFIX

# Where the platforms keep uploads: the part of an address after it is the file's place in
# the folder given.
_UPLOAD_FOLDERS = ("/wp-content/uploads/", "/content/images/")
_RESIZED = re.compile(r"-\d+x\d+(?=\.[A-Za-z0-9]+$)")  # WordPress's "photo-300x200.jpg"


class LocalMedia:
    def __init__(self, folder: Path | None) -> None:
        self.folder = Path(folder).resolve() if folder else None
        self._temporary: tempfile.TemporaryDirectory[str] | None = None  # made when needed
        self.files: dict[str, Path] = {}  # stored name -> its file in the temporary folder
        self.records: list[tuple[str, dict[str, Any]]] = []
        self._found: dict[Path, str] = {}  # file in the folder -> media name

    def close(self) -> None:
        if self._temporary is not None:
            self._temporary.cleanup()
            self._temporary = None

    def _place(self, url: str) -> Path | None:
        """The file an address names in the folder (``None`` outside it or not there)."""
        if self.folder is None:
            return None
        path = unquote(urlsplit(url.replace("__GHOST_URL__", "")).path)
        for marker in _UPLOAD_FOLDERS:
            if marker in path:
                path = path.split(marker, 1)[1]
                break
        else:
            path = path.rsplit("/", 1)[-1]
        for candidate in (path, _RESIZED.sub("", path)):
            place = (self.folder / candidate.lstrip("/")).resolve()
            if place.is_relative_to(self.folder) and place.is_file():
                return place
        return None

    def image(self, url: str, owner: str, where: str, warn: Callable[[str], None]) -> str | None:
        """The media name of the image at ``url``, stored from the folder (once per file);
        ``None`` when the folder lacks it or it is not an image we take."""
        place = self._place(url)
        if place is None:
            return None
        if place in self._found:
            return self._found[place]
        config = current_app.config
        try:
            clean = images.clean_image(
                place.read_bytes(),
                max_pixels=int(config["MEDIA_MAX_PIXELS"]),
                widths=config["MEDIA_WIDTHS"],
            )
        except (images.ImageRefused, OSError) as refused:
            warn(f"{place.name} is not used: {refused}")
            return None
        media = Media(name=f"{secrets.token_hex(16)}.{clean.extension}")
        if self._temporary is None:
            self._temporary = tempfile.TemporaryDirectory(prefix="penpress-import-")
        folder = Path(self._temporary.name)
        versions = [(media.version_name(w), v.data) for w, v in clean.resized.items()]
        for name, data in [*versions, (media.name, clean.data)]:
            (folder / name).write_bytes(data)
            self.files[name] = folder / name
        self.records.append(
            (
                where,
                {
                    "name": media.name,
                    "owner": owner,
                    "content_type": clean.content_type,
                    "width": clean.width,
                    "height": clean.height,
                    "byte_size": len(clean.data),
                    "widths": sorted(clean.resized),
                    "original_name": place.name[:255],
                    "created_at": utcnow().isoformat(),
                },
            )
        )
        self._found[place] = media.name
        return media.name

    def rewrite(self, text: str, url: str, name: str) -> str:
        """``text`` with the address ``url`` (and WordPress's resized copies of it) pointing
        at the stored image instead."""
        stem, dot, extension = url.rpartition(".")
        if not dot:
            return text.replace(url, PATH_PREFIX + name)
        pattern = re.escape(stem) + r"(?:-\d+x\d+)?" + re.escape(dot + extension)
        return re.sub(pattern, PATH_PREFIX + name, text)
