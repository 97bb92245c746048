"""Uploaded images: upload one (multipart), list your own."""

from __future__ import annotations

from typing import Any

from penpress.api.v1.core import ApiBlueprint, acting_user, documented
from penpress.api.v1.schemas import (
    MediaListArgsSchema,
    MediaListSchema,
    MediaSchema,
    MediaUploadSchema,
)
from penpress.http import larger_body, read_upload
from penpress.media import services, urls
from penpress.media.models import Media
from penpress.media.routes import FORM_ROOM

bp = ApiBlueprint(
    "api_v1_media",
    __name__,
    description="Images for posts: uploaded, checked, cleaned of their metadata and resized.",
)

UPLOAD_BODY = {
    "required": True,
    "description": "`multipart/form-data` with the image in the field `file`. The request "
    "body may be at most `MEDIA_MAX_BYTES` (10 MB by default) plus 1 MB.",
    "content": {"multipart/form-data": {"schema": MediaUploadSchema}},
}


@bp.route("", methods=["POST"])
@documented(auth="required", errors=(400, 403, 413, 415, 422))
@bp.doc(requestBody=UPLOAD_BODY)
@bp.response(201, MediaSchema)
@larger_body("MEDIA_MAX_BYTES", extra=FORM_ROOM)
def upload_media() -> tuple[Media, int, dict[str, str]]:
    """Upload an image (JPEG, PNG, WebP or GIF) for posts. Needs the author role.

    The format is read from the content, never the name or the declared type. The image is
    written again from its pixels (EXIF with any GPS position, and other metadata, are
    dropped; the EXIF orientation is applied first) with resized versions. 413 when the file
    is larger than `MEDIA_MAX_BYTES`, 422 when it is not an image we take or has more than
    `MEDIA_MAX_PIXELS` pixels, 429 when the account's upload budget is spent.
    """
    # Parsed here, not by the JSON-only argument parser of the other endpoints.
    data, filename = read_upload("file", services.max_upload_bytes())
    media = services.upload_image(acting_user(), data, filename)
    return media, 201, {"Location": urls.file_url(media.name)}


@bp.route("", methods=["GET"])
@documented(auth="required", errors=(403,), etag=True)
@bp.arguments(MediaListArgsSchema(), location="query")
@bp.response(200, MediaListSchema)
def list_media(args: dict[str, Any]) -> dict[str, Any]:
    """Your own uploads, newest first (to choose a featured image again)."""
    return {"media": services.list_uploads(acting_user(), args["limit"])}
