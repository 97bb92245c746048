"""The RealWorld (Conduit) API under ``REALWORLD_PREFIX``.

A third front door over the same services as the site and ``/api/v1``: it only translates
Conduit's JSON shapes and token header to service calls, and service errors back to Conduit's
``{"errors": {...}}`` shape.
"""

from __future__ import annotations

from flask import Flask

# The route modules attach their views to the blueprint when imported.
from penpress.api.realworld import articles, comments, profiles, tags, users
from penpress.api.realworld.blueprint import bp
from penpress.api.realworld.errors import conduit_renderer
from penpress.errors import error_registry
from penpress.extensions import csrf

ROUTE_MODULES = (articles, comments, profiles, tags, users)


def init_app(app: Flask) -> None:
    """Register the Conduit API on ``app``."""
    prefix = app.config["REALWORLD_PREFIX"].rstrip("/")
    # Conduit clients authenticate with a token header only, never the session cookie, so a
    # cross-site form cannot act for anyone: CSRF tokens have nothing to protect here.
    csrf.exempt(bp)
    app.register_blueprint(bp, url_prefix=prefix)
    # A NUL character in the path names nothing (404); in the query it is a field error (422).
    error_registry(app).register(prefix, conduit_renderer, nul_in_path=404, nul_in_value=422)
