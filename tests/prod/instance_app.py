"""WSGI entry for the multi-instance test: ``gunicorn 'tests.prod.instance_app:create_app()'``."""

from __future__ import annotations

from flask import Flask

from penpress import create_app as create_penpress_app
from penpress.extensions import csrf
from tests.prod.probe import add_probe_routes, site


def create_app() -> Flask:
    """The Penpress app from the environment, plus the probe routes (no CSRF form to fetch)."""
    csrf.exempt(site)
    return add_probe_routes(create_penpress_app())
