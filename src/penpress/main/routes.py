"""Routes of the main blueprint."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("main", __name__)
