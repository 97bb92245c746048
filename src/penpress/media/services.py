"""Uploading images and finding them again: who may, how much, and what is kept.

Functions take the acting user first and check it themselves, ``flush()`` but never commit.
The files are written to the storage before the row is flushed; a request that fails later
leaves files no row names, which nothing links to.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Sequence

from flask import current_app
from sqlalchemy import select

from penpress.accounts.models import User
from penpress.errors import Invalid, NotFound, TooLarge, refuse_nul
from penpress.extensions import db
from penpress.media import images, urls
from penpress.media.models import Media
from penpress.media.storage import storage_for
from penpress.permissions import Permission, require
from penpress.ratelimits import Budget

# Uploads per account, whichever front door they come through (decoding images costs CPU).
UPLOADS = Budget(
    "RATELIMIT_UPLOADS", "uploads", "You are uploading images too fast. Try again later."
)
ORIGINAL_NAME_MAX_LENGTH = 255
URL_MAX_LENGTH = 1000
LIBRARY_SIZE = 24  # the uploads the editor offers to pick from


def megabytes(size: int) -> str:
    return f"{size / 1024 / 1024:.1f} MB"


def max_upload_bytes() -> int:
    """The largest image file accepted (``MEDIA_MAX_BYTES``)."""
    return int(current_app.config["MEDIA_MAX_BYTES"])


def upload_image(actor: User | None, data: bytes, filename: str | None = None) -> Media:
    """Keep an uploaded image: checked by its content, written again without its metadata,
    with resized copies. Needs the WRITE permission and counts in the uploader's
    :data:`UPLOADS` budget.

    ``data`` is the file (a front door reads at most one byte more than the limit); ``filename``
    is what the uploader called it, kept only to show them. 413 when it is too large, 422 when
    it is not an image we take.
    """
    owner = require(actor, Permission.WRITE)
    limit = max_upload_bytes()
    if len(data) > limit:
        raise TooLarge(f"The image is larger than {megabytes(limit)}, the most you can upload.")
    if not data:
        raise Invalid.field("file", "The file is empty.")
    UPLOADS.spend(f"user:{owner.id}")
    config = current_app.config
    try:
        clean = images.clean_image(
            data, max_pixels=int(config["MEDIA_MAX_PIXELS"]), widths=config["MEDIA_WIDTHS"]
        )
    except images.ImageRefused as refused:
        raise Invalid.field("file", str(refused)) from None
    media = Media(
        owner=owner,
        # Generated: the uploader's file name ("../../x.png") never reaches the storage.
        name=f"{secrets.token_hex(16)}.{clean.extension}",
        content_type=clean.content_type,
        width=clean.width,
        height=clean.height,
        byte_size=len(clean.data),
        widths=sorted(clean.resized),
        original_name=display_name(filename),
    )
    storage = storage_for()
    for width, version in clean.resized.items():
        storage.save(media.version_name(width), version.data)
    storage.save(media.name, clean.data)
    db.session.add(media)
    db.session.flush()
    return media


def display_name(filename: str | None) -> str:
    """The last part of an uploaded file's name, without control characters, for display."""
    name = (filename or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(char for char in name if char.isprintable()).strip()
    return name[:ORIGINAL_NAME_MAX_LENGTH]


def list_uploads(actor: User | None, limit: int = LIBRARY_SIZE) -> Sequence[Media]:
    """``actor``'s own uploads, newest first (to pick one again); needs WRITE."""
    owner = require(actor, Permission.WRITE)
    stmt = (
        select(Media)
        .where(Media.owner_id == owner.id)
        .order_by(Media.created_at.desc(), Media.id.desc())
        .limit(max(1, min(limit, 100)))
    )
    return db.session.scalars(stmt).all()


def get_own_media(actor: User | None, media_id: int) -> Media:
    """The upload ``media_id`` if it is ``actor``'s (or ``actor`` is an administrator);
    404 otherwise, so other people's uploads are not revealed."""
    user = require(actor, Permission.WRITE)
    media = db.session.get(Media, media_id)
    if media is None or (media.owner_id != user.id and not user.is_admin):
        raise NotFound("No such image among your uploads.")
    return media


def resolve_image(
    actor: User | None, reference: int | str, field: str = "featured_image"
) -> tuple[Media | None, str | None]:
    """What a post's image ``reference`` means: ``(media, None)`` for an upload, ``(None,
    url)`` for an image elsewhere, ``(None, None)`` for none (an empty string).

    An id must be one of ``actor``'s uploads (:func:`get_own_media`, a 422 naming ``field``
    otherwise); an address of one of this site's images (``/media/...``) is that upload,
    whoever uploaded it (it is public); any other address must be an http(s) URL.
    """
    require(actor, Permission.WRITE)
    if isinstance(reference, int):
        try:
            return get_own_media(actor, reference), None
        except NotFound as missing:
            raise Invalid.field(field, missing.message) from None
    refuse_nul(**{field: reference})
    url = reference.strip()
    if not url:
        return None, None
    name = urls.name_from_url(url)
    if name is not None:
        found = find_by_names([name]).get(name)
        if found is None:
            raise Invalid.field(field, "No image is stored at that address.")
        return found, None
    if (
        len(url) > URL_MAX_LENGTH
        or not url.lower().startswith(("https://", "http://"))
        or any(char.isspace() for char in url)
    ):
        raise Invalid.field(
            field,
            f"Give an uploaded image or an http(s) address of at most {URL_MAX_LENGTH} characters.",
        )
    return None, url


def find_by_names(names: Iterable[str]) -> dict[str, Media]:
    """The uploads stored under ``names`` (each the whole image or one of its resized copies),
    by the name asked for: one query, for rendering posts."""
    wanted: dict[str, str] = {}  # asked name -> the whole image's name
    for name in names:
        stem, _, extension = name.rpartition(".")
        wanted[name] = f"{stem.split('-', 1)[0]}.{extension}"
    if not wanted:
        return {}
    found = {
        media.name: media
        for media in db.session.scalars(select(Media).where(Media.name.in_(set(wanted.values()))))
    }
    return {
        asked: found[whole]
        for asked, whole in wanted.items()
        if whole in found and asked in found[whole].file_names()
    }
