"""Interactive API docs (Swagger UI) at ``/api/v1/docs``, every asset served by the app.

The page has no inline script: its start-up code is a static file, so the site's strict
Content-Security-Policy (``script-src 'self'; style-src 'self'``) holds here too.
"""

from __future__ import annotations

from flask import Blueprint, Response, abort, render_template, send_from_directory, url_for
from swagger_ui_bundle import swagger_ui_path

bp = Blueprint("api_v1_docs", __name__)

# The only files of the Swagger UI bundle the page needs; nothing else is served from it.
ASSETS = frozenset(
    {
        "swagger-ui.css",
        "swagger-ui-bundle.js",
        "swagger-ui-standalone-preset.js",
        "favicon-16x16.png",
        "favicon-32x32.png",
    }
)


@bp.get("/docs")
def docs() -> str:
    """The Swagger UI page for the OpenAPI document."""
    return render_template("api_v1/docs.html", spec_url=url_for("api-docs.openapi_json"))


@bp.get("/docs/assets/<name>")
def docs_asset(name: str) -> Response:
    """A Swagger UI file from the installed swagger-ui-bundle package (no CDN)."""
    if name not in ASSETS:
        abort(404)
    return send_from_directory(str(swagger_ui_path), name)
