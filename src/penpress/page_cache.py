"""The page cache: pages rendered for anonymous readers, kept in Flask-Caching.

Only views decorated with :func:`cached_page` take part, and only for a reader with no login
(no ``_user_id`` in the session, no remember-me cookie) and nothing flashed: their pages are
the same for every such reader. A page that sets a cookie, changes the session or renders a
CSRF token is never stored; pages for a logged-in reader are never stored and are marked
``Cache-Control: private, no-cache``.

Entries are keyed by *generations*: named counters (:mod:`penpress.counters`) that the
services bump in the same transaction as the change they make — ``pages`` for anything shown
across the site (publishing, editing, deleting, settings, accounts), ``pages:post:<slug>`` for
one post's page (its comments). A page built before a change is simply never asked for again;
nothing has to be found and deleted, and as the generations live in the database, every
process sees a change the moment it commits (no race between the commit and an invalidation,
and no stale worker when the cache is each process's own memory). Entries expire after
``PAGE_CACHE_TIMEOUT`` seconds: the most that numbers which change without a bump (views,
favorites, comment counts in lists) lag behind.

A stored page is the whole final response (with the headers every other step added) plus its
gzip form, so :class:`FastPath`, a WSGI layer in front of Flask, answers a reader without a
cookie from the cache in a few dozen microseconds: it matches the URL, reads the generations
(one small query), and answers — or hands the request to Flask, which renders and stores.
Responses carry a strong ``ETag`` and ``Last-Modified`` and answer ``If-None-Match`` /
``If-Modified-Since`` with 304. ``Cache-Control: public, max-age=0, s-maxage=N`` lets a shared
cache (nginx) keep anonymous pages ``PAGE_CACHE_SHARED_MAX_AGE`` seconds while browsers
revalidate every time.
"""

from __future__ import annotations

import gzip
import hashlib
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import wraps
from typing import TYPE_CHECKING, Any, TypeVar

from flask import Flask, Response, current_app, g, make_response, request, session
from flask.typing import ResponseReturnValue
from markupsafe import Markup
from werkzeug.datastructures import ETags
from werkzeug.exceptions import HTTPException
from werkzeug.http import http_date, parse_date, parse_etags
from werkzeug.routing import MapAdapter
from werkzeug.sansio.utils import get_host

from penpress import counters, logs
from penpress.extensions import cache

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

log = logging.getLogger(__name__)

SITE = "pages"  # the generation of every cached page
# Bumped with every post's own generation: lists that show comment and favorite counts (the
# APIs') depend on it, so those counts are exact there rather than up to a timeout old.
COUNTS = "pages:counts"
_META = "penpress_page_meta"  # key in g: what a view noted for cache hits
_ENTRY = "penpress.page_entry"  # key in the WSGI environ: a page Flask rendered to store
_KEY = "penpress.page_key"  # key in the WSGI environ: the entry's key the fast path missed
# Headers a stored page does not keep: they are per response or per client (rate limits),
# or redone for each encoding.
_PER_RESPONSE = frozenset(
    {
        "set-cookie",
        "x-request-id",
        "content-length",
        "content-encoding",
        "date",
        "server",
        "retry-after",
    }
)
_PER_CLIENT_PREFIX = "x-ratelimit"
_VIEW_SPEC = "_penpress_page_cache"  # attribute of a decorated view: (generations, on_hit)
_GZIP_LEVEL = 6

Generations = Callable[..., Iterable[str]]
T = TypeVar("T")
OnHit = Callable[[dict[str, Any]], None]


def post_generation(slug: str) -> str:
    """The generation of one post's page (its comments change without touching the site)."""
    return f"pages:post:{slug}"


def site_changed() -> None:
    """Something every page may show changed: no page cached before it is served again."""
    counters.add(SITE)


def post_changed(slug: str) -> None:
    """Only the post at ``slug`` changed (a comment or a favorite appeared or went): its page,
    and the lists that show its counts (:data:`COUNTS`)."""
    counters.add(post_generation(slug))
    counters.add(COUNTS)


def post_gone(slug: str) -> None:
    """The post at ``slug`` was deleted or moved: its page generation is no longer needed."""
    counters.forget([post_generation(slug)])


def reader_generation(user_id: int) -> str:
    """The generation of what one reader alone is shown besides the site's (their feeds):
    who they follow."""
    return f"pages:reader:{user_id}"


def reader_changed(user_id: int) -> None:
    """What only the reader ``user_id`` is shown changed (they followed or unfollowed)."""
    counters.add(reader_generation(user_id))


def note(**meta: Any) -> None:
    """Keep ``meta`` with the page being rendered; ``on_hit`` gets it back on cache hits."""
    g.setdefault(_META, {}).update(meta)


@dataclass
class Entry:
    """A stored page: the body as rendered and gzipped, and the final response's headers."""

    body: bytes
    etag: str
    created: float
    meta: dict[str, Any] = field(default_factory=dict)
    headers: list[tuple[str, str]] = field(default_factory=list)
    gzipped: bytes = b""


def is_anonymous_read() -> bool:
    """A GET or HEAD by a reader with no login, no API token and no flashed message."""
    if request.method not in ("GET", "HEAD") or "Authorization" in request.headers:
        return False
    if request.cookies.get(current_app.config.get("REMEMBER_COOKIE_NAME", "remember_token")):
        return False
    return "_user_id" not in session and "_flashes" not in session


def _key(names: list[str], path: str, query: bytes) -> str:
    """The entry's key: the generations, the URL, and the configuration (instances that
    share a cache but not their settings — production beside testing — never mix)."""
    stamps = ":".join(str(n) for n in counters.committed_values(names).values())
    variant = current_app.config["ENV_NAME"]
    digest = hashlib.sha256(f"{variant}|{stamps}|{path}?{query.decode('latin-1')}".encode())
    return "page:" + digest.hexdigest()


def cached_page(
    generations: Generations | None = None,
    on_hit: OnHit | None = None,
    *,
    cache_control: str | None = None,
) -> Callable[[Callable[..., ResponseReturnValue]], Callable[..., ResponseReturnValue]]:
    """Serve the view from the page cache to anonymous readers.

    ``generations(**view_args)`` names the generations the page depends on besides the
    site's; ``on_hit(meta)`` runs on a GET served from the cache with what the view
    :func:`note`-d (a post page counts its view there). ``cache_control`` replaces the
    ``Cache-Control`` of every answer (stored: ``public, max-age=0, s-maxage=N``; others:
    ``private, no-cache``), for clients promised otherwise (the Conduit API's ``no-store``).

    API views take part too: a request with an ``Authorization`` header is never anonymous,
    so an answer for a token holder is neither stored nor served from here.
    """

    def decorate(view: Callable[..., ResponseReturnValue]) -> Callable[..., ResponseReturnValue]:
        @wraps(view)
        def wrapped(**kwargs: Any) -> ResponseReturnValue:
            if not current_app.config["PAGE_CACHE_ENABLED"] or not is_anonymous_read():
                response = make_response(view(**kwargs))
                if cache_control is not None:
                    response.headers["Cache-Control"] = cache_control
                    return response
                return _private(response)
            key = request.environ.get(_KEY)  # the fast path read the generations already
            if key is None:
                names = [SITE, *(generations(**kwargs) if generations else ())]
                key = _key(names, request.path, request.query_string)
            entry: Entry | None = cache.get(key)
            if entry is not None:
                # A reader with a cookie but no login (the fast path passed them on).
                if on_hit is not None and request.method == "GET":
                    on_hit(entry.meta)
                response = current_app.response_class(
                    entry.body,
                    headers=[(k, v) for k, v in entry.headers if k.lower() != "vary"],
                )
                response.make_conditional(request)
                return response
            response = make_response(view(**kwargs))
            if not _storable(response):
                return _private(response)
            body = response.get_data()
            entry = Entry(
                body=body,
                etag=hashlib.sha256(body).hexdigest()[:32],
                created=time.time(),
                meta=dict(g.pop(_META, {})),
            )
            response.set_etag(entry.etag)
            response.headers["Last-Modified"] = http_date(entry.created)
            if cache_control is not None:
                response.headers["Cache-Control"] = cache_control
            elif "Cache-Control" not in response.headers:
                response.cache_control.public = True
                response.cache_control.max_age = 0
                response.cache_control.s_maxage = int(
                    current_app.config["PAGE_CACHE_SHARED_MAX_AGE"]
                )
            # Stored by FastPath once every after-request step has added its headers.
            request.environ[_ENTRY] = (key, entry)
            response.make_conditional(request)
            return response

        setattr(wrapped, _VIEW_SPEC, (generations, on_hit))
        return wrapped

    return decorate


def shared_value(name: str, build: Callable[[], T], generations: Iterable[str] = ()) -> T:
    """Something every reader is shown alike, built once per generation of what it shows.

    For answers that cannot be cached whole because they carry personal parts (a logged-in
    reader's navigation, a CSRF token, an API caller's "favorited" flags) around a shared
    one (the home page's newest posts, a page of articles). ``build`` must use nothing about
    the reader: its result is kept under ``name`` and the generations (the site's and
    ``generations``), never under the reader. As a safety net, a build that made a CSRF
    token or touched the session is used once and not kept.
    """
    if not current_app.config["PAGE_CACHE_ENABLED"]:
        return build()
    key = _key([SITE, *generations], f"shared:{name}", b"")
    found: T | None = cache.get(key)
    if found is not None:
        return found
    csrf_field = current_app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token")
    had_token = csrf_field in g
    was_modified = session.modified
    value = build()
    personal = (csrf_field in g and not had_token) or (session.modified and not was_modified)
    if not personal:
        cache.set(key, value, timeout=int(current_app.config["PAGE_CACHE_TIMEOUT"]))
    return value


def shared_fragment(
    name: str, render: Callable[[], str], generations: Iterable[str] = ()
) -> Markup:
    """HTML every reader is shown alike (see :func:`shared_value`), as markup for a page."""
    return Markup(shared_value(name, render, generations))  # noqa: S704  (autoescaped by Jinja)


def readers_own_value(
    reader_id: int, name: str, build: Callable[[], T], generations: Iterable[str] = ()
) -> T:
    """Like :func:`shared_value`, for something one reader alone is shown (their feed): kept
    under their id and their own generation (:func:`reader_generation`) as well, so it is
    never shown to anyone else and is built again once they follow or unfollow someone."""
    names = [reader_generation(reader_id), *generations]
    return shared_value(f"reader:{reader_id}:{name}", build, names)


def readers_own_fragment(
    reader_id: int, name: str, render: Callable[[], str], generations: Iterable[str] = ()
) -> Markup:
    """HTML one reader alone is shown (see :func:`readers_own_value`), as markup."""
    return Markup(readers_own_value(reader_id, name, render, generations))  # noqa: S704


def _private(response: Response) -> Response:
    response.cache_control.private = True
    response.cache_control.no_cache = True
    return response


def _storable(response: Response) -> bool:
    """Only a plain 200 that is the same for every anonymous reader."""
    return (
        response.status_code == 200
        and "Set-Cookie" not in response.headers
        and not session.modified
        and "_flashes" not in session
        and current_app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token") not in g
    )


# --- the fast path: a WSGI layer that answers from the cache before Flask -------------------


def init_app(app: Flask) -> None:
    """Put :class:`FastPath` in front of the app (inside ProxyFix, which wraps later)."""
    app.wsgi_app = FastPath(app, app.wsgi_app)  # type: ignore[method-assign]


class FastPath:
    """Answers anonymous GET/HEAD requests for cached pages without running Flask.

    Anything it is not sure about — a cookie that may hold a login, an API token, a URL
    that is not a cached page, an untrusted Host, a miss — goes to Flask unchanged. On the way
    back it stores pages the view marked as storable, with the final headers.
    """

    def __init__(self, app: Flask, wsgi_app: WSGIApplication) -> None:
        self.app = app
        self.wsgi_app = wsgi_app
        self.adapter: MapAdapter | None = None  # made on the first request: routes are known

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        app = self.app
        if (
            environ.get("REQUEST_METHOD") in ("GET", "HEAD")
            and app.config["PAGE_CACHE_ENABLED"]
            and "HTTP_AUTHORIZATION" not in environ  # an API token: answers of its own
            and not _has_cookie(environ, app)
        ):
            with app.app_context():
                answer = self._from_cache(environ, start_response)
            if answer is not None:
                return answer
        return self._through_flask(environ, start_response)

    def _from_cache(
        self, environ: WSGIEnvironment, start_response: StartResponse
    ) -> list[bytes] | None:
        app = self.app
        trusted = app.config.get("TRUSTED_HOSTS")
        try:
            if trusted:
                get_host(
                    environ.get("wsgi.url_scheme", "http"),
                    environ.get("HTTP_HOST"),
                    (environ.get("SERVER_NAME", ""), int(environ.get("SERVER_PORT") or 80)),
                    trusted,
                )
            if self.adapter is None:
                self.adapter = app.url_map.bind("localhost")
            # As werkzeug reads PATH_INFO: WSGI's latin-1 text holding UTF-8 bytes.
            path = environ.get("PATH_INFO", "").encode("latin-1").decode("utf-8", "replace")
            endpoint, args = self.adapter.match(path, method="GET")
        except (HTTPException, ValueError):
            return None  # a redirect, a 404, a bad host: Flask says so in its own words
        except Exception:  # noqa: BLE001  (werkzeug's SecurityError and the like)
            return None
        spec = getattr(app.view_functions.get(str(endpoint)), _VIEW_SPEC, None)
        if spec is None:
            return None
        generations, on_hit = spec
        names = [SITE, *(generations(**args) if generations else ())]
        path = environ.get("PATH_INFO", "")
        query = environ.get("QUERY_STRING", "").encode("latin-1")
        try:
            key = _key(names, path, query)
            entry: Entry | None = cache.get(key)
        except Exception:  # noqa: BLE001  (the database is down: Flask answers 503)
            log.debug("page cache: generations unreadable", exc_info=True)
            return None
        if entry is None or not entry.headers:
            environ[_KEY] = key  # Flask renders it and stores it under this key
            return None
        if on_hit is not None and environ["REQUEST_METHOD"] == "GET":
            on_hit(entry.meta)
        request_id = logs.request_id_from(environ.get("HTTP_X_REQUEST_ID", ""))
        headers = [*entry.headers, (logs.REQUEST_ID_HEADER, request_id)]
        if _not_modified(environ, entry):
            keep = {"etag", "cache-control", "vary", "last-modified", "expires"}
            start_response("304 NOT MODIFIED", [(k, v) for k, v in headers if k.lower() in keep])
            return []
        body = entry.body
        if entry.gzipped and "gzip" in environ.get("HTTP_ACCEPT_ENCODING", ""):
            body = entry.gzipped
            headers.append(("Content-Encoding", "gzip"))
        headers.append(("Content-Length", str(len(body))))
        start_response("200 OK", headers)
        return [] if environ["REQUEST_METHOD"] == "HEAD" else [body]

    def _through_flask(
        self, environ: WSGIEnvironment, start_response: StartResponse
    ) -> Iterable[bytes]:
        captured: dict[str, Any] = {}

        def remember(status: str, headers: list[tuple[str, str]], *args: Any) -> Any:
            captured["status"], captured["headers"] = status, headers
            return start_response(status, headers, *args)

        answer = self.wsgi_app(environ, remember)
        pending = environ.pop(_ENTRY, None)
        if pending is not None and captured.get("status", "").startswith("200"):
            headers = captured["headers"]
            if not any(name.lower() == "set-cookie" for name, _value in headers):
                key, entry = pending
                entry.headers = [
                    (k, v)
                    for k, v in headers
                    if k.lower() not in _PER_RESPONSE
                    and not k.lower().startswith(_PER_CLIENT_PREFIX)
                ]
                entry.gzipped = gzip.compress(entry.body, _GZIP_LEVEL, mtime=0)
                with self.app.app_context():
                    cache.set(key, entry, timeout=int(self.app.config["PAGE_CACHE_TIMEOUT"]))
        return answer


def _has_cookie(environ: WSGIEnvironment, app: Flask) -> bool:
    """A session or remember-me cookie may mean a login: only Flask can tell."""
    cookies = environ.get("HTTP_COOKIE", "")
    if not cookies:
        return False
    names = (
        app.config["SESSION_COOKIE_NAME"],
        app.config.get("REMEMBER_COOKIE_NAME", "remember_token"),
    )
    return any(f"{name}=" in cookies for name in names)


def _not_modified(environ: WSGIEnvironment, entry: Entry) -> bool:
    wanted = environ.get("HTTP_IF_NONE_MATCH")
    if wanted:
        tags: ETags = parse_etags(wanted)
        return (
            tags.star_tag
            or tags.contains_weak(entry.etag)
            or any(tag.split(":", 1)[0] == entry.etag for tag in tags.as_set(include_weak=True))
        )
    since = parse_date(environ.get("HTTP_IF_MODIFIED_SINCE"))
    return since is not None and since.timestamp() >= int(entry.created)
