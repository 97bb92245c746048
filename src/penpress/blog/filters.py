"""The blog's Jinja filters: comment bodies with clickable links, reading time, and short
Markdown texts of the site (its footer) rendered and sanitised like posts."""

from __future__ import annotations

from functools import lru_cache

from flask import Flask, current_app
from markupsafe import Markup

from penpress.blog.links import linkify_comment
from penpress.blog.markdown import reading_minutes, render_markdown


@lru_cache(maxsize=16)
def _rendered(text: str, site_url: str | None) -> str:
    return render_markdown(text, site_url=site_url)


def site_markdown(text: str | None) -> Markup:
    """A site text (the footer) as sanitised HTML; the few such texts are rendered once per
    process, not on every page."""
    return Markup(_rendered(text or "", current_app.config.get("SITE_URL")))  # noqa: S704


def init_filters(app: Flask) -> None:
    """``{{ comment.body | linkify_comment }}``, ``{{ post.body | reading_minutes }}`` and
    ``{{ site.footer_text | site_markdown }}``."""
    app.add_template_filter(linkify_comment, "linkify_comment")
    app.add_template_filter(reading_minutes, "reading_minutes")
    app.add_template_filter(site_markdown, "site_markdown")
