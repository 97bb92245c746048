"""HTTP behaviour of the Conduit prefix: error shapes, CORS, CSRF, rate limits, content type."""

from __future__ import annotations

import pytest
from flask import Flask

from penpress.errors import ErrorInfo, render_error
from tests.api.realworld.conftest import PREFIX
from tests.api.realworld.shapes import check_errors

FRONT_END = "http://localhost:4200"


def test_responses_are_json(api, jake):
    response = api.get("/user", jake["token"])
    assert response.headers["Content-Type"].startswith("application/json")


def test_responses_are_never_cached(api, jake):
    for response in (api.get("/user", jake["token"]), api.get("/articles"), api.get("/user")):
        assert response.headers["Cache-Control"] == "no-store"


def test_unknown_path_under_the_prefix_is_a_conduit_404(api):
    errors = check_errors(api.get("/nothing-here"), 404)
    assert errors == {"body": ["The page or resource was not found."]}


def test_wrong_method_is_a_conduit_405(api):
    response = api.request("PATCH", "/articles")
    check_errors(response, 405)
    assert set(response.headers["Allow"].replace(" ", "").split(",")) >= {"GET", "POST"}


def test_too_large_a_body_is_a_conduit_413(api, app, jake, monkeypatch):
    monkeypatch.setitem(app.config, "MAX_CONTENT_LENGTH", 1000)
    response = api.post(
        "/articles",
        jake["token"],
        json={"article": {"title": "t", "description": "d", "body": "x" * 5000}},
    )
    check_errors(response, 413)


def test_an_unexpected_error_is_a_conduit_500_without_internals(api, app, monkeypatch):
    from penpress.blog import services as blog

    def broken() -> list[tuple[str, str, int]]:
        raise RuntimeError("secret internal detail")

    monkeypatch.setattr(blog, "tags_with_counts", broken)
    response = api.get("/tags")
    errors = check_errors(response, 500)
    assert "secret" not in response.get_data(as_text=True)
    assert errors == {"body": ["Something went wrong on our side. It has been logged."]}


def test_errors_elsewhere_keep_their_own_shape(client):
    assert client.get("/api/v1/nothing").get_json()["error"]["code"] == 404
    assert client.get("/nothing").mimetype == "text/html"


def test_field_names_are_conduits_in_errors(app):
    with app.test_request_context(PREFIX + "/articles"):
        response = render_error(
            ErrorInfo(422, "bad", {"summary": ["too long"], "tags": ["x"], "image_url": ["y"]})
        )
    assert response.get_json() == {
        "errors": {"description": ["too long"], "tagList": ["x"], "image": ["y"]}
    }


def test_a_conflict_is_a_422_in_conduit(app):
    """The spec has no 409: a lost race on a unique field reads as a validation error."""
    with app.test_request_context(PREFIX + "/users"):
        response = render_error(ErrorInfo(409, "That conflicts with a change made just now."))
    assert response.status_code == 422
    assert response.get_json() == {
        "errors": {"body": ["That conflicts with a change made just now."]}
    }


def test_a_429_keeps_retry_after(app):
    with app.test_request_context(PREFIX + "/users/login"):
        response = render_error(ErrorInfo(429, "slow down", headers={"Retry-After": "60"}))
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "60"
    assert response.get_json() == {"errors": {"body": ["slow down"]}}


@pytest.mark.parametrize(
    "path",
    ["/articles", "/articles/{slug}", "/articles/{slug}/comments", "/profiles/jake"],
)
def test_a_stale_token_is_401_even_where_auth_is_optional(api, jake, path):
    article = api.create_article(jake["token"])
    assert api.get(path.format(slug=article["slug"])).status_code == 200
    check_errors(api.get(path.format(slug=article["slug"]), "stale.token.value"), 401)


# --- apps with other settings ------------------------------------------------------------------


def test_the_prefix_is_configurable(build_app):
    app = build_app(schema=False, REALWORLD_PREFIX="/conduit/api/")
    client = app.test_client()
    response = client.get("/conduit/api/user")
    check_errors(response, 401)
    check_errors(client.get("/conduit/api/nothing"), 404)
    assert client.get("/realworld/api/user").mimetype == "text/html"  # the site's 404 now


@pytest.fixture
def cors_app(build_app) -> Flask:
    return build_app(schema=False, CORS_ORIGINS=[FRONT_END])


def test_cors_preflight_allows_the_front_end_with_a_token_header(cors_app):
    client = cors_app.test_client()
    response = client.options(
        PREFIX + "/user",
        headers={
            "Origin": FRONT_END,
            "Access-Control-Request-Method": "PUT",
            "Access-Control-Request-Headers": "Authorization, Content-Type",
        },
    )
    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == FRONT_END
    allowed_headers = response.headers["Access-Control-Allow-Headers"].lower()
    assert "authorization" in allowed_headers
    assert "content-type" in allowed_headers
    assert "PUT" in response.headers["Access-Control-Allow-Methods"]


def test_cors_headers_are_on_error_responses_too(cors_app):
    """A front end must be able to read a 401 or 422 to show it."""
    client = cors_app.test_client()
    response = client.get(PREFIX + "/user", headers={"Origin": FRONT_END})
    assert response.status_code == 401
    assert response.headers["Access-Control-Allow-Origin"] == FRONT_END
    response = client.post(PREFIX + "/users/login", json={}, headers={"Origin": FRONT_END})
    assert response.status_code == 422
    assert response.headers["Access-Control-Allow-Origin"] == FRONT_END


def test_cors_refuses_other_origins(cors_app):
    client = cors_app.test_client()
    response = client.options(
        PREFIX + "/user",
        headers={
            "Origin": "http://evil.example",
            "Access-Control-Request-Method": "PUT",
            "Access-Control-Request-Headers": "Authorization",
        },
    )
    assert "Access-Control-Allow-Origin" not in response.headers
    response = client.get(PREFIX + "/user", headers={"Origin": "http://evil.example"})
    assert "Access-Control-Allow-Origin" not in response.headers


def test_no_cors_without_configured_origins(client):
    response = client.get(PREFIX + "/user", headers={"Origin": FRONT_END})
    assert "Access-Control-Allow-Origin" not in response.headers


def test_the_api_needs_no_csrf_token(build_app):
    """Token-only auth: with CSRF on for the site, Conduit requests still go through."""
    app = build_app(schema=False, WTF_CSRF_ENABLED=True)

    @app.post("/csrf-probe")
    def probe() -> str:
        return "ok"

    client = app.test_client()
    assert client.post("/csrf-probe").status_code == 400  # the site is protected ...
    response = client.post(PREFIX + "/users/login", json={"user": {}})
    assert response.status_code == 422  # ... the API answers on its own terms
    assert set(response.get_json()["errors"]) == {"email", "password"}


def test_login_is_rate_limited(build_app):
    limited = build_app(schema=False, RATELIMIT_ENABLED=True, RATELIMIT_AUTH="3 per minute")
    client = limited.test_client()
    body = {"user": {"email": "", "password": ""}}  # failed attempts count too
    statuses = [client.post(PREFIX + "/users/login", json=body).status_code for _ in range(4)]
    assert statuses == [422, 422, 422, 429]
    response = client.post(PREFIX + "/users/login", json=body)
    check_errors(response, 429)
    assert int(response.headers["Retry-After"]) > 0
    register = client.post(PREFIX + "/users", json={"user": {}})
    assert [register.status_code] + [
        client.post(PREFIX + "/users", json={"user": {}}).status_code for _ in range(3)
    ] == [422, 422, 422, 429]
