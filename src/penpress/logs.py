"""Logging per environment, with a request id on every record and response."""

from __future__ import annotations

import json
import logging
import logging.config
import re
import uuid
from typing import Any

from flask import Flask, Response, g, has_request_context, request

_VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
REQUEST_ID_HEADER = "X-Request-ID"


class RequestIdFilter(logging.Filter):
    """Adds ``request_id`` (or ``-`` outside a request) to every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = g.get("request_id", "-") if has_request_context() else "-"
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line, for log shippers in production."""

    def format(self, record: logging.LogRecord) -> str:
        payload: dict[str, Any] = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", "-"),
        }
        if record.exc_info:
            payload["exception"] = self.formatException(record.exc_info)
        return json.dumps(payload)


# The process's logging set-up, once: (structured?) of the app that configured it.
_configured: list[bool] = []


def configure_logging(app: Flask) -> None:
    """Send the app's logs to stderr, as JSON lines in production; set its log level.

    Logging is process-wide: handlers are installed once, by the first app; every app sets the
    level from its own ``LOG_LEVEL`` (tests build many apps in one process).
    """
    structured = app.config["ENV_NAME"] == "production"
    if _configured != [structured]:
        _install_handlers(structured)
        _configured[:] = [structured]
    for name in ("penpress", "flask.app"):
        logging.getLogger(name).setLevel(app.config["LOG_LEVEL"])


def _install_handlers(structured: bool) -> None:
    logging.config.dictConfig(
        {
            "version": 1,
            "disable_existing_loggers": False,
            "filters": {"request_id": {"()": RequestIdFilter}},
            "formatters": {
                "plain": {
                    "format": "%(asctime)s %(levelname)s [%(request_id)s] %(name)s: %(message)s"
                },
                "json": {"()": JsonFormatter},
            },
            "handlers": {
                "console": {
                    "class": "logging.StreamHandler",
                    "formatter": "json" if structured else "plain",
                    "filters": ["request_id"],
                }
            },
            "loggers": {
                "penpress": {"handlers": ["console"]},
                "flask.app": {"handlers": ["console"]},
            },
        }
    )


def assign_request_id() -> None:
    """Use the client's (or nginx's) ``X-Request-ID`` if it looks sane, else a new one."""
    g.request_id = request_id_from(request.headers.get(REQUEST_ID_HEADER, ""))


def request_id_from(incoming: str) -> str:
    """``incoming`` if it is a sane request id, else a new one."""
    return incoming if _VALID_REQUEST_ID.match(incoming) else uuid.uuid4().hex


def echo_request_id(response: Response) -> None:
    """Return the request id to the client."""
    response.headers[REQUEST_ID_HEADER] = g.get("request_id", "-")
