"""The blog's Jinja filters and globals: comment bodies with clickable links, reading time,
times in the reader's own time zone, the pages linked from the header navigation, and how
wide post images are drawn (for ``<img sizes>``)."""

from __future__ import annotations

from datetime import datetime

from flask import Flask

from penpress import timezones
from penpress.accounts.auth import acting_user
from penpress.accounts.services import time_zone_of
from penpress.blog.links import linkify_comment
from penpress.blog.markdown import POST_IMAGE_SIZES, reading_minutes
from penpress.blog.services.pages import nav_pages

# A post card's picture: the whole width on phones, a column beside the text elsewhere.
CARD_IMAGE_SIZES = "(max-width: 40rem) 100vw, 14rem"


def local_datetime(value: datetime | None) -> str:
    """A date and time in the viewer's time zone, e.g. "Mar 29, 2026, 09:00 CEST"."""
    if value is None:
        return ""
    local = timezones.utc_to_local(value, time_zone_of(acting_user()))
    return f"{local:%b} {local.day}, {local.year}, {local:%H:%M} {local.tzname()}"


def init_filters(app: Flask) -> None:
    """``{{ comment.body | linkify_comment }}``, ``{{ post.body | reading_minutes }}``,
    ``{{ post.published_at | local_datetime }}``, ``nav_pages()`` and
    ``POST_IMAGE_SIZES``/``CARD_IMAGE_SIZES``."""
    app.add_template_filter(linkify_comment, "linkify_comment")
    app.add_template_filter(reading_minutes, "reading_minutes")
    app.add_template_filter(local_datetime, "local_datetime")
    app.add_template_global(nav_pages, "nav_pages")
    app.jinja_env.globals.update(
        POST_IMAGE_SIZES=POST_IMAGE_SIZES, CARD_IMAGE_SIZES=CARD_IMAGE_SIZES
    )
