"""The media blueprint: stored images at ``/media/<name>``, and uploads from the editor.

``/media/<name>`` is for development and for sites without a web server in front: in
production nginx serves the same folder itself (deploy/penpress-locations.conf). Uploads from
the editor's script answer JSON, errors included; the page's session and CSRF token
authenticate them.
"""

from __future__ import annotations

from typing import Any, cast

from flask import Blueprint, Flask, Response, abort, request, send_file
from flask.blueprints import BlueprintSetupState
from flask.typing import ResponseReturnValue

from penpress.accounts.auth import acting_user
from penpress.errors import error_registry, json_renderer
from penpress.http import larger_body, read_upload
from penpress.media import services, urls
from penpress.media.images import FORMATS
from penpress.media.models import Media
from penpress.media.storage import check_name, storage_for

bp = Blueprint("media", __name__)

UPLOADS_PATH = "/uploads"
# A year, and never revalidated: a stored name is never reused for other content.
CACHE_SECONDS = 365 * 24 * 60 * 60
CONTENT_TYPES = {extension: content_type for content_type, extension in FORMATS.values()}
# Room for the multipart framing around the file (and a post form's own fields).
FORM_ROOM = 1024 * 1024


@bp.record_once
def _answer_json(state: BlueprintSetupState) -> None:
    """The editor's script reads the upload's errors as JSON, like its answers."""
    error_registry(cast(Flask, state.app)).register(UPLOADS_PATH, json_renderer)


@bp.get("/media/<name>")
def file(name: str) -> ResponseReturnValue:
    """A stored image, cached by browsers for a year."""
    try:
        check_name(name)
    except ValueError:
        abort(404)
    if name in request.if_none_match:  # names are never reused: the copy is still right
        response = Response(status=304)
    else:
        try:
            stream = storage_for().open(name)
        except FileNotFoundError:
            abort(404)
        response = send_file(stream, mimetype=CONTENT_TYPES[name.rpartition(".")[2]])
    response.set_etag(name)  # the name is the content's identity
    response.cache_control.public = True
    response.cache_control.max_age = CACHE_SECONDS
    response.cache_control.immutable = True
    return response


@bp.post(UPLOADS_PATH)
@larger_body("MEDIA_MAX_BYTES", extra=FORM_ROOM)
def upload() -> ResponseReturnValue:
    """Upload an image from the editor (field ``file``): 201 with its addresses and the
    Markdown to insert."""
    data, filename = read_upload("file", services.max_upload_bytes())
    media = services.upload_image(acting_user(), data, filename)
    return upload_answer(media, alt=_alt_from(filename)), 201


def upload_answer(media: Media, alt: str = "") -> dict[str, Any]:
    """What the editor needs to show and insert an upload."""
    url = urls.file_url(media.name)
    small = media.version_for(240)
    return {
        "id": media.id,
        "url": url,
        "path": urls.file_path(media.name),
        "thumbnail": urls.file_path(small[0]),
        "srcset": urls.srcset(media),
        "width": media.width,
        "height": media.height,
        "name": media.original_name,
        "alt": alt,
        "markdown": f"![{_markdown_text(alt)}]({url})",
        "created_at": media.created_at.isoformat(),
    }


def _alt_from(filename: str) -> str:
    """A first guess at the alt text: the file's name in words ("pasted" images get none)."""
    stem = services.display_name(filename).rpartition(".")[0] or services.display_name(filename)
    words = " ".join(stem.replace("_", " ").replace("-", " ").split())
    return "" if words.lower() in ("image", "blob", "") else words[:120]


def _markdown_text(text: str) -> str:
    """``text`` safe inside ``![...]``: brackets and backslashes escaped."""
    for char in "\\[]":
        text = text.replace(char, "\\" + char)
    return text
