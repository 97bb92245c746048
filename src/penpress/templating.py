"""Template filters, globals and context shared by every page."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import Flask, g, request
from flask_login import current_user
from flask_login.utils import _user_context_processor
from jinja2 import pass_context
from jinja2.runtime import Context
from sqlalchemy.exc import SQLAlchemyError

from penpress import timezones
from penpress.extensions import db
from penpress.http import external_url

# Query arguments that make another page of the same list; every other one (a search, a
# tracking tag) names no page of its own, so the canonical address drops it.
CANONICAL_ARGS = ("page", "cursor")


# The template variable naming the zone dates are shown in (the site's default zone, which
# the settings feature puts in every page's context).
TIME_ZONE_VARIABLE = "site_time_zone"


@pass_context
def format_date(context: Context, value: datetime | None) -> str:
    """A human date such as "Nov 25, 2026", the day it is in the site's time zone; an empty
    string for ``None``.

    The site's zone, not the reader's own preference: pages (and their cached parts) are
    shared by every reader, so a date on them must be the same for all of them.
    """
    if value is None:
        return ""
    zone = context.get(TIME_ZONE_VARIABLE) or timezones.UTC_NAME
    local = timezones.utc_to_local(value, zone) if value.tzinfo is not None else value
    return f"{local:%b} {local.day}, {local.year}"


def format_iso(value: datetime | None) -> str:
    """ISO-8601, as ``<time datetime=...>`` wants; an empty string for ``None``."""
    if value is None:
        return ""
    return value.isoformat()


def nav_user(load: bool = True) -> Any | None:
    """The logged-in user for the navigation, or ``None``.

    Error pages call this with ``load=False`` after a server error: a user already loaded in
    this request is reused, but the database (which may be what failed) is never asked.
    """
    if "_login_user" in g:
        user = g._login_user
    elif not load:
        return None
    else:
        try:
            user = current_user._get_current_object()
        except SQLAlchemyError:
            db.session.rollback()
            return None
    return user if user is not None and user.is_authenticated else None


def canonical_url() -> str | None:
    """The absolute address of the page being rendered, under ``SITE_URL`` (never the
    ``Host`` header: a cached page is served to every host name), or ``None`` outside a
    route (error pages)."""
    if request.url_rule is None or request.endpoint is None:
        return None
    values: dict[str, Any] = dict(request.view_args or {})
    for name in CANONICAL_ARGS:
        if request.args.get(name):
            values[name] = request.args[name]
    return external_url(request.endpoint, **values)


def init_templating(app: Flask) -> None:
    """Register Jinja filters and context processors."""
    app.add_template_filter(format_date, "dt")
    app.add_template_filter(format_iso, "iso")
    app.add_template_global(nav_user, "nav_user")
    app.add_template_global(external_url, "absolute_url")
    app.add_template_global(canonical_url, "canonical_url")

    # Flask-Login's own context processor loads the user (a query) before every render, even
    # of an error page after the database failed; hand templates the lazy proxy instead.
    processors = app.template_context_processors[None]
    if _user_context_processor in processors:
        processors.remove(_user_context_processor)

    @app.context_processor
    def user_context() -> dict[str, Any]:
        return {"current_user": current_user}
