"""Tokens: log in, refresh (rotating), log out."""

from __future__ import annotations

from typing import Any

from flask import Response, jsonify

from penpress.accounts import services, tokens
from penpress.api.v1.core import (
    BODY_ERRORS,
    ApiBlueprint,
    current_session_secret,
    documented,
    no_store,
)
from penpress.api.v1.schemas import RefreshRequestSchema, TokenPairSchema, TokenRequestSchema
from penpress.ratelimits import auth_rate_limit

bp = ApiBlueprint(
    "api_v1_auth",
    __name__,
    description="Access and refresh tokens (JWT). Send `Authorization: Bearer <access_token>`.",
)


# Logging in, refreshing, registering and changing the password share one budget per address.
LOGIN_SCOPE = "api-v1-auth"


def _pair_response(pair: tokens.TokenPair) -> Response:
    body = TokenPairSchema().dump(pair)
    return no_store(jsonify(body))


@bp.route("/tokens", methods=["POST"])
@auth_rate_limit(scope=LOGIN_SCOPE)
@documented(auth="none", errors=(*BODY_ERRORS, 401, 403))
@bp.arguments(TokenRequestSchema)
@bp.response(200, TokenPairSchema)
def create_tokens(credentials: dict[str, Any]) -> Response:
    """Log in: trade an email and password for an access and a refresh token."""
    user = services.authenticate(credentials["email"], credentials["password"])
    return _pair_response(tokens.issue_token_pair(user))


@bp.route("/tokens/refresh", methods=["POST"])
@auth_rate_limit(scope=LOGIN_SCOPE)
@documented(auth="none", errors=(*BODY_ERRORS, 401))
@bp.arguments(RefreshRequestSchema)
@bp.response(200, TokenPairSchema)
def refresh_tokens(data: dict[str, Any]) -> Response:
    """Trade a refresh token for a new pair; each refresh token works once.

    Presenting a refresh token a second time ends the whole login (it was probably stolen).
    """
    return _pair_response(tokens.refresh(data["refresh_token"]))


@bp.route("/tokens", methods=["DELETE"])
@documented(auth="required")
@bp.response(204)
def delete_tokens() -> tuple[str, int]:
    """Log out: revoke the access token sent and every token of the same login."""
    tokens.revoke(current_session_secret())
    return "", 204
