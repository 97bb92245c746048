"""Site settings: values an administrator changes at run time, over configuration defaults.

Every front door and background task reads them through these functions; they are cached
(process memory, or Redis in production, so every worker sees a change at once) and the
cache entry is dropped in the same request that changes a value.
"""

from __future__ import annotations

from typing import Any

from flask import current_app
from sqlalchemy import select

from penpress import timezones
from penpress.extensions import cache, db
from penpress.permissions import Actor, Permission, require
from penpress.settings.models import SiteSetting

COMMENTS_REQUIRE_APPROVAL = "comments_require_approval"
DEFAULT_TIME_ZONE = "default_time_zone"
_CACHE_KEY = "site-settings"
SITE_TITLE = "Penpress"


def _all_settings() -> dict[str, str]:
    cached: dict[str, str] | None = cache.get(_CACHE_KEY)
    if cached is None:
        cached = {s.key: s.value for s in db.session.scalars(select(SiteSetting))}
        cache.set(_CACHE_KEY, cached)
    return cached


def site_title() -> str:
    """The site's name, shown in the header, page titles, feeds and emails."""
    return SITE_TITLE


def comments_require_approval() -> bool:
    """Whether new comments wait for a moderator (site setting, else configuration)."""
    value = _all_settings().get(COMMENTS_REQUIRE_APPROVAL)
    if value is None:
        return bool(current_app.config["COMMENTS_REQUIRE_APPROVAL"])
    return value == "1"


def default_time_zone() -> str:
    """The IANA zone in which people without a preference of their own type and read times
    (site setting, else UTC)."""
    value = _all_settings().get(DEFAULT_TIME_ZONE)
    return value if value and timezones.is_known(value) else timezones.UTC_NAME


def editable_settings(actor: Actor | None) -> dict[str, Any]:
    """The current value of every setting an administrator edits (administrators only)."""
    require(actor, Permission.ADMIN)
    return {
        COMMENTS_REQUIRE_APPROVAL: comments_require_approval(),
        DEFAULT_TIME_ZONE: default_time_zone(),
    }


def set_comments_require_approval(actor: Actor | None, required: bool) -> None:
    """Switch comment moderation on or off (administrators)."""
    require(actor, Permission.ADMIN)
    _set(COMMENTS_REQUIRE_APPROVAL, "1" if required else "0")


def set_default_time_zone(actor: Actor | None, name: str) -> None:
    """Choose the site's default time zone, an IANA name such as ``Europe/Paris``
    (administrators)."""
    require(actor, Permission.ADMIN)
    _set(DEFAULT_TIME_ZONE, timezones.check_zone(name, field=DEFAULT_TIME_ZONE))


def template_context() -> dict[str, Any]:
    """What every page's templates may use of the settings."""
    return {"site_name": site_title()}


def _set(key: str, value: str) -> None:
    setting = db.session.get(SiteSetting, key)
    if setting is None:
        db.session.add(SiteSetting(key=key, value=value))
    else:
        setting.value = value
    db.session.flush()
    cache.delete(_CACHE_KEY)
