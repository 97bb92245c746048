"""The RealWorld (Conduit) API under ``REALWORLD_PREFIX``."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register the Conduit API on ``app``."""
