"""The Conduit API's blueprint; its route modules attach their views to it."""

from __future__ import annotations

from flask import Blueprint, Response

bp = Blueprint("realworld", __name__)


@bp.after_request
def no_store(response: Response) -> Response:
    """Answers depend on the caller's token (and some carry one): keep them out of caches."""
    response.headers.setdefault("Cache-Control", "no-store")
    return response
