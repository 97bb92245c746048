"""Tags with the number of published posts carrying each."""

from __future__ import annotations

from typing import Any

from penpress.api.v1.core import ApiBlueprint, documented
from penpress.api.v1.schemas import TagListSchema
from penpress.blog import services

bp = ApiBlueprint("api_v1_tags", __name__, description="Tags.")


@bp.route("", methods=["GET"])
@documented(auth="optional", etag=True)
@bp.response(200, TagListSchema)
def list_tags() -> dict[str, Any]:
    """Every tag in use with its count of published posts, most used first."""
    tags = services.tags_with_counts()
    return {"tags": [{"name": n, "slug": s, "post_count": c} for n, s, c in tags]}
