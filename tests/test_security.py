"""Security behaviour of the site: headers, cookies, CSRF, size and rate limits, error pages."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from flask import Flask, abort, request
from flask.testing import FlaskClient
from werkzeug.exceptions import TooManyRequests

from penpress.errors import UNAVAILABLE_RETRY_AFTER, Forbidden, Unauthorized
from penpress.extensions import db
from tests.pages import (
    REMEMBER_COOKIE,
    SESSION_COOKIE,
    csrf_token,
    is_logged_in,
    login,
)

PRODUCTION = {
    "ENV_NAME": "production",
    "SECRET_KEY": "production-secret-" + "x" * 40,
    "SITE_URL": "https://localhost",
}
HTTPS = "https://localhost"
INTERNAL_DETAIL = "the-database-password-is-hunter2"

# --- headers ----------------------------------------------------------------------------------


def csp_directives(header: str) -> dict[str, str]:
    directives: dict[str, str] = {}
    for part in header.split(";"):
        name, _, value = part.strip().partition(" ")
        if name:
            directives[name] = value
    return directives


@pytest.mark.parametrize("path", ["/", "/auth/login", "/no/such/page", "/api/no/such/thing"])
def test_security_headers_on_every_response(client: FlaskClient, path: str) -> None:
    headers = client.get(path).headers
    policy = csp_directives(headers["Content-Security-Policy"])
    assert policy["script-src"] == "'self'"
    assert policy["style-src"] == "'self'"
    assert policy["frame-ancestors"] == "'none'"
    assert policy["object-src"] == "'none'"
    assert "unsafe-inline" not in headers["Content-Security-Policy"]
    assert "unsafe-eval" not in headers["Content-Security-Policy"]
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["Referrer-Policy"] == "strict-origin-when-cross-origin"


def test_hsts_is_sent_in_production(build_app: Callable[..., Flask]) -> None:
    app = build_app(**PRODUCTION)
    response = app.test_client().get("/about", base_url=HTTPS)
    assert response.status_code == 200
    hsts = response.headers["Strict-Transport-Security"]
    assert "max-age=" in hsts
    assert int(hsts.split("max-age=")[1].split(";")[0]) >= 180 * 24 * 3600


def test_no_hsts_in_development(build_app: Callable[..., Flask]) -> None:
    app = build_app(ENV_NAME="development")
    response = app.test_client().get("/about", base_url=HTTPS)
    assert "Strict-Transport-Security" not in response.headers


def cookie_header(response, name: str) -> str:  # type: ignore[no-untyped-def]
    found = [h for h in response.headers.getlist("Set-Cookie") if h.startswith(f"{name}=")]
    assert found, f"no {name} cookie set"
    return str(found[0])


def test_production_cookies_are_secure_httponly_samesite(
    build_app: Callable[..., Flask], make
) -> None:
    app = build_app(**PRODUCTION)
    with app.app_context():
        user = make.user()
    client = app.test_client()
    response = client.post(
        "/auth/login",
        data={"email": user.email, "password": "correct-horse-battery", "remember": "y",
              "csrf_token": csrf_token(client, HTTPS + "/auth/login")},
        base_url=HTTPS,
        headers={"Referer": HTTPS + "/auth/login"},  # checked on HTTPS (WTF_CSRF_SSL_STRICT)
    )  # fmt: skip
    assert response.status_code == 303
    for name in (SESSION_COOKIE, REMEMBER_COOKIE):
        header = cookie_header(response, name)
        assert "; Secure" in header
        assert "; HttpOnly" in header
        assert "; SameSite=Lax" in header


def test_development_cookies_are_httponly_samesite_but_not_secure(
    client: FlaskClient, make
) -> None:
    response = login(client, make.user().email, remember=True)
    for name in (SESSION_COOKIE, REMEMBER_COOKIE):
        header = cookie_header(response, name)
        assert "; HttpOnly" in header
        assert "; SameSite=Lax" in header
        assert "; Secure" not in header


# --- CSRF -------------------------------------------------------------------------------------


@pytest.fixture
def csrf_app(build_app: Callable[..., Flask]) -> Flask:
    return build_app(WTF_CSRF_ENABLED=True)


@pytest.mark.parametrize(
    ("path", "data"),
    [
        ("/auth/login", {"email": "a@example.com", "password": "whatever-it-is"}),
        ("/auth/register", {"username": "abc", "email": "a@example.com", "password": "x"}),
        ("/auth/logout", {}),
        ("/auth/profile", {"bio": "hi"}),
        ("/auth/profile/password", {}),
        ("/auth/profile/email", {"email": "new@example.com", "current_password": "x" * 10}),
        ("/auth/email-change/some-token", {}),
        ("/admin/comments/1/approve", {}),
        ("/admin/settings", {}),
    ],
)
def test_posts_without_a_csrf_token_are_rejected(
    csrf_app: Flask, path: str, data: dict[str, str]
) -> None:
    response = csrf_app.test_client().post(path, data=data)
    assert response.status_code == 400
    assert "text/html" in response.content_type
    assert "The request was malformed." in response.get_data(as_text=True)


def test_login_and_logout_work_with_the_csrf_token(csrf_app: Flask, make) -> None:
    with csrf_app.app_context():
        user = make.user()
    client = csrf_app.test_client()
    assert login(client, user.email, csrf=True).status_code == 303
    assert is_logged_in(client)
    # A forged logout (no token) does nothing...
    assert client.post("/auth/logout").status_code == 400
    assert is_logged_in(client)
    # ...the nav's logout button carries the token.
    token = csrf_token(client, "/")
    assert client.post("/auth/logout", data={"csrf_token": token}).status_code == 303
    assert not is_logged_in(client)


def test_a_token_from_another_session_is_rejected(csrf_app: Flask, make) -> None:
    with csrf_app.app_context():
        user = make.user()
    attacker = csrf_app.test_client()
    stolen = csrf_token(attacker, "/auth/login")
    victim = csrf_app.test_client()
    response = victim.post(
        "/auth/login",
        data={"email": user.email, "password": "correct-horse-battery", "csrf_token": stolen},
    )
    assert response.status_code == 400


def test_profile_password_change_works_with_the_csrf_token(csrf_app: Flask, make) -> None:
    with csrf_app.app_context():
        user = make.user()
    client = csrf_app.test_client()
    login(client, user.email, csrf=True)
    new = "another-long-password"
    response = client.post(
        "/auth/profile/password",
        data={"current_password": "correct-horse-battery", "new_password": new,
              "new_password_confirm": new, "csrf_token": csrf_token(client, "/auth/profile")},
    )  # fmt: skip
    assert response.status_code == 303
    assert is_logged_in(client)


# --- request size -----------------------------------------------------------------------------


def test_oversized_request_is_413(app: Flask, client: FlaskClient) -> None:
    too_big = "x" * (app.config["MAX_CONTENT_LENGTH"] + 1)
    response = client.post("/auth/login", data={"email": too_big, "password": "x"})
    assert response.status_code == 413
    assert "text/html" in response.content_type
    assert "The request is too large." in response.get_data(as_text=True)


# --- error pages ------------------------------------------------------------------------------


@pytest.fixture
def error_app(build_app: Callable[..., Flask]) -> Flask:
    """An app with test-only routes that fail on purpose, on the site and under /api/."""
    app = build_app(MAX_CONTENT_LENGTH=1024)

    def boom() -> str:
        raise RuntimeError(INTERNAL_DETAIL)

    def bad() -> str:
        abort(400)

    def forbidden() -> str:
        raise Forbidden()

    def unauthorized() -> str:
        raise Unauthorized()

    def limited() -> str:
        raise TooManyRequests(retry_after=42)

    def echo() -> str:
        return str(len(request.get_data()))

    for prefix in ("/test", "/api/test"):
        app.add_url_rule(f"{prefix}/boom", f"{prefix}-boom", boom)
        app.add_url_rule(f"{prefix}/bad", f"{prefix}-bad", bad)
        app.add_url_rule(f"{prefix}/forbidden", f"{prefix}-forbidden", forbidden)
        app.add_url_rule(f"{prefix}/limited", f"{prefix}-limited", limited)
        app.add_url_rule(f"{prefix}/unauthorized", f"{prefix}-unauthorized", unauthorized)
        app.add_url_rule(f"{prefix}/echo", f"{prefix}-echo", echo, methods=["POST"])
    return app


ERROR_CASES = [
    ("GET", "bad", 400),
    ("GET", "unauthorized", 401),
    ("GET", "forbidden", 403),
    ("GET", "missing", 404),
    ("GET", "echo", 405),
    ("POST", "echo", 413),
    ("GET", "limited", 429),
    ("GET", "boom", 500),
]


@pytest.mark.parametrize(("method", "name", "status"), ERROR_CASES)
def test_site_errors_are_html_pages(error_app: Flask, method: str, name: str, status: int) -> None:
    client = error_app.test_client()
    response = client.open(f"/test/{name}", method=method, data="x" * 2048)
    assert response.status_code == status
    assert response.mimetype == "text/html"
    html = response.get_data(as_text=True)
    assert f'<p class="error-code">{status}</p>' in html
    assert '<a class="button" href="/">Go to the home page</a>' in html
    assert '<a class="skip-link"' in html  # the full layout, not a bare page
    assert INTERNAL_DETAIL not in html
    assert "Traceback" not in html


@pytest.mark.parametrize(("method", "name", "status"), ERROR_CASES)
def test_api_errors_are_json(error_app: Flask, method: str, name: str, status: int) -> None:
    client = error_app.test_client()
    response = client.open(f"/api/test/{name}", method=method, data="x" * 2048)
    assert response.status_code == status
    assert response.mimetype == "application/json"
    body = json.loads(response.get_data(as_text=True))
    assert body["error"]["code"] == status
    assert body["error"]["message"]
    assert INTERNAL_DETAIL not in response.get_data(as_text=True)


def test_401_page_offers_the_login_page(error_app: Flask) -> None:
    html = error_app.test_client().get("/test/unauthorized").get_data(as_text=True)
    assert 'href="/auth/login">Log in</a>' in html


def test_error_responses_carry_allow_and_retry_after(error_app: Flask) -> None:
    client = error_app.test_client()
    assert "POST" in client.get("/test/echo").headers["Allow"]
    assert client.get("/test/limited").headers["Retry-After"] == "42"


def test_real_site_errors(client: FlaskClient, make) -> None:
    assert client.get("/auth/logout").status_code == 405
    assert client.get("/no/such/page").status_code == 404
    login(client, make.user().email)
    response = client.get("/admin/users")
    assert response.status_code == 403
    assert "You are not allowed to do that." in response.get_data(as_text=True)


def test_not_found_page_keeps_the_logged_in_navigation(client: FlaskClient, make) -> None:
    login(client, make.user().email)
    html = client.get("/no/such/page").get_data(as_text=True)
    assert "Log out" in html
    assert 'href="/auth/profile"' in html


def test_error_page_renders_when_the_database_is_down(
    build_app: Callable[..., Flask], tmp_path
) -> None:
    missing = tmp_path / "no-such-folder" / "penpress.db"
    app = build_app(schema=False, SQLALCHEMY_DATABASE_URI=f"sqlite:///{missing}")
    response = app.test_client().get("/")
    # The file cannot be opened (its folder is missing): an outage, like PostgreSQL being down.
    assert response.status_code == 503
    assert response.headers["Retry-After"] == str(UNAVAILABLE_RETRY_AFTER)
    html = response.get_data(as_text=True)
    assert '<p class="error-code">' in html
    assert 'href="/auth/login">Log in' in html
    assert "sqlite" not in html.lower()
    assert "Traceback" not in html


@pytest.mark.parametrize(
    ("path", "mimetype"),
    [("/blog/", "text/html"), ("/api/v1/posts", "application/json"),
     ("/realworld/api/articles", "application/json")],
)  # fmt: skip
def test_a_sqlite_file_that_becomes_unreachable_is_a_503_then_recovers(
    build_app: Callable[..., Flask], tmp_path: Path, path: str, mimetype: str
) -> None:
    """The folder holding the database goes away (an unmounted volume) while the app runs:
    every front door answers 503 with Retry-After, as for PostgreSQL, and serves again once
    the file is back."""
    folder = tmp_path / "volume"
    folder.mkdir()
    app = build_app(SQLALCHEMY_DATABASE_URI=f"sqlite:///{folder / 'blog.db'}")
    client = app.test_client()
    assert client.get(path).status_code == 200
    with app.app_context():
        db.engine.dispose()  # open connections would keep reading the moved file
    folder.rename(tmp_path / "unmounted")

    response = client.get(path)
    assert response.status_code == 503
    assert response.headers["Retry-After"] == str(UNAVAILABLE_RETRY_AFTER)
    assert response.mimetype == mimetype
    assert "sqlite" not in response.get_data(as_text=True).lower()

    (tmp_path / "unmounted").rename(folder)
    assert client.get(path).status_code == 200


# --- rate limits ------------------------------------------------------------------------------


@pytest.fixture
def limited_app(build_app: Callable[..., Flask]) -> Flask:
    return build_app(RATELIMIT_ENABLED=True, RATELIMIT_AUTH="3 per minute")


@pytest.mark.parametrize("path", ["/auth/login", "/auth/register"])
def test_login_and_register_posts_are_rate_limited(limited_app: Flask, path: str) -> None:
    client = limited_app.test_client()
    data = {"email": "someone@example.com", "password": "wrong-password"}
    for _ in range(3):
        assert client.post(path, data=data).status_code == 422
    response = client.post(path, data=data)
    assert response.status_code == 429
    assert int(response.headers["Retry-After"]) > 0
    assert response.mimetype == "text/html"
    assert "Too many requests" in response.get_data(as_text=True)
    # Reading the form is not limited.
    assert client.get(path).status_code == 200


def test_rate_limit_counts_correct_logins_too(limited_app: Flask, make) -> None:
    with limited_app.app_context():
        user = make.user()
    client = limited_app.test_client()
    for _ in range(3):
        assert login(client, user.email).status_code == 303
    assert login(client, user.email).status_code == 429


def test_error_pages_render_for_a_logged_in_user_when_the_database_fails(
    build_app: Callable[..., Flask], make, tmp_path: Path
) -> None:
    # A SQLite file of its own (on every test database), so it can be taken away.
    app = build_app(SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'doomed.db'}")
    with app.app_context():
        user = make.user()
        database = db.engine.url.database
    client = app.test_client()
    login(client, user.email)
    assert is_logged_in(client)
    # The database file disappears: every query now fails ("no such table").
    with app.app_context():
        db.engine.dispose()
    for suffix in ("", "-wal", "-shm"):
        Path(f"{database}{suffix}").unlink(missing_ok=True)

    server_error = client.get("/")
    assert server_error.status_code == 500
    html = server_error.get_data(as_text=True)
    assert '<p class="error-code">500</p>' in html
    assert 'href="/auth/login">Log in' in html  # the user is not looked up
    assert "no such table" not in html

    not_found = client.get("/no/such/page")
    assert not_found.status_code == 404
    assert '<p class="error-code">404</p>' in not_found.get_data(as_text=True)


# --- input PostgreSQL cannot store ------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "data"),
    [
        ("/auth/login", {"email": "nul\x00@example.com", "password": "whatever-it-is"}),
        ("/auth/register", {"username": "nul\x00user", "email": "n@example.com",
                            "password": "long-enough", "password_confirm": "long-enough"}),
        ("/auth/profile", {"bio": "zero\x00byte"}),
        ("/admin/users/nul%00name/role", {"role": "reader"}),
        ("/admin/users/someone/active", {"active": "1\x00"}),
        ("/admin/comments/1/approve?page=1%00", {}),
    ],
)  # fmt: skip
def test_nul_characters_are_a_400_not_a_server_error(
    client: FlaskClient, make, path: str, data: dict[str, str]
) -> None:
    login(client, make.user(role_name="admin").email)
    response = client.post(path, data=data)
    assert response.status_code == 400
    assert is_logged_in(client)


def test_nul_characters_in_a_login_are_a_400_for_visitors(client: FlaskClient) -> None:
    response = client.post("/auth/login", data={"email": "a\x00@b.example", "password": "x"})
    assert response.status_code == 400
    assert client.get("/auth/login?next=/%00").status_code == 400


def test_production_security_headers_stay_with_the_production_app(
    client: FlaskClient, build_app: Callable[..., Flask]
) -> None:
    production = build_app(
        ENV_NAME="production",
        SECRET_KEY="production-secret-" + "x" * 40,
        SITE_URL="https://localhost",
    )
    production_response = production.test_client().get("/about", base_url=HTTPS)
    assert "Strict-Transport-Security" in production_response.headers
    response = client.get("/about", base_url=HTTPS)  # the session app, built for testing
    assert "Strict-Transport-Security" not in response.headers
    assert response.headers["X-Frame-Options"] == "DENY"


# --- Retry-After ------------------------------------------------------------------------------


def test_retry_after_only_where_there_is_something_to_wait_for(
    build_app: Callable[..., Flask], make
) -> None:
    """Flask-Limiter's headers would put Retry-After (up to a minute) on every response, and
    over the documented value of a 503."""
    import redis

    from penpress.errors import UNAVAILABLE_RETRY_AFTER, ServiceUnavailable

    app = build_app(RATELIMIT_ENABLED=True, RATELIMIT_DEFAULT="100 per minute")

    def unavailable() -> str:
        raise ServiceUnavailable()

    def redis_down() -> str:
        raise redis.exceptions.ConnectionError("Connection refused")

    for prefix in ("/test", "/api/test", "/realworld/api/test"):
        app.add_url_rule(f"{prefix}/unavailable", f"{prefix}-unavailable", unavailable)
        app.add_url_rule(f"{prefix}/redis-down", f"{prefix}-redis-down", redis_down)
    # The test routes get RATELIMIT_DEFAULT, like every route without a limit of its own.
    client = app.test_client()
    for path in (
        "/",
        "/about",
        "/no/such/page",
        "/api/v1/posts",
        "/api/v1/me",
        "/realworld/api/user",
    ):
        response = client.get(path)
        assert response.status_code < 429, path
        assert "Retry-After" not in response.headers, path
        names = [name for name, _value in response.headers.items()]
        assert not any(name.startswith("X-RateLimit") for name in names), path
    for prefix in ("/test", "/api/test", "/realworld/api/test"):
        for name in ("unavailable", "redis-down"):
            response = client.get(f"{prefix}/{name}")
            assert response.status_code == 503
            assert response.headers["Retry-After"] == str(UNAVAILABLE_RETRY_AFTER)
    assert UNAVAILABLE_RETRY_AFTER == 30  # the value the README documents
