"""What a client needs to show the site as its owner set it up: its name, look, navigation and
the rules a visitor meets (who may join, how comments work). Public fields only."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields

from penpress.api.v1.core import ApiBlueprint, documented
from penpress.http import external_url
from penpress.media.urls import file_url
from penpress.settings import services as settings

bp = ApiBlueprint("api_v1_site", __name__, description="The site's identity and public rules.")


class NavLinkSchema(Schema):
    label = fields.String(required=True)
    url = fields.String(required=True, metadata={"description": "An absolute URL."})


class SiteSchema(Schema):
    title = fields.String(required=True)
    description = fields.String(required=True, metadata={"description": "The tagline."})
    url = fields.String(required=True, metadata={"description": "The site's home page."})
    language = fields.String(required=True, metadata={"description": "A BCP 47 tag."})
    time_zone = fields.String(
        required=True, metadata={"description": "The IANA zone dates are shown in by default."}
    )
    accent_color = fields.String(
        required=True, allow_none=True, metadata={"description": "#rrggbb, or null."}
    )
    logo_url = fields.String(required=True, allow_none=True)
    favicon_url = fields.String(required=True, allow_none=True)
    navigation = fields.List(
        fields.Nested(NavLinkSchema),
        required=True,
        metadata={"description": "The links the owner added, in order."},
    )
    posts_per_page = fields.Integer(required=True)
    comments = fields.String(
        required=True,
        metadata={"description": "on, approval, registered (confirmed accounts only) or off."},
    )
    registration = fields.String(
        required=True, metadata={"description": "open, approval, invite or closed."}
    )


def _absolute(link: settings.NavLink) -> str:
    if link.kind == "page":  # static pages live at /<slug>
        return external_url("main.index") + link.slug
    if link.kind == "tag":
        return external_url("blog.tag", slug=link.slug)
    if link.kind == "path":
        return external_url("main.index").rstrip("/") + link.target
    return link.target


@bp.route("", methods=["GET"])
@documented(auth="none", etag=True)
@bp.response(200, SiteSchema)
def site_info() -> dict[str, Any]:
    """The site's title, tagline, language, time zone, look and navigation, and who may join
    and comment: what the owner set in the site settings."""
    logo, favicon = settings.logo(), settings.favicon()
    return {
        "title": settings.site_title(),
        "description": settings.site_description(),
        "url": external_url("main.index"),
        "language": settings.language(),
        "time_zone": settings.default_time_zone(),
        "accent_color": settings.accent_color(),
        "logo_url": file_url(logo) if logo else None,
        "favicon_url": file_url(favicon) if favicon else None,
        "navigation": [
            {"label": link.label, "url": _absolute(link)} for link in settings.nav_links()
        ],
        "posts_per_page": settings.posts_per_page(),
        "comments": settings.comments_mode(),
        "registration": settings.registration_policy(),
    }
