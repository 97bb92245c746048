"""The addresses of stored images: ``/media/<name>`` on the site, under ``SITE_URL`` outside it."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from flask import current_app, url_for

from penpress.http import external_url
from penpress.media.models import NAME_PATTERN, Media

ENDPOINT = "media.file"
PATH_PREFIX = "/media/"
_PATH = re.compile(re.escape(PATH_PREFIX) + f"({NAME_PATTERN})")


def file_path(name: str) -> str:
    """The site-relative address of a stored file, e.g. ``/media/ab12….jpg``."""
    return url_for(ENDPOINT, name=name)


def file_url(name: str) -> str:
    """The absolute address of a stored file, under ``SITE_URL`` (feeds, APIs, ``og:image``)."""
    return external_url(ENDPOINT, name=name)


def srcset(media: Media, *, absolute: bool = False) -> str:
    """Every version of ``media`` for ``<img srcset>``: ``"<url> 480w, <url> 960w, ..."``."""
    address = file_url if absolute else file_path
    return ", ".join(f"{address(name)} {width}w" for name, width, _ in media.versions())


def name_from_url(url: str) -> str | None:
    """The stored file a URL points at, if it is one of ours: ``/media/<name>`` or the same
    under ``SITE_URL``; ``None`` for anything else."""
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return None
    if parts.query or parts.fragment:
        return None
    site = urlsplit(str(current_app.config["SITE_URL"]))
    if (parts.scheme or parts.netloc) and (parts.scheme, parts.netloc.lower()) != (
        site.scheme,
        site.netloc.lower(),
    ):
        return None
    path = parts.path
    base = site.path.rstrip("/")  # a site served under a sub-path
    if base and path.startswith(base + "/"):
        path = path[len(base) :]
    match = _PATH.fullmatch(path)
    return match.group(1) if match else None
