"""Domain exceptions and the one registry that turns any error into a response.

Services raise the domain errors below; each front door (site, ``/api/v1``, Conduit) renders
them in its own shape through a renderer registered for its URL prefix. Nothing internal is
ever sent to a client: unexpected exceptions become a plain 500 and are logged.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from flask import Flask, Response, current_app, g, has_request_context, render_template, request
from markupsafe import escape
from sqlalchemy.exc import IntegrityError
from werkzeug.exceptions import HTTPException, InternalServerError

from penpress.extensions import db

log = logging.getLogger(__name__)


class DomainError(Exception):
    """A rule of the domain was broken; ``status`` is the HTTP status that fits."""

    status = 400
    default_message = "The request could not be processed."

    def __init__(
        self,
        message: str | None = None,
        details: dict[str, list[str]] | None = None,
        *,
        keep_changes: bool = False,
    ):
        self.message = message or self.default_message
        self.details = details or {}
        # True when the request fails but what the service did must be saved (a revocation).
        self.keep_changes = keep_changes
        super().__init__(self.message)


class Unauthorized(DomainError):
    status = 401
    default_message = "Authentication is required."


class Forbidden(DomainError):
    status = 403
    default_message = "You are not allowed to do that."


class NotFound(DomainError):
    status = 404
    default_message = "Not found."


class Conflict(DomainError):
    status = 409
    default_message = "That conflicts with existing data."


class Invalid(DomainError):
    status = 422
    default_message = "The data is invalid."

    @classmethod
    def field(cls, name: str, message: str) -> Invalid:
        return cls(message, {name: [message]})


class OddInput(DomainError):
    """A NUL character in the URL path or in a query or form value: nothing can store one.

    Its status depends on the front door (see ``FrontDoor``); ``name`` is the value's name,
    ``None`` when the character is in the path.
    """

    status = 400
    default_message = "The request was malformed."

    def __init__(self, name: str | None = None):
        super().__init__(details={name: [NUL_MESSAGE]} if name else None)
        self.in_path = name is None


class TooLarge(DomainError):
    """What was sent is larger than allowed (an uploaded file); the message says the limit."""

    status = 413
    default_message = "The request is too large."


class Unsupported(DomainError):
    """What was sent is of a kind this endpoint does not take (e.g. not a multipart upload)."""

    status = 415
    default_message = "Unsupported media type."


class ServiceUnavailable(DomainError):
    status = 503
    default_message = "The service is temporarily unavailable. Please try again shortly."


class RateLimited(DomainError):
    """A budget a service keeps (writes per account, failed passwords per account) is spent;
    ``retry_after`` is the number of seconds until it refills."""

    status = 429
    default_message = "Too many requests. Please slow down and try again later."

    def __init__(self, message: str | None = None, *, retry_after: int):
        super().__init__(message)
        self.retry_after = max(1, int(retry_after))


# Seconds a client is told to wait (``Retry-After``) when the database or Redis is unreachable;
# /readyz says the same. Documented in the README ("When PostgreSQL or Redis is down").
UNAVAILABLE_RETRY_AFTER = 30


@dataclass
class ErrorInfo:
    """What a renderer needs to build an error response."""

    status: int
    message: str
    details: dict[str, list[str]] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)


Renderer = Callable[[ErrorInfo], Response]

NUL_MESSAGE = "must not contain NUL characters"


def refuse_nul(**values: str | None) -> None:
    """``Invalid`` naming each of ``values`` holding a NUL character (PostgreSQL refuses them).

    Services call it on the text they store or look up, so every front door is covered.
    """
    details = {name: [NUL_MESSAGE] for name, value in values.items() if value and "\x00" in value}
    if details:
        raise Invalid("Please correct the highlighted fields.", details)


@dataclass(frozen=True)
class FrontDoor:
    """How one URL prefix answers errors: its renderer, and its statuses for odd input.

    A NUL character in the path names nothing that can exist (the APIs say 404); one in a
    query or form value is a field error (the APIs say 422). The site says 400 to both.
    """

    renderer: Renderer
    nul_in_path: int = 400
    nul_in_value: int = 400

    def status_for(self, error: DomainError) -> int:
        if isinstance(error, OddInput):
            return self.nul_in_path if error.in_path else self.nul_in_value
        return error.status


# What a client is told when its change collided with another one (a unique constraint).
CONFLICT_MESSAGE = "That conflicts with a change made just now."

# Messages for HTTP statuses, safe to show to anyone.
HTTP_MESSAGES = {
    400: "The request was malformed.",
    401: "Authentication is required.",
    403: "You are not allowed to do that.",
    404: "The page or resource was not found.",
    405: "That method is not allowed here.",
    409: "That conflicts with existing data.",
    413: "The request is too large.",
    415: "Unsupported media type: send JSON with Content-Type: application/json.",
    422: "The data is invalid.",
    429: "Too many requests. Please slow down and try again later.",
    500: "Something went wrong on our side. It has been logged.",
    503: "The service is temporarily unavailable. Please try again shortly.",
}


def html_renderer(info: ErrorInfo) -> Response:
    try:
        body = render_template("errors/error.html", error=info)
    except Exception:
        # The error page must not fail too (its layout may need the database that is down).
        log.exception("error page could not be rendered; sending a plain one")
        body = (
            f"<!doctype html><title>{info.status}</title><h1>{info.status}</h1>"
            f"<p>{escape(info.message)}</p>"
        )
    return Response(body, status=info.status, headers=info.headers, mimetype="text/html")


def json_renderer(info: ErrorInfo) -> Response:
    error: dict[str, Any] = {"code": info.status, "message": info.message}
    if info.details:
        error["details"] = info.details
    response = current_app.json.response({"error": error})
    response.status_code = info.status
    response.headers.update(info.headers)
    return response  # type: ignore[return-value]  # a flask.Response at run time


class ErrorRegistry:
    """Chooses a front door by the longest matching URL prefix; the HTML site is the default."""

    def __init__(self) -> None:
        self._doors: dict[str, FrontDoor] = {}
        self._site = FrontDoor(html_renderer)

    def register(
        self, prefix: str, renderer: Renderer, *, nul_in_path: int = 400, nul_in_value: int = 400
    ) -> None:
        door = FrontDoor(renderer, nul_in_path=nul_in_path, nul_in_value=nul_in_value)
        self._doors[prefix.rstrip("/") + "/"] = door

    def door_for(self, path: str) -> FrontDoor:
        matches = [p for p in self._doors if path.startswith(p) or path + "/" == p]
        if not matches:
            return self._site
        return self._doors[max(matches, key=len)]

    def renderer_for(self, path: str) -> Renderer:
        return self.door_for(path).renderer

    def render(self, info: ErrorInfo) -> Response:
        return self.renderer_for(request.path)(info)

    def render_domain_error(self, error: DomainError) -> Response:
        door = self.door_for(request.path)
        status = door.status_for(error)
        headers: dict[str, str] = {}
        if isinstance(error, RateLimited):
            headers["Retry-After"] = str(error.retry_after)
        elif status == 503:
            headers["Retry-After"] = str(UNAVAILABLE_RETRY_AFTER)
        return door.renderer(ErrorInfo(status, error.message, error.details, headers))


def error_registry(app: Flask) -> ErrorRegistry:
    registry: ErrorRegistry = app.extensions["penpress_errors"]
    return registry


def render_error(info: ErrorInfo) -> Response:
    """Render ``info`` in the shape of the front door the current request came through."""
    return error_registry(current_app).render(info)


def info_from_http_exception(error: HTTPException) -> ErrorInfo:
    status = error.code or 500
    message = HTTP_MESSAGES.get(status) or (error.description or "Error")
    if status == 413 and has_request_context() and request.max_content_length:
        # The limit of this request (uploads have their own): a 413 should say what fits.
        limit = request.max_content_length / 1024 / 1024
        message = f"The request is too large. At most {limit:.1f} MB may be sent here."
    headers: dict[str, str] = {}
    if status == 405 and hasattr(error, "valid_methods") and error.valid_methods:
        headers["Allow"] = ", ".join(error.valid_methods)
    if status == 429:
        headers["Retry-After"] = _retry_after(error)
    elif status == 503:
        headers["Retry-After"] = str(UNAVAILABLE_RETRY_AFTER)
    details = getattr(error, "data", {}).get("messages") if hasattr(error, "data") else None
    return ErrorInfo(status, message, _flatten_details(details) if details else {}, headers)


def _retry_after(error: HTTPException) -> str:
    """The seconds a 429 names: set by whoever raised it (Flask-Limiter's breach callback in
    :mod:`penpress.ratelimits`), else a minute, the window of most limits."""
    response = error.get_response()
    return response.headers.get("Retry-After", "60")


def _flatten_details(messages: Any) -> dict[str, list[str]]:
    """webargs nests messages by location (json, query); clients want them by field."""
    details: dict[str, list[str]] = {}
    if not isinstance(messages, dict):
        return {"_request": [str(messages)]}
    for location_or_field, value in messages.items():
        if location_or_field in {"json", "query", "form", "headers", "files", "view_args"} and (
            isinstance(value, dict)
        ):
            details.update(_flatten_details(value))
        elif isinstance(value, list):
            details[str(location_or_field)] = [str(v) for v in value]
        elif isinstance(value, dict):
            for sub, sub_messages in _flatten_details(value).items():
                details[f"{location_or_field}.{sub}"] = sub_messages
        else:
            details[str(location_or_field)] = [str(value)]
    return details


def register_error_handlers(app: Flask) -> None:
    registry = ErrorRegistry()
    registry.register("/api", json_renderer, nul_in_path=404, nul_in_value=422)
    app.extensions["penpress_errors"] = registry

    @app.errorhandler(DomainError)
    def handle_domain_error(error: DomainError) -> Response:
        if error.keep_changes:
            db.session.commit()
        else:
            db.session.rollback()
        return registry.render_domain_error(error)

    @app.errorhandler(IntegrityError)
    def handle_integrity_error(error: IntegrityError) -> Response:
        # A unique constraint lost to a concurrent request (or an identical one in the same
        # instant) during a flush: the same answer as when the commit loses the race.
        db.session.rollback()
        log.info("a flush lost a race on a constraint on %s %s", request.method, request.path)
        return registry.render(ErrorInfo(409, CONFLICT_MESSAGE))

    @app.errorhandler(HTTPException)
    def handle_http_exception(error: HTTPException) -> Response:
        original = getattr(error, "original_exception", None)
        if isinstance(error, InternalServerError) and isinstance(original, Exception):
            # Raised outside the view (e.g. the commit in after_request): Flask wraps it in a
            # 500 that lands here; a database or Redis outage must still read as a 503.
            if isinstance(original, IntegrityError):
                return handle_integrity_error(original)
            return handle_unexpected(original)
        if (error.code or 500) >= 400:
            db.session.rollback()
        return registry.render(info_from_http_exception(error))

    @app.errorhandler(Exception)
    def handle_unexpected(error: Exception) -> Response:
        db.session.rollback()
        unavailable = _unavailable_backend(error)
        if unavailable:
            log.error("backend unavailable: %s", unavailable)
            _render_as_anonymous()
            return registry.render(
                ErrorInfo(
                    503,
                    HTTP_MESSAGES[503],
                    headers={"Retry-After": str(UNAVAILABLE_RETRY_AFTER)},
                )
            )
        log.exception("unhandled error on %s %s", request.method, request.path)
        return registry.render(ErrorInfo(500, HTTP_MESSAGES[500]))


def _render_as_anonymous() -> None:
    """Let templates see an anonymous user instead of loading one from an unreachable database."""
    if "_login_user" not in g:
        from penpress.extensions import login_manager

        g._login_user = login_manager.anonymous_user()


# SQLite result codes (primary, so their extended forms match too) that mean the database file
# cannot be opened or read right now (its folder unmounted or unreadable, a disk failing), not
# that the request or the schema is wrong: answered like an unreachable PostgreSQL server.
SQLITE_UNREACHABLE = ("SQLITE_CANTOPEN", "SQLITE_IOERR")


def _unavailable_backend(error: Exception) -> str | None:
    """Name the backend when ``error`` means the database or Redis cannot be reached."""
    from sqlalchemy.exc import DBAPIError

    if isinstance(error, DBAPIError) and error.connection_invalidated:
        return "database"
    if isinstance(error, DBAPIError) and type(error.orig).__name__ == "OperationalError":
        text = str(error.orig).lower()
        if any(word in text for word in ("connect", "connection", "server closed", "terminat")):
            return "database"
        # SQLite's file (or the disk under it) cannot be reached: the same outage, for users.
        code = str(getattr(error.orig, "sqlite_errorname", ""))
        if code.startswith(SQLITE_UNREACHABLE):
            return "database"
    try:
        import redis
    except ImportError:  # pragma: no cover - redis is a dependency
        return None
    if isinstance(error, redis.exceptions.ConnectionError | redis.exceptions.TimeoutError):
        return "redis"
    return None
