"""Penpress's own JSON API, ``/api/v1``, documented by an OpenAPI document built from the code.

flask-smorest generates the document from the marshmallow schemas and the routes; only the
blueprints registered on this module's :class:`~flask_smorest.Api` appear in it, so the Conduit
API stays out. Errors are rendered by the app's one error registry, not by flask-smorest.
"""

from __future__ import annotations

from flask import Flask, Response
from flask_smorest import Api

from penpress.api.v1 import auth, comments, media, posts, review, subscribers, tags, users
from penpress.api.v1.core import BEARER_SCHEME, register_responses
from penpress.api.v1.docs import bp as docs_bp
from penpress.api.v1.schemas import ErrorSchema
from penpress.errors import ErrorInfo, error_registry, json_renderer
from penpress.extensions import csrf

PREFIX = "/api/v1"
DESCRIPTION = """Penpress's JSON API: posts, comments, users and tags, under the same rules as
the website.

Log in with `POST /api/v1/auth/tokens` (email and password) and send the access token as
`Authorization: Bearer <token>`. Access tokens are short-lived; trade the refresh token for a
new pair at `POST /api/v1/auth/tokens/refresh` (each refresh token works once).

Every error is `{"error": {"code", "message", "details"}}`; unknown fields in a request body
are rejected with a 422. Lists are paged with `page` and `per_page` (at most 100) and carry
`links` and a `Link` header. Successful GETs carry an `ETag`; send it in `If-None-Match` to get
a 304 when nothing changed.

What an account may do is its role's; the same rules hold on the website and the Conduit API:

| role | may |
|---|---|
| reader | comment, follow, favorite (new accounts' role unless the site says otherwise) |
| contributor | also write drafts and submit them for review (`POST /posts/{slug}/submit`) |
| author | also publish their own posts |
| moderator | also approve and delete anyone's comments |
| editor | also edit, publish, delete anyone's posts; review queue (`/review`); tags; invites |
| admin | everything: users, roles, approvals, site settings |

When the site asks for it (the default in production), an account must confirm its email
address before it publishes, submits for review or comments: until then those answer 403.
Who may register (`POST /users`) is the site's registration policy: open, approval, invite
or closed."""


class PenpressApi(Api):
    """flask-smorest's Api, with our error shape and without its own error handler."""

    ERROR_SCHEMA = ErrorSchema
    # Each operation lists the errors it can answer; no catch-all "default" response, so a
    # status an operation does not declare is a bug the fuzzing test finds.
    DEFAULT_ERROR_RESPONSE_NAME = None

    def _register_error_handlers(self) -> None:
        """Leave errors to the app's ErrorRegistry (see penpress.errors)."""


def api_error_renderer(info: ErrorInfo) -> Response:
    """The ``/api`` JSON error, plus the challenge RFC 6750 asks 401s to carry."""
    response = json_renderer(info)
    if info.status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="penpress"'
    return response


def init_app(app: Flask) -> None:
    """Register the v1 API, its OpenAPI document and its interactive docs on ``app``."""
    api = PenpressApi(spec_kwargs={"info": {"description": DESCRIPTION}})
    api.init_app(app)
    api.spec.components.security_scheme("bearerAuth", BEARER_SCHEME)
    register_responses(api.spec)
    for module, prefix in (
        (auth, "/auth"),
        (posts, "/posts"),
        (review, "/review"),
        (comments, ""),
        (users, ""),
        (tags, "/tags"),
        (media, "/media"),
        (subscribers, "/subscribers"),
    ):
        # Tokens, not cookies, authenticate here: there is nothing for CSRF to ride on.
        csrf.exempt(module.bp)
        api.register_blueprint(module.bp, url_prefix=PREFIX + prefix)
    app.register_blueprint(docs_bp, url_prefix=PREFIX)
    # A NUL character in the path names nothing (404); in the query it is a field error (422).
    error_registry(app).register(PREFIX, api_error_renderer, nul_in_path=404, nul_in_value=422)
    app.extensions["penpress_api_v1"] = api
