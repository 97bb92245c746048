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

from flask import Flask, Response, current_app, g, render_template, request
from markupsafe import escape
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


class ServiceUnavailable(DomainError):
    status = 503
    default_message = "The service is temporarily unavailable. Please try again shortly."


@dataclass
class ErrorInfo:
    """What a renderer needs to build an error response."""

    status: int
    message: str
    details: dict[str, list[str]] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)


Renderer = Callable[[ErrorInfo], Response]

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
    """Chooses a renderer by the longest matching URL prefix; HTML is the default."""

    def __init__(self) -> None:
        self._renderers: dict[str, Renderer] = {}

    def register(self, prefix: str, renderer: Renderer) -> None:
        self._renderers[prefix.rstrip("/") + "/"] = renderer

    def renderer_for(self, path: str) -> Renderer:
        matches = [p for p in self._renderers if path.startswith(p) or path + "/" == p]
        if not matches:
            return html_renderer
        return self._renderers[max(matches, key=len)]

    def render(self, info: ErrorInfo) -> Response:
        return self.renderer_for(request.path)(info)


def error_registry(app: Flask) -> ErrorRegistry:
    registry: ErrorRegistry = app.extensions["penpress_errors"]
    return registry


def render_error(info: ErrorInfo) -> Response:
    """Render ``info`` in the shape of the front door the current request came through."""
    return error_registry(current_app).render(info)


def info_from_http_exception(error: HTTPException) -> ErrorInfo:
    status = error.code or 500
    message = HTTP_MESSAGES.get(status) or (error.description or "Error")
    headers: dict[str, str] = {}
    if status == 405 and hasattr(error, "valid_methods") and error.valid_methods:
        headers["Allow"] = ", ".join(error.valid_methods)
    if status in (429, 503):
        retry_after = _retry_after(error)
        headers["Retry-After"] = retry_after
    details = getattr(error, "data", {}).get("messages") if hasattr(error, "data") else None
    return ErrorInfo(status, message, _flatten_details(details) if details else {}, headers)


def _retry_after(error: HTTPException) -> str:
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
    registry.register("/api", json_renderer)
    app.extensions["penpress_errors"] = registry

    @app.errorhandler(DomainError)
    def handle_domain_error(error: DomainError) -> Response:
        if error.keep_changes:
            db.session.commit()
        else:
            db.session.rollback()
        headers = {"Retry-After": "30"} if error.status == 503 else {}
        return registry.render(ErrorInfo(error.status, error.message, error.details, headers))

    @app.errorhandler(HTTPException)
    def handle_http_exception(error: HTTPException) -> Response:
        original = getattr(error, "original_exception", None)
        if isinstance(error, InternalServerError) and isinstance(original, Exception):
            # Raised outside the view (e.g. the commit in after_request): Flask wraps it in a
            # 500 that lands here; a database or Redis outage must still read as a 503.
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
                ErrorInfo(503, HTTP_MESSAGES[503], headers={"Retry-After": "30"})
            )
        log.exception("unhandled error on %s %s", request.method, request.path)
        return registry.render(ErrorInfo(500, HTTP_MESSAGES[500]))


def _render_as_anonymous() -> None:
    """Let templates see an anonymous user instead of loading one from an unreachable database."""
    if "_login_user" not in g:
        from penpress.extensions import login_manager

        g._login_user = login_manager.anonymous_user()


def _unavailable_backend(error: Exception) -> str | None:
    """Name the backend when ``error`` means the database or Redis cannot be reached."""
    from sqlalchemy.exc import DBAPIError

    if isinstance(error, DBAPIError) and error.connection_invalidated:
        return "database"
    if isinstance(error, DBAPIError) and type(error.orig).__name__ == "OperationalError":
        text = str(error.orig).lower()
        if any(word in text for word in ("connect", "connection", "server closed", "terminat")):
            return "database"
    try:
        import redis
    except ImportError:  # pragma: no cover - redis is a dependency
        return None
    if isinstance(error, redis.exceptions.ConnectionError | redis.exceptions.TimeoutError):
        return "redis"
    return None
