"""Site settings: values an administrator changes at run time, over configuration defaults.

Every front door and background task reads them through these functions; they are cached
(process memory, or Redis in production, so every worker sees a change at once) and the
cache entry is dropped in the same request that changes a value.

Two of them, the registration policy and the default role, may also be fixed by the
environment (``REGISTRATION``, ``DEFAULT_ROLE``): while set, those win over the database, so
a deployment (a Conduit community, say) starts the way it is configured whatever was saved.
"""

from __future__ import annotations

from typing import Any

from flask import current_app
from sqlalchemy import select

from penpress import page_cache, timezones
from penpress.config import REGISTRATION_POLICIES
from penpress.errors import Conflict, Invalid
from penpress.extensions import cache, db
from penpress.permissions import ROLE_NAMES, Actor, Permission, require
from penpress.settings.models import SiteSetting

COMMENTS_REQUIRE_APPROVAL = "comments_require_approval"
DEFAULT_TIME_ZONE = "default_time_zone"
REGISTRATION = "registration"
DEFAULT_ROLE = "default_role"
REQUIRE_CONFIRMED_EMAIL = "require_confirmed_email"
_CACHE_KEY = "site-settings"
SITE_TITLE = "Penpress"

# Without a saved value or an environment variable: anyone may join, as a reader.
DEFAULT_REGISTRATION = "open"
DEFAULT_NEW_ROLE = "reader"
# The configuration key that fixes each environment-lockable setting.
ENVIRONMENT_KEYS = {REGISTRATION: "REGISTRATION", DEFAULT_ROLE: "DEFAULT_ROLE"}


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
    return _flag(COMMENTS_REQUIRE_APPROVAL, "COMMENTS_REQUIRE_APPROVAL")


def email_confirmation_required() -> bool:
    """Whether an account must confirm its address before it publishes, submits a post for
    review or comments (site setting, else ``REQUIRE_CONFIRMED_EMAIL``)."""
    return _flag(REQUIRE_CONFIRMED_EMAIL, "REQUIRE_CONFIRMED_EMAIL")


def registration_policy() -> str:
    """Who may join: ``open``, ``approval``, ``invite`` or ``closed`` (the environment's
    ``REGISTRATION`` while set, else the site setting, else open)."""
    return _choice(REGISTRATION, REGISTRATION_POLICIES, DEFAULT_REGISTRATION)


def default_role() -> str:
    """The role of a new self-registered account (``DEFAULT_ROLE`` while set, else the site
    setting, else reader)."""
    return _choice(DEFAULT_ROLE, ROLE_NAMES, DEFAULT_NEW_ROLE)


def locked_by_environment() -> dict[str, str]:
    """The settings an environment variable fixes right now, with the variable's name."""
    return {
        key: config_key
        for key, config_key in ENVIRONMENT_KEYS.items()
        if current_app.config.get(config_key)
    }


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
        REQUIRE_CONFIRMED_EMAIL: email_confirmation_required(),
        REGISTRATION: registration_policy(),
        DEFAULT_ROLE: default_role(),
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


def set_email_confirmation_required(actor: Actor | None, required: bool) -> None:
    """Switch the confirmed-address rule for publishing and commenting (administrators)."""
    require(actor, Permission.ADMIN)
    _set(REQUIRE_CONFIRMED_EMAIL, "1" if required else "0")


def set_registration_policy(actor: Actor | None, policy: str) -> None:
    """Choose who may join (administrators); 409 while ``REGISTRATION`` fixes it."""
    require(actor, Permission.ADMIN)
    _set_choice(REGISTRATION, policy, REGISTRATION_POLICIES)


def set_default_role(actor: Actor | None, role: str) -> None:
    """Choose the role of new self-registered accounts (administrators); 409 while
    ``DEFAULT_ROLE`` fixes it."""
    require(actor, Permission.ADMIN)
    _set_choice(DEFAULT_ROLE, role, ROLE_NAMES)


def template_context() -> dict[str, Any]:
    """What every page's templates may use of the settings."""
    return {"site_name": site_title()}


def _flag(key: str, config_key: str) -> bool:
    value = _all_settings().get(key)
    if value is None:
        return bool(current_app.config[config_key])
    return value == "1"


def _choice(key: str, choices: tuple[str, ...], default: str) -> str:
    fixed = current_app.config.get(ENVIRONMENT_KEYS[key])
    if fixed:
        return str(fixed)  # validated when the app started
    value = _all_settings().get(key)
    return value if value in choices else default


def _set_choice(key: str, value: str, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise Invalid.field(key, f"Choose one of: {', '.join(choices)}.")
    locked = locked_by_environment().get(key)
    if locked and value != current_app.config[locked]:
        raise Conflict(
            f"The {locked} environment variable sets this; change or unset it and restart.",
            {key: [f"Set by the {locked} environment variable."]},
        )
    _set(key, value)


def _set(key: str, value: str) -> None:
    setting = db.session.get(SiteSetting, key)
    if setting is None:
        db.session.add(SiteSetting(key=key, value=value))
    else:
        setting.value = value
    db.session.flush()
    cache.delete(_CACHE_KEY)
    page_cache.site_changed()
