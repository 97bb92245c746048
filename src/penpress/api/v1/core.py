"""What every v1 endpoint shares: the blueprint class, bearer auth, HTTP caching, paging, docs.

Views stay thin: they validate input through a schema, call one service function and dump the
result. Everything about HTTP that is the same for every endpoint lives here.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from http import HTTPStatus
from typing import Any, Literal, TypeVar

from flask import Response, current_app, g, request
from flask_smorest import Blueprint
from flask_sqlalchemy.pagination import Pagination
from webargs import core as webargs_core
from webargs.flaskparser import FlaskParser, abort, is_json_request
from werkzeug.exceptions import UnsupportedMediaType

from penpress.accounts import tokens
from penpress.accounts.models import User
from penpress.errors import Unauthorized
from penpress.http import external_url

F = TypeVar("F", bound=Callable[..., Any])

Auth = Literal["required", "optional", "none"]

SCHEME = "Bearer"
BEARER_SCHEME = {
    "type": "http",
    "scheme": "bearer",
    "bearerFormat": "JWT",
    "description": "An access token from POST /api/v1/auth/tokens.",
}


# --- request parsing ---------------------------------------------------------------------


class JsonOnlyParser(FlaskParser):
    """Request bodies must be JSON: anything else is a 415, not an empty body."""

    def _raw_load_json(self, req: Any) -> Any:
        if not is_json_request(req):
            raise UnsupportedMediaType()
        try:
            return webargs_core.parse_json(req.get_data(cache=True))
        except RecursionError:  # absurdly nested JSON must not become a 500
            abort(400, messages={"json": ["Invalid JSON body."]})
        except json.JSONDecodeError as error:
            if error.doc == "":
                return webargs_core.missing
            raise


class ApiBlueprint(Blueprint):
    """A flask-smorest blueprint with the v1 API's auth, caching and documentation hooks."""

    ARGUMENTS_PARSER = JsonOnlyParser()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.before_request(_authenticate)
        self.after_request(_http_caching)
        self._prepare_doc_cbks.append(_prepare_penpress_doc)


# --- authentication ----------------------------------------------------------------------


def _authenticate() -> None:
    """Resolve ``Authorization: Bearer <token>``; the browser's session cookie is ignored."""
    g.api_login = None
    auth = _auth_of_view()
    if auth == "none":
        # Logging in, refreshing and registering ignore a stale token the client still sends.
        return
    token = tokens.token_from_header(request.headers.get("Authorization"), SCHEME)
    if token is None:
        if auth == "required":  # before the body is even read: no validation hints for strangers
            raise Unauthorized()
        return
    g.api_login = tokens.authenticate_token(token)


def _auth_of_view() -> Auth | None:
    view = current_app.view_functions.get(request.endpoint or "")
    auth: Auth | None = getattr(view, "_penpress_auth", None)
    return auth


def acting_user() -> User | None:
    """The user the request's bearer token speaks for, or ``None`` without one (loaded on
    first use: the token was checked before the view ran)."""
    login: tokens.TokenLogin | None = g.get("api_login")
    if login is None:
        return None
    if "api_user" not in g:
        g.api_user = tokens.user_of(login)
    user: User = g.api_user
    return user


def current_session_secret() -> str:
    """The login session behind the bearer token (for logout)."""
    login: tokens.TokenLogin | None = g.get("api_login")
    if login is None:
        raise Unauthorized()
    return login.sid


# --- HTTP caching ------------------------------------------------------------------------


def _http_caching(response: Response) -> Response:
    """ETag + 304 on successful GETs; Cache-Control by who may see the answer."""
    response.vary.add("Authorization")
    if response.cache_control.no_store:  # set by a view (token responses)
        return response
    if request.method in ("GET", "HEAD") and response.status_code == 200:
        response = _conditional(response)
        if request.headers.get("Authorization"):
            response.cache_control.private = True
            response.cache_control.no_cache = True
        else:
            response.cache_control.public = True
            response.cache_control.max_age = int(current_app.config["API_CACHE_MAX_AGE"])
            # Not the page cache's own choices: its s-maxage for pages, or "private" for a
            # browser whose cookie the API ignores (the answer is the public one).
            response.cache_control.s_maxage = None
            response.cache_control.private = None
            response.cache_control.no_cache = None
    elif response.status_code != 304:
        response.cache_control.no_store = True
    return response


def _conditional(response: Response) -> Response:
    """Add a strong ETag (a hash of the body); answer 304 if the client already has it.

    Flask-Compress later turns ``"tag"`` into ``"tag:gzip"`` (or ``:br``...) on compressed
    answers, so a tag the client sends back matches whatever encoding suffix it carries.
    """
    response.add_etag()
    etag, _ = response.get_etag()
    wanted = request.if_none_match
    if not etag or not wanted:
        return response
    # If-None-Match uses the weak comparison (RFC 9110 13.1.2): W/"x" matches "x" too.
    matched = next(
        (
            tag
            for tag in wanted.as_set(include_weak=True)
            if isinstance(tag, str) and tag.split(":", 1)[0] == etag
        ),
        None,
    )
    if matched is None and not wanted.star_tag:
        return response
    not_modified = current_app.response_class(status=304)
    not_modified.set_etag(matched or etag)
    for header in ("Vary", "Cache-Control", "Content-Location", "Expires"):
        if header in response.headers:
            not_modified.headers[header] = response.headers[header]
    return not_modified


def no_store(response: Response) -> Response:
    """Mark a response that carries secrets (tokens) as never to be cached."""
    response.cache_control.no_store = True
    response.headers["Pragma"] = "no-cache"
    return response


# --- pagination --------------------------------------------------------------------------


def page_payload(key: str, items: Iterable[Any], pagination: Pagination) -> tuple[Any, ...]:
    """``({key: items, total, page, per_page, pages, links}, headers)`` with a Link header."""
    pages = pagination.pages
    page = pagination.page

    def link(number: int) -> str:
        others = {k: v for k, v in request.args.items() if k not in ("page", "per_page")}
        assert request.endpoint is not None
        return external_url(
            request.endpoint,
            **(request.view_args or {}),
            page=number,
            per_page=pagination.per_page,
            **others,
        )

    last = max(pages, 1)
    links = {
        "self": link(page),
        "first": link(1),
        "last": link(last),
        "next": link(page + 1) if page < pages else None,
        "prev": link(min(page - 1, last)) if page > 1 else None,
    }
    header = ", ".join(f'<{url}>; rel="{rel}"' for rel, url in links.items() if url is not None)
    body = {
        key: list(items),
        "total": pagination.total or 0,
        "page": page,
        "per_page": pagination.per_page,
        "pages": pages,
        "links": links,
    }
    return body, {"Link": header}


def cursor_page_payload(
    key: str, page: Any, max_offset_rows: int
) -> tuple[dict[str, Any], dict[str, str]]:
    """Like :func:`page_payload` for a keyset page of posts (``services.PostPage``).

    ``next_cursor``/``prev_cursor`` lead to the older and newer pages at any depth; the
    ``next``/``prev`` links use page numbers while asked by number (and the next page is
    within ``max_offset_rows``), the cursors otherwise. ``last`` is the deepest page served
    by number. ``page`` is ``null`` when asked by cursor.
    """
    per_page = page.per_page
    pages = page.pages
    deepest = max(min(pages, max_offset_rows // per_page + 1), 1)

    def link(**values: Any) -> str:
        others = {k: v for k, v in request.args.items() if k not in ("page", "per_page", "cursor")}
        assert request.endpoint is not None
        return external_url(
            request.endpoint, **(request.view_args or {}), **values, per_page=per_page, **others
        )

    older = page.older.encode() if page.older is not None else None
    newer = page.newer.encode() if page.newer is not None else None
    number = page.page
    if number is not None:
        self_link = link(page=number)
        next_link = (
            (link(page=number + 1) if number + 1 <= deepest else link(cursor=older))
            if older
            else None
        )
        prev_link = link(page=min(number - 1, deepest)) if number > 1 else None
    else:
        self_link = link(cursor=request.args.get("cursor", ""))
        next_link = link(cursor=older) if older else None
        prev_link = link(cursor=newer) if newer else None
    links = {
        "self": self_link,
        "first": link(page=1),
        "last": link(page=deepest),
        "next": next_link,
        "prev": prev_link,
    }
    header = ", ".join(f'<{url}>; rel="{rel}"' for rel, url in links.items() if url is not None)
    body = {
        key: list(page.items),
        "total": page.total or 0,
        "page": number,
        "per_page": per_page,
        "pages": pages,
        "links": links,
        "next_cursor": older,
        "prev_cursor": newer,
    }
    return body, {"Link": header}


# --- documentation -----------------------------------------------------------------------

# Errors any operation can answer: the default rate limit.
COMMON_ERRORS = (429,)
# Errors of operations that read a JSON body.
BODY_ERRORS = (400, 413, 415, 422)
# Our own response components, where flask-smorest's plain ones say too little.
RESPONSE_NAMES = {401: "AUTHENTICATION_REQUIRED", 429: "RATE_LIMITED"}


def register_responses(spec: Any) -> None:
    """Add the response components of :data:`RESPONSE_NAMES` to the OpenAPI document."""
    error = {"application/json": {"schema": "Error"}}
    spec.components.response(
        "AUTHENTICATION_REQUIRED",
        {
            "description": "No, an expired, a revoked or an invalid bearer token.",
            "content": error,
            "headers": {"WWW-Authenticate": {"schema": {"type": "string"}}},
        },
    )
    spec.components.response(
        "RATE_LIMITED",
        {
            "description": "Too many requests; try again after Retry-After seconds.",
            "content": error,
            "headers": {"Retry-After": {"schema": {"type": "string"}}},
        },
    )


def documented(*, auth: Auth, errors: Iterable[int] = (), etag: bool = False) -> Callable[[F], F]:
    """Declare an operation's security and error responses in the OpenAPI document.

    ``auth="optional"`` means anonymous callers get the public view and a token may show more
    (drafts, pending comments). Any bearer token sent is checked, so those operations can
    answer 401 too.
    """

    def decorator(func: F) -> F:
        apidoc = dict(getattr(func, "_apidoc", {}))
        apidoc["penpress"] = {
            "auth": auth,
            "errors": tuple(errors),
            "etag": etag,
            "operation_id": func.__name__,
        }
        func._apidoc = apidoc  # type: ignore[attr-defined]
        func._penpress_auth = auth  # type: ignore[attr-defined]
        return func

    return decorator


def _prepare_penpress_doc(
    doc: dict[str, Any], doc_info: dict[str, Any], *, method: str, **_kwargs: Any
) -> dict[str, Any]:
    info = doc_info.get("penpress")
    if info is None:  # fails at start-up, so no operation goes out with unknown auth and errors
        raise RuntimeError("every /api/v1 view needs @documented(auth=..., errors=...)")
    doc["operationId"] = info["operation_id"]
    codes = set(info["errors"]) | set(COMMON_ERRORS)
    if doc_info.get("arguments"):
        codes.add(422)
    if info["auth"] == "required":
        doc["security"] = [{"bearerAuth": []}]
        codes.add(401)
    elif info["auth"] == "optional":
        doc["security"] = [{}, {"bearerAuth": []}]
        codes.add(401)
    else:
        doc["security"] = []
    responses = doc.setdefault("responses", {})
    if info["etag"] and method in ("get", "head"):
        codes.add(304)
    for code in sorted(codes):
        if code not in responses and str(code) not in responses:
            responses[code] = RESPONSE_NAMES.get(code, HTTPStatus(code).name)
    if info["etag"] and method in ("get", "head"):
        doc.setdefault("parameters", []).append("IF_NONE_MATCH")
        for code, response in responses.items():
            if str(code).startswith("2") and isinstance(response, dict):
                response.setdefault("headers", {})["ETag"] = "ETAG"
    return doc
