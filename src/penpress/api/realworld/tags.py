"""Tags in use on published articles, most used first."""

from __future__ import annotations

from penpress.api.realworld.blueprint import bp
from penpress.blog import services as blog


@bp.get("/tags")
def list_tags() -> tuple[dict[str, object], int]:
    """Every tag of a published article, most used first (Conduit's "popular tags")."""
    return {"tags": [name for name, _slug, _count in blog.tags_with_counts()]}, 200
