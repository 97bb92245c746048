"""HTTP behaviour of /api/v1: CORS, rate limits, CSRF, errors for unknown paths."""

from __future__ import annotations

from collections.abc import Callable

from flask import Flask
from flask.testing import FlaskClient

from penpress.accounts.services import register_user
from penpress.extensions import db
from tests.api.v1.conftest import error_of

ORIGIN = "https://app.example.com"


def test_cors_allows_configured_origins_only(build_app: Callable[..., Flask]) -> None:
    app = build_app(CORS_ORIGINS=[ORIGIN])
    client = app.test_client()
    allowed = client.get("/api/v1/tags", headers={"Origin": ORIGIN})
    assert allowed.headers["Access-Control-Allow-Origin"] == ORIGIN
    assert "ETag" in allowed.headers["Access-Control-Expose-Headers"]
    preflight = client.options(
        "/api/v1/posts",
        headers={
            "Origin": ORIGIN,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "Authorization, Content-Type",
        },
    )
    assert preflight.headers["Access-Control-Allow-Origin"] == ORIGIN
    assert "authorization" in preflight.headers["Access-Control-Allow-Headers"].lower()
    other = client.get("/api/v1/tags", headers={"Origin": "https://evil.example.com"})
    assert other.status_code == 200
    assert "Access-Control-Allow-Origin" not in other.headers


def test_no_cors_by_default(client: FlaskClient) -> None:
    response = client.get("/api/v1/tags", headers={"Origin": ORIGIN})
    assert "Access-Control-Allow-Origin" not in response.headers


def test_auth_endpoints_are_rate_limited_from_config(build_app: Callable[..., Flask]) -> None:
    app = build_app(RATELIMIT_ENABLED=True, RATELIMIT_AUTH="2 per minute")
    client = app.test_client()
    credentials = {"email": "who@example.com", "password": "wrong-password"}
    assert client.post("/api/v1/auth/tokens", json=credentials).status_code == 401
    assert (
        client.post("/api/v1/auth/tokens/refresh", json={"refresh_token": "x"}).status_code == 401
    )
    limited = client.post("/api/v1/auth/tokens", json=credentials)
    assert limited.status_code == 429
    assert int(limited.headers["Retry-After"]) > 0
    assert error_of(limited)["message"].startswith("Too many requests")
    # Other endpoints keep the default limit.
    assert client.get("/api/v1/tags").status_code == 200


def test_auth_limit_is_read_at_request_time(build_app: Callable[..., Flask]) -> None:
    app = build_app(RATELIMIT_ENABLED=True, RATELIMIT_AUTH="100 per minute")
    client = app.test_client()
    credentials = {"email": "who@example.com", "password": "wrong-password"}
    assert client.post("/api/v1/auth/tokens", json=credentials).status_code == 401
    app.config["RATELIMIT_AUTH"] = "2 per minute"
    assert client.post("/api/v1/auth/tokens", json=credentials).status_code == 401
    assert client.post("/api/v1/auth/tokens", json=credentials).status_code == 401
    assert client.post("/api/v1/auth/tokens", json=credentials).status_code == 429


def test_default_limit_applies_to_the_api(build_app: Callable[..., Flask]) -> None:
    app = build_app(RATELIMIT_ENABLED=True, RATELIMIT_DEFAULT="3 per minute")
    client = app.test_client()
    responses = [client.get("/api/v1/tags") for _ in range(4)]
    assert [response.status_code for response in responses] == [200, 200, 200, 429]
    # Retry-After only where there is something to wait for.
    waits = [("Retry-After" in response.headers) for response in responses]
    assert waits == [False, False, False, True]
    assert 0 < int(responses[-1].headers["Retry-After"]) <= 60


def test_api_is_exempt_from_csrf_but_the_site_is_not(build_app: Callable[..., Flask]) -> None:
    app = build_app(WTF_CSRF_ENABLED=True, DEFAULT_ROLE="author")
    app.add_url_rule("/form", "form", lambda: "saved", methods=["POST"])
    with app.app_context():
        register_user("csrf", "csrf@example.com", "long-enough-pw")
        db.session.commit()
    client = app.test_client()
    login = client.post(
        "/api/v1/auth/tokens", json={"email": "csrf@example.com", "password": "long-enough-pw"}
    )
    assert login.status_code == 200
    headers = {"Authorization": f"Bearer {login.get_json()['access_token']}"}
    created = client.post("/api/v1/posts", json={"title": "T", "body": "B"}, headers=headers)
    assert created.status_code == 201
    # A form post outside the API still needs its CSRF token.
    assert client.post("/form", data={"x": "1"}).status_code == 400


def test_unknown_api_path_is_json_404(client: FlaskClient) -> None:
    response = client.get("/api/v1/nothing-here")
    assert response.status_code == 404
    error_of(response)


def test_path_values_no_row_can_match_are_404(client: FlaskClient) -> None:
    response = client.get("/api/v1/posts/a%00b")
    assert response.status_code == 404
    error_of(response)


def test_empty_json_body_is_validated_not_rejected(client: FlaskClient) -> None:
    response = client.post("/api/v1/auth/tokens", data="", content_type="application/json")
    assert response.status_code == 422
    assert set(error_of(response)["details"]) == {"email", "password"}


def test_absurdly_long_strings_are_422(client: FlaskClient) -> None:
    response = client.post("/api/v1/auth/tokens", json={"email": "a" * 300_000, "password": "x"})
    assert response.status_code == 422
    assert "email" in error_of(response)["details"]
