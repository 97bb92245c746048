"""HTTP helpers every front door shares: odd input, safe redirects, absolute URLs.

Odd input is refused once for every front door (site, ``/api/v1``, Conduit). PostgreSQL cannot
store, or even compare, text holding a NUL character, and its integer columns end at
2**31 - 1: without these checks such input would reach the database and become a 500. Each
front door still answers in its own shape and status: see ``FrontDoor`` in
:mod:`penpress.errors`. So is a body over ``MAX_CONTENT_LENGTH`` sent without a length
(``Transfer-Encoding: chunked``): Werkzeug would silently cut it at the limit, and the view
would read half a document.

Absolute URLs (in emails, feeds, the sitemap, API ``Location`` and ``Link`` headers) are built
from ``SITE_URL`` only, never from the request's ``Host`` header, which a client chooses.
"""

from __future__ import annotations

from collections.abc import Callable
from io import BytesIO
from itertools import chain
from typing import Any, TypeVar
from urllib.parse import urlsplit

from flask import Flask, current_app, request
from werkzeug.datastructures import MultiDict
from werkzeug.exceptions import NotFound, RequestEntityTooLarge
from werkzeug.routing import IntegerConverter, Map, ValidationError

from penpress.errors import Invalid, OddInput, Unsupported

# The largest value our integer primary keys can hold; no row has a bigger (or a smaller) id.
MAX_ID = 2**31 - 1
FORM_TYPES = frozenset({"application/x-www-form-urlencoded", "multipart/form-data"})

F = TypeVar("F", bound=Callable[..., Any])

_BODY_LIMIT = "_penpress_body_limit"  # attribute on a view function: (config key, extra bytes)


class IdConverter(IntegerConverter):
    """``<int:...>`` for the whole app: only 1 to ``MAX_ID`` can be an id, anything else is a 404.

    No two rules here share a path where one has an id and the other a string, so refusing
    the number outright never hides a rule that would have matched.
    """

    def __init__(
        self,
        map: Map,  # noqa: A002  (werkzeug's name)
        fixed_digits: int = 0,
        min: int | None = 1,  # noqa: A002
        max: int | None = MAX_ID,  # noqa: A002
        signed: bool = False,
    ) -> None:
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)

    def to_python(self, value: str) -> int:
        # A 404 at once: were the rule merely skipped, a rule for the same path with another
        # method (GET next to DELETE) would turn the answer into a 405.
        try:
            number: int = super().to_python(value)
        except ValidationError:
            raise NotFound() from None
        return number


def refuse_oversized_streams() -> None:
    """A body without ``Content-Length`` (chunked) larger than ``MAX_CONTENT_LENGTH``: 413.

    Werkzeug enforces the limit on such bodies only by stopping to read at it, so the view
    would get the first ``MAX_CONTENT_LENGTH`` bytes as if they were all (and answer 400 for
    JSON cut in half). Here the body is read up to one byte past the limit before the view
    runs: more is a 413; otherwise the view reads it from memory, all of it. Runs before
    anything reads the body (the CSRF check, the NUL check).
    """
    limit = request.max_content_length
    environ = request.environ
    if (
        limit is None
        or request.content_length is not None
        or "chunked" not in request.headers.get("Transfer-Encoding", "").lower()
        or not environ.get("wsgi.input_terminated")  # else Werkzeug reads no body at all
    ):
        return
    stream = environ["wsgi.input"]
    body = bytearray()
    while len(body) <= limit:
        chunk = stream.read(min(64 * 1024, limit + 1 - len(body)))
        if not chunk:
            break
        body.extend(chunk)
    if len(body) > limit:
        raise RequestEntityTooLarge()
    environ["wsgi.input"] = BytesIO(bytes(body))


def larger_body(config_key: str, *, extra: int = 0) -> Callable[[F], F]:
    """Let a view take a multipart body (an upload) of up to ``config[config_key] + extra``
    bytes instead of ``MAX_CONTENT_LENGTH``: the file's own limit plus room for the form
    around it. Other bodies sent to it keep ``MAX_CONTENT_LENGTH``."""

    def decorate(view: F) -> F:
        setattr(view, _BODY_LIMIT, (config_key, extra))
        return view

    return decorate


def apply_body_limit() -> None:
    """Give a multipart request the body limit its view declared with :func:`larger_body`,
    before anything reads the body (the chunked check, the CSRF check, the form parser)."""
    if request.mimetype != "multipart/form-data":
        return
    view = current_app.view_functions.get(request.endpoint or "")
    declared: tuple[str, int] | None = getattr(view, _BODY_LIMIT, None)
    if declared is not None:
        config_key, extra = declared
        request.max_content_length = int(current_app.config[config_key]) + extra


def read_upload(field: str, limit: int) -> tuple[bytes, str]:
    """The file sent in the multipart field ``field``, and its name as the client gave it.

    At most ``limit + 1`` bytes are read, so a caller can tell a file over ``limit`` without
    holding all of it. 415 when the body is not multipart, 422 naming ``field`` without a file.
    """
    if request.mimetype != "multipart/form-data":
        raise Unsupported(f"Send the file as multipart/form-data, in a field named {field!r}.")
    upload = request.files.get(field)
    if upload is None or not upload.filename:  # an empty file input sends a nameless part
        raise Invalid.field(field, "Choose a file to upload.")
    return upload.stream.read(limit + 1), upload.filename or ""


def reject_nul_characters() -> None:
    """Refuse a NUL character in the URL path, the query string or a submitted form."""
    if "\x00" in request.path:
        raise OddInput()
    # Only forms are parsed here: reading another body (JSON, or one too large) is the view's job.
    form = request.form if request.mimetype in FORM_TYPES else MultiDict[str, str]()
    values: Any = chain(request.args.items(multi=True), form.items(multi=True))
    for name, value in values:
        # A multipart part may come without a usable name (werkzeug gives None).
        name, value = name or "", value or ""
        if "\x00" in name or "\x00" in value:
            raise OddInput(name.replace("\x00", "") or "_request")


def init_app(app: Flask) -> None:
    """Install the id converter (before any route is added); the NUL check is a step of the
    app's request lifecycle."""
    app.url_map.converters["int"] = IdConverter


def safe_next(target: str | None) -> str | None:
    """``target`` if it is a path on this site, else ``None`` (no open redirects)."""
    if not target:
        return None
    if "\\" in target or any(ord(char) < 32 or ord(char) == 127 for char in target):
        return None  # browsers read "\" as "/" and drop tabs/newlines: "/\evil" is "//evil"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target


def external_url(endpoint: str, **values: Any) -> str:
    """The absolute public URL of ``endpoint``, under ``SITE_URL`` (with its path, if any).

    Works the same inside and outside a request (emails are built by background jobs), and
    never looks at the request's ``Host`` header.
    """
    base = urlsplit(str(current_app.config["SITE_URL"]))
    adapter = current_app.url_map.bind(
        base.netloc, script_name=base.path or "/", url_scheme=base.scheme
    )
    return adapter.build(endpoint, values, force_external=True)
