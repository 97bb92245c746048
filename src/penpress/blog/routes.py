"""Routes of the blog blueprint."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("blog", __name__)
