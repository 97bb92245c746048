"""Request rate limits: one Flask-Limiter per app, limits declared on the views.

Flask-Limiter keeps its storage and settings on the ``Limiter`` object, so one object shared by
every app (the usual module-level extension) would count every app's requests in the storage
of the last app built. Here each app gets its own ``Limiter`` (:func:`init_app`), and views
only *declare* their limits with :func:`rate_limit`; :func:`apply_declared_limits` hands those
declarations to the app's limiter once its blueprints are registered.

Limits are read from the config on every request (``RATELIMIT_AUTH``, ``RATELIMIT_EMAIL`` ...),
so each app's settings apply.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, TypeVar, cast

from flask import Blueprint, Flask, current_app
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address

F = TypeVar("F", bound=Callable[..., Any])

_DECLARED = "_penpress_rate_limits"  # attribute on a view function: its RateLimit list
_EXEMPT_BLUEPRINTS = "penpress_rate_limit_exempt"  # app.extensions key


@dataclass(frozen=True)
class RateLimit:
    """A limit on a view: the config key holding its value ("10 per minute"), the HTTP methods
    it counts (all when ``None``), for budgets shared by several views a scope name, and what
    it counts by (the client's address unless ``key`` says otherwise)."""

    config_key: str
    methods: tuple[str, ...] | None = None
    scope: str | None = None
    key: Callable[[], str] | None = None

    def value(self) -> str:
        return str(current_app.config[self.config_key])


def rate_limit(
    config_key: str,
    *,
    methods: Iterable[str] | None = None,
    scope: str | None = None,
    key: Callable[[], str] | None = None,
) -> Callable[[F], F]:
    """Declare a limit on a view; its value comes from ``config_key``.

    Views with the same ``scope`` share one budget (e.g. every ``/api/v1`` login route).
    """
    declared = RateLimit(config_key, tuple(methods) if methods is not None else None, scope, key)

    def decorate(view: F) -> F:
        limits: list[RateLimit] = [*getattr(view, _DECLARED, []), declared]
        setattr(view, _DECLARED, limits)
        return view

    return decorate


def auth_rate_limit(
    *, methods: Iterable[str] | None = None, scope: str | None = None
) -> Callable[[F], F]:
    """``RATELIMIT_AUTH``, the budget of routes that check a password or create an account
    (every front door's login, registration and password change): guessing is what it slows."""
    return rate_limit("RATELIMIT_AUTH", methods=methods, scope=scope)


def client_address() -> str:
    """The client's address, as ProxyFix resolved it (what limits count by default)."""
    return get_remote_address()


def exempt(blueprint: Blueprint) -> Blueprint:
    """Never rate limit this blueprint's routes (health checks and metric scrapes)."""
    setattr(blueprint, _EXEMPT_BLUEPRINTS, True)
    return blueprint


def init_app(app: Flask) -> Limiter:
    """Create the app's limiter from its ``RATELIMIT_*`` settings."""
    limiter = Limiter(key_func=client_address, app=app)
    app.extensions["penpress_limiter"] = limiter
    return limiter


def apply_declared_limits(app: Flask) -> None:
    """Give the app's limiter the limits its views declared (after blueprints are registered)."""
    limiter = limiter_for(app)
    for blueprint in app.blueprints.values():
        if getattr(blueprint, _EXEMPT_BLUEPRINTS, False):
            limiter.exempt(cast(Blueprint, blueprint))
    for endpoint, registered in list(app.view_functions.items()):
        view: Any = registered
        for declared in getattr(view, _DECLARED, ()):
            methods = list(declared.methods) if declared.methods else None
            if declared.scope:
                decorator = limiter.shared_limit(
                    declared.value, scope=declared.scope, methods=methods, key_func=declared.key
                )
            else:
                decorator = limiter.limit(declared.value, methods=methods, key_func=declared.key)
            # The wrapper checks this app's limiter only; other apps keep their own views.
            view = decorator(view)
        app.view_functions[endpoint] = view


def limiter_for(app: Flask) -> Limiter:
    """The app's own limiter."""
    limiter: Limiter = app.extensions["penpress_limiter"]
    return limiter
