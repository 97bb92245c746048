"""Template globals for showing stored images: their addresses and ``srcset``."""

from __future__ import annotations

from flask import Flask

from penpress.media import urls


def init_templating(app: Flask) -> None:
    """``media_url(name)``, ``media_external_url(name)`` and ``media_srcset(media)``; the
    macros in ``templates/media/_images.html`` use them."""
    app.add_template_global(urls.file_path, "media_url")
    app.add_template_global(urls.file_url, "media_external_url")
    app.add_template_global(urls.srcset, "media_srcset")
