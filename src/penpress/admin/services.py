"""Site settings: values an administrator changes at run time, with config defaults."""

from __future__ import annotations

from flask import current_app
from sqlalchemy import select

from penpress.accounts.models import Permission, User
from penpress.accounts.services import require
from penpress.admin.models import SiteSetting
from penpress.extensions import cache, db

COMMENTS_REQUIRE_APPROVAL = "comments_require_approval"
_CACHE_KEY = "site-settings"


def _all_settings() -> dict[str, str]:
    cached: dict[str, str] | None = cache.get(_CACHE_KEY)
    if cached is None:
        cached = {s.key: s.value for s in db.session.scalars(select(SiteSetting))}
        cache.set(_CACHE_KEY, cached)
    return cached


def comments_require_approval() -> bool:
    """Whether new comments wait for a moderator (site setting, else configuration)."""
    value = _all_settings().get(COMMENTS_REQUIRE_APPROVAL)
    if value is None:
        return bool(current_app.config["COMMENTS_REQUIRE_APPROVAL"])
    return value == "1"


def set_comments_require_approval(required: bool, actor: User) -> None:
    require(actor, Permission.ADMIN)
    _set(COMMENTS_REQUIRE_APPROVAL, "1" if required else "0")


def _set(key: str, value: str) -> None:
    setting = db.session.get(SiteSetting, key)
    if setting is None:
        db.session.add(SiteSetting(key=key, value=value))
    else:
        setting.value = value
    db.session.flush()
    cache.delete(_CACHE_KEY)
