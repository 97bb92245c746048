"""Template filters, globals and context shared by every page."""

from __future__ import annotations

from flask import Flask


def init_templating(app: Flask) -> None:
    """Register Jinja filters and context processors."""
