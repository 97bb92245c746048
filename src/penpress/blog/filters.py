"""The blog's Jinja filters: comment bodies with clickable links, and reading time."""

from __future__ import annotations

from flask import Flask

from penpress.blog.links import linkify_comment
from penpress.blog.markdown import reading_minutes


def init_filters(app: Flask) -> None:
    """``{{ comment.body | linkify_comment }}`` and ``{{ post.body | reading_minutes }}``."""
    app.add_template_filter(linkify_comment, "linkify_comment")
    app.add_template_filter(reading_minutes, "reading_minutes")
