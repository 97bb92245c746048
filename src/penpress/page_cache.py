"""The page cache: pages rendered for anonymous readers, kept in Flask-Caching.

Only views decorated with :func:`cached_page` take part, and only for a reader with no login
(no ``_user_id`` in the session, no remember-me cookie) and nothing flashed: their pages are
the same for every such reader. A page that sets a cookie, changes the session or renders a
CSRF token is never stored.

Entries are keyed by *generations*: named counters (:mod:`penpress.counters`) that the
services bump in the same transaction as the change they make — ``pages`` for anything shown
across the site (publishing, editing, deleting, settings, accounts), ``pages:post:<slug>`` for
one post's page (its comments). A page built before a change is simply never asked for again;
nothing has to be found and deleted, and as the generations live in the database, every
process sees a change the moment it commits (no race between the commit and an invalidation).
Entries expire after ``PAGE_CACHE_TIMEOUT`` seconds, the most that numbers which change
without a bump (views, favorites, comment counts in lists) lag behind.

Responses carry a strong ``ETag`` and ``Last-Modified`` and answer ``If-None-Match`` /
``If-Modified-Since`` with 304. ``Cache-Control: public, max-age=0, s-maxage=N`` lets a shared
cache (nginx) keep anonymous pages ``PAGE_CACHE_SHARED_MAX_AGE`` seconds while browsers
revalidate every time; pages for a logged-in reader are ``private, no-cache``.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import wraps
from typing import Any

from flask import Response, current_app, g, make_response, request, session
from flask.typing import ResponseReturnValue
from werkzeug.http import http_date

from penpress import counters
from penpress.extensions import cache

SITE = "pages"  # the generation of every cached page
_META = "penpress_page_meta"  # key in g: what a view noted for cache hits
# Headers an entry keeps; others (cookies, request ids, security headers) are per response.
_KEPT_HEADERS = ("Content-Type", "Cache-Control", "Content-Language")


def post_generation(slug: str) -> str:
    """The generation of one post's page (its comments change without touching the site)."""
    return f"pages:post:{slug}"


def site_changed() -> None:
    """Something every page may show changed: no page cached before it is served again."""
    counters.add(SITE)


def post_changed(slug: str) -> None:
    """Only the page of the post at ``slug`` changed (a comment appeared or went)."""
    counters.add(post_generation(slug))


def post_gone(slug: str) -> None:
    """The post at ``slug`` was deleted or moved: its page generation is no longer needed."""
    counters.forget([post_generation(slug)])


def note(**meta: Any) -> None:
    """Keep ``meta`` with the page being rendered; ``on_hit`` gets it back on cache hits."""
    g.setdefault(_META, {}).update(meta)


@dataclass(frozen=True)
class Entry:
    """A stored page: its body and the few headers that belong to it."""

    body: bytes
    headers: tuple[tuple[str, str], ...]
    etag: str
    created: float
    meta: dict[str, Any] = field(default_factory=dict)


def is_anonymous_read() -> bool:
    """A GET or HEAD by a reader with no login and no flashed message."""
    if request.method not in ("GET", "HEAD"):
        return False
    if request.cookies.get(current_app.config.get("REMEMBER_COOKIE_NAME", "remember_token")):
        return False
    return "_user_id" not in session and "_flashes" not in session


def cached_page(
    generations: Callable[..., Iterable[str]] | None = None,
    on_hit: Callable[[dict[str, Any]], None] | None = None,
) -> Callable[[Callable[..., ResponseReturnValue]], Callable[..., ResponseReturnValue]]:
    """Serve the view from the page cache to anonymous readers.

    ``generations(**view_args)`` names the generations the page depends on besides the
    site's; ``on_hit(meta)`` runs on a GET served from the cache with what the view
    :func:`note`-d (a post page counts its view there).
    """

    def decorate(view: Callable[..., ResponseReturnValue]) -> Callable[..., ResponseReturnValue]:
        @wraps(view)
        def wrapped(**kwargs: Any) -> ResponseReturnValue:
            if not current_app.config["PAGE_CACHE_ENABLED"] or not is_anonymous_read():
                response = make_response(view(**kwargs))
                response.cache_control.private = True
                response.cache_control.no_cache = True
                return response
            names = [SITE, *(generations(**kwargs) if generations else ())]
            stamp = ":".join(str(n) for n in counters.values(names).values())
            key = (
                "page:"
                + hashlib.sha256(
                    f"{stamp}|{request.path}?{request.query_string.decode('latin-1')}".encode()
                ).hexdigest()
            )
            entry: Entry | None = cache.get(key)
            if entry is None:
                response = make_response(view(**kwargs))
                if not _storable(response):
                    response.cache_control.private = True
                    response.cache_control.no_cache = True
                    return response
                body = response.get_data()
                entry = Entry(
                    body=body,
                    headers=tuple(
                        (name, value)
                        for name, value in response.headers.items()
                        if name in _KEPT_HEADERS
                    ),
                    etag=hashlib.sha256(body).hexdigest()[:32],
                    created=time.time(),
                    meta=dict(g.pop(_META, {})),
                )
                cache.set(key, entry, timeout=int(current_app.config["PAGE_CACHE_TIMEOUT"]))
            else:
                if on_hit is not None and request.method == "GET":
                    on_hit(entry.meta)
                response = current_app.response_class(entry.body, headers=list(entry.headers))
            return _public(response, entry)

        return wrapped

    return decorate


def _storable(response: Response) -> bool:
    """Only a plain 200 that is the same for every anonymous reader."""
    return (
        response.status_code == 200
        and "Set-Cookie" not in response.headers
        and not session.modified
        and "_flashes" not in session
        and current_app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token") not in g
    )


def _public(response: Response, entry: Entry) -> Response:
    response.set_etag(entry.etag)
    response.headers["Last-Modified"] = http_date(entry.created)
    if "Cache-Control" not in response.headers:
        response.cache_control.public = True
        response.cache_control.max_age = 0
        response.cache_control.s_maxage = int(current_app.config["PAGE_CACHE_SHARED_MAX_AGE"])
    response.make_conditional(request)  # a 304 without a body when the client has it
    return response
