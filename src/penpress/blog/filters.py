"""The blog's Jinja filters and globals: comment bodies with clickable links, reading time,
and how wide post images are drawn (for ``<img sizes>``)."""

from __future__ import annotations

from flask import Flask

from penpress.blog.links import linkify_comment
from penpress.blog.markdown import POST_IMAGE_SIZES, reading_minutes

# A post card's picture: the whole width on phones, a column beside the text elsewhere.
CARD_IMAGE_SIZES = "(max-width: 40rem) 100vw, 14rem"


def init_filters(app: Flask) -> None:
    """``{{ comment.body | linkify_comment }}``, ``{{ post.body | reading_minutes }}``, and
    ``POST_IMAGE_SIZES``/``CARD_IMAGE_SIZES``."""
    app.add_template_filter(linkify_comment, "linkify_comment")
    app.add_template_filter(reading_minutes, "reading_minutes")
    app.jinja_env.globals.update(
        POST_IMAGE_SIZES=POST_IMAGE_SIZES, CARD_IMAGE_SIZES=CARD_IMAGE_SIZES
    )
