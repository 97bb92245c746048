"""Penpress's own JSON API, ``/api/v1``."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register the v1 API on ``app``."""
