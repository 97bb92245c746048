"""Conduit's error shape: ``{"errors": {"field": ["message", ...]}}``."""

from __future__ import annotations

from flask import Response, current_app

from penpress.errors import ErrorInfo

# Service field names that Conduit calls something else.
FIELD_NAMES = {"summary": "description", "tags": "tagList", "image_url": "image"}

# Errors about no field in particular go under this key: the spec's error model requires it.
GENERAL_KEY = "body"


def conduit_renderer(info: ErrorInfo) -> Response:
    """Render any error under the Conduit prefix in the spec's shape.

    Conduit has no 409: a username or email that is taken is a validation failure (422).
    """
    status = 422 if info.status == 409 else info.status
    errors = {
        FIELD_NAMES.get(name, name): list(messages) for name, messages in info.details.items()
    }
    if not errors:
        errors = {GENERAL_KEY: [info.message]}
    response = current_app.json.response({"errors": errors})
    response.status_code = status
    response.headers.update(info.headers)
    if status == 401:
        response.headers["WWW-Authenticate"] = "Token"
    return response  # type: ignore[return-value]  # a flask.Response at run time
