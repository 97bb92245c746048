"""The blog's Jinja filters and globals: comment bodies with clickable links, reading time, how
wide post images are drawn (for ``<img sizes>``), and short Markdown texts of the site (its
footer) rendered and sanitised like posts."""

from __future__ import annotations

from functools import lru_cache

from flask import Flask, current_app
from markupsafe import Markup

from penpress.blog.links import linkify_comment
from penpress.blog.markdown import POST_IMAGE_SIZES, reading_minutes, render_markdown

# A post card's picture: the whole width on phones, a column beside the text elsewhere.
CARD_IMAGE_SIZES = "(max-width: 40rem) 100vw, 14rem"


@lru_cache(maxsize=16)
def _rendered(text: str, site_url: str | None) -> str:
    return render_markdown(text, site_url=site_url)


def site_markdown(text: str | None) -> Markup:
    """A site text (the footer) as sanitised HTML; the few such texts are rendered once per
    process, not on every page."""
    return Markup(_rendered(text or "", current_app.config.get("SITE_URL")))  # noqa: S704


def init_filters(app: Flask) -> None:
    """``{{ comment.body | linkify_comment }}``, ``{{ post.body | reading_minutes }}``,
    ``{{ site.footer_text | site_markdown }}`` and ``POST_IMAGE_SIZES``/``CARD_IMAGE_SIZES``."""
    app.add_template_filter(linkify_comment, "linkify_comment")
    app.add_template_filter(reading_minutes, "reading_minutes")
    app.add_template_filter(site_markdown, "site_markdown")
    app.jinja_env.globals.update(
        POST_IMAGE_SIZES=POST_IMAGE_SIZES, CARD_IMAGE_SIZES=CARD_IMAGE_SIZES
    )
