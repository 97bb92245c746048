"""Request rate limits: one Flask-Limiter per app, limits declared on the views.

Flask-Limiter keeps its storage and settings on the ``Limiter`` object, so one object shared by
every app (the usual module-level extension) would count every app's requests in the storage
of the last app built. Here each app gets its own ``Limiter`` (:func:`init_app`), and views
only *declare* their limits with :func:`rate_limit`; :func:`apply_declared_limits` hands those
declarations to the app's limiter once its blueprints are registered.

Limits are read from the config on every request (``RATELIMIT_AUTH``, ``RATELIMIT_EMAIL`` ...),
so each app's settings apply.

Limits per *account* belong to the services, not the views, so that every front door shares
one allowance: a :class:`Budget` counts in the same storage as the limiter (process memory, or
Redis in production) and raises :class:`~penpress.errors.RateLimited` when it is spent.

``Retry-After`` goes out only on 429s (and 503s, see :mod:`penpress.errors`): Flask-Limiter's
``RATELIMIT_HEADERS_ENABLED`` would put it on every response, so it is off, and the breach
callback below names the wait on the 429 itself.
"""

from __future__ import annotations

import hashlib
import logging
import math
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, TypeVar, cast

import redis
from flask import Blueprint, Flask, Response, current_app, request
from flask_limiter import Limiter, RequestLimit
from flask_limiter.util import get_remote_address
from limits import parse_many
from limits.errors import StorageError
from limits.storage import MemoryStorage
from limits.strategies import FixedWindowRateLimiter, RateLimiter

from penpress.errors import RateLimited

log = logging.getLogger(__name__)

F = TypeVar("F", bound=Callable[..., Any])

_DECLARED = "_penpress_rate_limits"  # attribute on a view function: its RateLimit list
_EXEMPT_BLUEPRINTS = "penpress_rate_limit_exempt"  # app.extensions key


@dataclass(frozen=True)
class RateLimit:
    """A limit on a view: the config key holding its value ("10 per minute"), the HTTP methods
    it counts (all when ``None``), for budgets shared by several views a scope name, and what
    it counts by (the client's address unless ``key`` says otherwise), and which requests it
    counts (all of them unless ``counts`` says otherwise)."""

    config_key: str
    methods: tuple[str, ...] | None = None
    scope: str | None = None
    key: Callable[[], str] | None = None
    counts: Callable[[], bool] | None = None

    def exempt_when(self) -> Callable[[], bool] | None:
        counts = self.counts
        return None if counts is None else lambda: not counts()

    def value(self) -> str:
        return str(current_app.config[self.config_key])


def rate_limit(
    config_key: str,
    *,
    methods: Iterable[str] | None = None,
    scope: str | None = None,
    key: Callable[[], str] | None = None,
    counts: Callable[[], bool] | None = None,
) -> Callable[[F], F]:
    """Declare a limit on a view; its value comes from ``config_key``.

    Views with the same ``scope`` share one budget (e.g. every ``/api/v1`` login route).
    """
    declared = RateLimit(
        config_key, tuple(methods) if methods is not None else None, scope, key, counts
    )

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


def search_rate_limit() -> Callable[[F], F]:
    """``RATELIMIT_SEARCH``, one budget per client shared by every view that searches, spent
    only by requests that ask for words (``?q=``). A search that misses the page cache reads
    the full-text index and ranks up to ``SEARCH_RANK_WINDOW`` posts; anonymous searches
    answered from the cache never reach a view, so they spend nothing."""
    return rate_limit("RATELIMIT_SEARCH", scope="search", counts=_asks_for_words)


def _asks_for_words() -> bool:
    return bool(request.args.get("q", "").strip())


def client_address() -> str:
    """The client's address, as ProxyFix resolved it (what limits count by default)."""
    return get_remote_address()


def exempt(blueprint: Blueprint) -> Blueprint:
    """Never rate limit this blueprint's routes (health checks and metric scrapes)."""
    setattr(blueprint, _EXEMPT_BLUEPRINTS, True)
    return blueprint


def init_app(app: Flask) -> Limiter:
    """Create the app's limiter from its ``RATELIMIT_*`` settings."""
    limiter = Limiter(key_func=client_address, app=app, on_breach=_name_the_wait)
    app.extensions["penpress_limiter"] = limiter
    return limiter


def _name_the_wait(limit: RequestLimit) -> Response:
    """Flask-Limiter's breach callback: a bare response whose ``Retry-After`` the error registry
    copies onto the 429 it renders in the front door's shape."""
    wait = _seconds_until(limit.window.reset_time)
    return Response(status=429, headers={"Retry-After": str(wait)})


def _seconds_until(timestamp: float) -> int:
    """Whole seconds from now until ``timestamp``, rounded up: waiting that long is enough."""
    return max(1, math.ceil(timestamp - time.time()))


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
                    declared.value,
                    scope=declared.scope,
                    methods=methods,
                    key_func=declared.key,
                    exempt_when=declared.exempt_when(),
                )
            else:
                decorator = limiter.limit(
                    declared.value,
                    methods=methods,
                    key_func=declared.key,
                    exempt_when=declared.exempt_when(),
                )
            # The wrapper checks this app's limiter only; other apps keep their own views.
            view = decorator(view)
        app.view_functions[endpoint] = view


def limiter_for(app: Flask) -> Limiter:
    """The app's own limiter."""
    limiter: Limiter = app.extensions["penpress_limiter"]
    return limiter


# --- budgets per account, kept by the services ----------------------------------------------

# What a storage that cannot be reached raises (Redis down or timing out).
_STORAGE_ERRORS = (redis.exceptions.RedisError, StorageError, OSError)


@dataclass(frozen=True)
class Budget:
    """An allowance per account (or per any key the service chooses) that every front door
    shares, counted in the app limiter's storage.

    ``config_key`` holds its value (``"20 per minute; 200 per day"``), read at each use;
    ``scope`` keeps budgets with the same value apart; ``message`` is what a spent budget says.
    Nothing is counted while ``RATELIMIT_ENABLED`` is off, like the views' limits.
    """

    config_key: str
    scope: str
    message: str

    def spend(self, who: str) -> None:
        """Count one use for ``who``; :class:`RateLimited` if that was one too many."""
        self._each_item(who, "hit")

    def check(self, who: str) -> None:
        """:class:`RateLimited` if ``who`` has nothing left; counts nothing."""
        self._each_item(who, "test")

    def clear(self, who: str) -> None:
        """Give ``who`` the whole budget back."""
        self._each_item(who, "clear")

    def _each_item(self, who: str, method: str) -> None:
        if _strategy() is None:
            return
        # Hashed: keys stay short whatever they are made of, and hold no email address.
        ids = ("penpress-budget", f"{self.scope}:{hashlib.sha256(who.encode()).hexdigest()}")
        for item in parse_many(str(current_app.config[self.config_key])):
            allowed = _run(method, item, *ids)
            if method != "clear" and not allowed:
                stats = _run("get_window_stats", item, *ids)
                raise RateLimited(self.message, retry_after=_seconds_until(stats.reset_time))


def _strategy() -> RateLimiter | None:
    """The app limiter's counting strategy over its storage; ``None`` when limits are off."""
    limiter = limiter_for(current_app)
    if not limiter.enabled or not getattr(limiter, "initialized", False):
        return None
    return limiter.limiter


def _run(method: str, *args: Any) -> Any:
    """Call ``method`` of the limiter's strategy, or of this process's memory while the storage
    (Redis) cannot be reached: budgets keep counting, per process, as the views' limits do."""
    strategy = _strategy()
    assert strategy is not None
    try:
        return getattr(strategy, method)(*args)
    except _STORAGE_ERRORS as error:
        log.warning("rate limit storage unreachable (%s); counting in memory", error)
        return getattr(_memory_fallback(current_app), method)(*args)


def _memory_fallback(app: Flask) -> RateLimiter:
    fallback: RateLimiter | None = app.extensions.get("penpress_budget_fallback")
    if fallback is None:
        fallback = FixedWindowRateLimiter(MemoryStorage())
        app.extensions["penpress_budget_fallback"] = fallback
    return fallback
