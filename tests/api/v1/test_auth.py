"""Tokens: log in, refresh with rotation and reuse detection, log out, bad tokens."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import jwt
import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from penpress.accounts import sessions, tokens
from penpress.accounts.models import SessionKind, User
from penpress.blog.models import Post
from penpress.database import utcnow
from penpress.extensions import db
from tests.api.v1.conftest import AuthHeaders, error_of, issue_pair
from tests.conftest import Make
from tests.factories import DEFAULT_PASSWORD

TOKENS = "/api/v1/auth/tokens"
REFRESH = "/api/v1/auth/tokens/refresh"
ME = "/api/v1/me"


def login(client: FlaskClient, email: str, password: str = DEFAULT_PASSWORD) -> Any:
    return client.post(TOKENS, json={"email": email, "password": password})


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def b64(data: dict[str, Any]) -> str:
    raw = json.dumps(data, default=lambda when: int(when.timestamp())).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def test_login_returns_a_token_pair_that_authenticates(client: FlaskClient, make: Make) -> None:
    user = make.user()
    response = login(client, user.email)
    assert response.status_code == 200
    body = response.get_json()
    assert set(body) == {"access_token", "refresh_token", "token_type", "expires_in"}
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 15 * 60
    assert "no-store" in response.headers["Cache-Control"]
    claims = jwt.decode(body["access_token"], options={"verify_signature": False})
    assert {"exp", "iat", "sub", "jti"} <= set(claims)
    me = client.get(ME, headers=bearer(body["access_token"]))
    assert me.status_code == 200
    assert me.get_json()["username"] == user.username


def test_login_email_is_case_insensitive(client: FlaskClient, make: Make) -> None:
    user = make.user()
    assert login(client, user.email.upper()).status_code == 200


@pytest.mark.parametrize("which", ["password", "email"])
def test_wrong_credentials_are_401_without_saying_which(
    client: FlaskClient, make: Make, which: str
) -> None:
    user = make.user()
    if which == "password":
        response = login(client, user.email, "not-the-password")
    else:
        response = login(client, "nobody@example.com")
    assert response.status_code == 401
    assert error_of(response)["message"] == "Invalid email or password."


def test_deactivated_account_cannot_log_in(client: FlaskClient, make: Make) -> None:
    user = make.user(active=False)
    response = login(client, user.email)
    assert response.status_code == 403
    error_of(response)


def test_login_validation_lists_missing_fields(client: FlaskClient) -> None:
    response = client.post(TOKENS, json={"email": "a@example.com"})
    assert response.status_code == 422
    assert error_of(response)["details"] == {"password": ["Missing data for required field."]}


def test_unknown_fields_are_rejected(client: FlaskClient, make: Make) -> None:
    user = make.user()
    response = client.post(
        TOKENS, json={"email": user.email, "password": DEFAULT_PASSWORD, "remember": True}
    )
    assert response.status_code == 422
    assert error_of(response)["details"] == {"remember": ["Unknown field."]}


def test_form_encoded_body_is_415(client: FlaskClient, make: Make) -> None:
    user = make.user()
    response = client.post(TOKENS, data={"email": user.email, "password": DEFAULT_PASSWORD})
    assert response.status_code == 415
    assert "application/json" in error_of(response)["message"]


def test_malformed_json_is_400(client: FlaskClient) -> None:
    response = client.post(TOKENS, data='{"email": ', content_type="application/json")
    assert response.status_code == 400
    assert error_of(response)["details"] == {"json": ["Invalid JSON body."]}


def test_deeply_nested_json_is_400_not_500(client: FlaskClient) -> None:
    response = client.post(TOKENS, data="[" * 100_000, content_type="application/json")
    assert response.status_code == 400
    error_of(response)


def test_json_that_is_not_an_object_is_422(client: FlaskClient) -> None:
    response = client.post(TOKENS, json=["email", "password"])
    assert response.status_code == 422
    assert "_schema" in error_of(response)["details"]


# --- refresh -------------------------------------------------------------------------------


def test_refresh_rotates_the_pair(client: FlaskClient, make: Make) -> None:
    first = login(client, make.user().email).get_json()
    response = client.post(REFRESH, json={"refresh_token": first["refresh_token"]})
    assert response.status_code == 200
    second = response.get_json()
    assert second["refresh_token"] != first["refresh_token"]
    assert second["access_token"] != first["access_token"]
    assert client.get(ME, headers=bearer(second["access_token"])).status_code == 200
    third = client.post(REFRESH, json={"refresh_token": second["refresh_token"]})
    assert third.status_code == 200


def test_reused_refresh_token_ends_the_whole_login(client: FlaskClient, make: Make) -> None:
    first = login(client, make.user().email).get_json()
    second = client.post(REFRESH, json={"refresh_token": first["refresh_token"]}).get_json()
    replay = client.post(REFRESH, json={"refresh_token": first["refresh_token"]})
    assert replay.status_code == 401
    assert "already used" in error_of(replay)["message"]
    # The thief's replay also revoked what the rightful client got from the rotation.
    assert client.get(ME, headers=bearer(second["access_token"])).status_code == 401
    again = client.post(REFRESH, json={"refresh_token": second["refresh_token"]})
    assert again.status_code == 401


def test_access_token_is_not_a_refresh_token(client: FlaskClient, make: Make) -> None:
    pair = login(client, make.user().email).get_json()
    response = client.post(REFRESH, json={"refresh_token": pair["access_token"]})
    assert response.status_code == 401
    error_of(response)


def test_refresh_token_is_not_an_access_token(client: FlaskClient, make: Make) -> None:
    pair = login(client, make.user().email).get_json()
    assert client.get(ME, headers=bearer(pair["refresh_token"])).status_code == 401


def test_refresh_needs_a_token(client: FlaskClient) -> None:
    response = client.post(REFRESH, json={})
    assert response.status_code == 422
    assert "refresh_token" in error_of(response)["details"]


# --- logout and revocation ---------------------------------------------------------------


def test_logout_revokes_access_and_refresh_tokens(client: FlaskClient, make: Make) -> None:
    pair = login(client, make.user().email).get_json()
    response = client.delete(TOKENS, headers=bearer(pair["access_token"]))
    assert response.status_code == 204
    assert response.data == b""
    assert client.get(ME, headers=bearer(pair["access_token"])).status_code == 401
    refresh = client.post(REFRESH, json={"refresh_token": pair["refresh_token"]})
    assert refresh.status_code == 401


def test_logout_leaves_other_logins_alone(app: Flask, client: FlaskClient, make: Make) -> None:
    user = make.user()
    phone = issue_pair(app, user)
    laptop = issue_pair(app, user)
    assert client.delete(TOKENS, headers=bearer(phone.access_token)).status_code == 204
    assert client.get(ME, headers=bearer(laptop.access_token)).status_code == 200


def test_logout_needs_a_token(client: FlaskClient) -> None:
    response = client.delete(TOKENS)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    error_of(response)


def test_password_change_revokes_every_token(client: FlaskClient, make: Make) -> None:
    user = make.user()
    old = login(client, user.email).get_json()
    other = login(client, user.email).get_json()
    response = client.put(
        f"{ME}/password",
        json={"current_password": DEFAULT_PASSWORD, "password": "a-brand-new-password"},
        headers=bearer(old["access_token"]),
    )
    assert response.status_code == 204
    for pair in (old, other):
        assert client.get(ME, headers=bearer(pair["access_token"])).status_code == 401
        refresh = client.post(REFRESH, json={"refresh_token": pair["refresh_token"]})
        assert refresh.status_code == 401
    assert login(client, user.email).status_code == 401
    assert login(client, user.email, "a-brand-new-password").status_code == 200


def test_password_change_needs_the_current_password(client: FlaskClient, make: Make) -> None:
    user = make.user()
    pair = login(client, user.email).get_json()
    response = client.put(
        f"{ME}/password",
        json={"current_password": "wrong-password", "password": "a-brand-new-password"},
        headers=bearer(pair["access_token"]),
    )
    assert response.status_code == 422
    assert "current_password" in error_of(response)["details"]
    assert client.get(ME, headers=bearer(pair["access_token"])).status_code == 200


def test_password_change_checks_the_new_password(
    client: FlaskClient, make: Make, auth_headers: AuthHeaders
) -> None:
    response = client.put(
        f"{ME}/password",
        json={"current_password": DEFAULT_PASSWORD, "password": "short"},
        headers=auth_headers(),
    )
    assert response.status_code == 422
    assert "password" in error_of(response)["details"]


def test_deactivation_revokes_tokens(app: Flask, client: FlaskClient, make: Make) -> None:
    user = make.user()
    headers = bearer(issue_pair(app, user).access_token)
    with app.app_context():
        db.session.get_one(User, user.id).active = False
        db.session.commit()
    assert client.get(ME, headers=headers).status_code == 401


# --- bad tokens --------------------------------------------------------------------------


def _claims(app: Flask, user: Any, **overrides: Any) -> dict[str, Any]:
    with app.app_context():
        sid, _ = sessions.start_session(
            db.session.get_one(User, user.id), SessionKind.API, timedelta(days=1)
        )
        db.session.commit()
    now = utcnow()
    claims = {
        "iss": "penpress",
        "sub": str(user.id),
        "sid": sid,
        "typ": "access",
        "jti": "x" * 32,
        "iat": now,
        "exp": now + timedelta(minutes=5),
    }
    claims.update(overrides)
    return claims


def _sign(app: Flask, claims: dict[str, Any]) -> str:
    with app.app_context():
        return tokens._encode(claims)


def test_a_well_formed_token_is_accepted(app: Flask, client: FlaskClient, make: Make) -> None:
    # Proves the helpers below build real tokens, so the rejections are for the stated reason.
    user = make.user()
    token = _sign(app, _claims(app, user))
    assert client.get(ME, headers=bearer(token)).status_code == 200


def _bad_tokens(app: Flask, user: Any) -> dict[str, str]:
    good = _sign(app, _claims(app, user))
    header, payload, signature = good.split(".")
    past = utcnow() - timedelta(minutes=1)
    return {
        "expired": _sign(app, _claims(app, user, exp=past, iat=past - timedelta(minutes=15))),
        "tampered payload": ".".join([header, b64({**_claims(app, user), "sub": "1"}), signature]),
        "tampered signature": ".".join(
            [header, payload, ("A" if signature[0] != "A" else "B") + signature[1:]]
        ),
        "alg none": ".".join(
            [b64({"alg": "none", "typ": "JWT"}), b64(_claims(app, user, iat=1, exp=2**40)), ""]
        ),
        "other key": jwt.encode(_claims(app, user), "not-our-key-" * 4, algorithm="HS256"),
        "wrong issuer": _sign(app, _claims(app, user, iss="elsewhere")),
        "missing jti": _sign(app, {k: v for k, v in _claims(app, user).items() if k != "jti"}),
        "unknown session": _sign(app, _claims(app, user, sid="no-such-session")),
        "garbage": "not.a.jwt",
        "not base64": "%%%.%%%.%%%",
    }


@pytest.mark.parametrize(
    "kind",
    [
        "expired",
        "tampered payload",
        "tampered signature",
        "alg none",
        "other key",
        "wrong issuer",
        "missing jti",
        "unknown session",
        "garbage",
        "not base64",
    ],
)
def test_bad_tokens_are_401_json(app: Flask, client: FlaskClient, make: Make, kind: str) -> None:
    user = make.user()
    token = _bad_tokens(app, user)[kind]
    for response in (
        client.get(ME, headers=bearer(token)),
        client.get("/api/v1/posts", headers=bearer(token)),  # public, but a bad token is still bad
    ):
        assert response.status_code == 401
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
        error_of(response)


def test_expired_token_says_so(app: Flask, client: FlaskClient, make: Make) -> None:
    user = make.user()
    token = _bad_tokens(app, user)["expired"]
    assert "expired" in error_of(client.get(ME, headers=bearer(token)))["message"]


@pytest.mark.parametrize("header", ["Token abc", "Basic dXNlcjpwYXNz", "Bearer", "Bearer  ", "x"])
def test_other_authorization_schemes_are_401(client: FlaskClient, header: str) -> None:
    response = client.get(ME, headers={"Authorization": header})
    assert response.status_code == 401
    error_of(response)


def test_login_refresh_and_register_ignore_a_stale_token(
    app: Flask, client: FlaskClient, make: Make
) -> None:
    user = make.user()
    stale = bearer(_bad_tokens(app, user)["expired"])
    response = client.post(
        TOKENS, json={"email": user.email, "password": DEFAULT_PASSWORD}, headers=stale
    )
    assert response.status_code == 200
    refresh = client.post(
        REFRESH, json={"refresh_token": response.get_json()["refresh_token"]}, headers=stale
    )
    assert refresh.status_code == 200
    register = client.post(
        "/api/v1/users",
        json={"username": "fresh", "email": "fresh@example.com", "password": "long-enough-pw"},
        headers=stale,
    )
    assert register.status_code == 201


def test_missing_token_is_401(client: FlaskClient) -> None:
    response = client.get(ME)
    assert response.status_code == 401
    assert error_of(response)["message"] == "Authentication is required."


def test_browser_session_cookie_is_not_accepted(
    app: Flask, client: FlaskClient, make: Make
) -> None:
    # A logged-in browser must not be able to call the API (CSRF): only bearer tokens count.
    user = make.user()
    with app.app_context():
        secret, _ = sessions.start_session(
            db.session.get_one(User, user.id), SessionKind.WEB, timedelta(days=1)
        )
        db.session.commit()
    with client.session_transaction() as session:
        session["_user_id"] = secret
        session["_fresh"] = True
    # The positive control: this cookie is a live login on the site.
    assert client.get("/auth/profile").status_code == 200
    response = client.post("/api/v1/posts", json={"title": "Cookie", "body": "Riding along"})
    assert response.status_code == 401
    assert client.get(ME).status_code == 401
    with app.app_context():
        assert db.session.scalar(select(func.count(Post.id))) == 0


def test_api_posts_need_no_csrf_token(
    app: Flask,
    client: FlaskClient,
    auth_headers: AuthHeaders,
    login: Callable[[FlaskClient, Any], None],
    make: Make,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", True)  # as in production
    # The control: on this app a site form without its token is refused...
    browser = app.test_client()
    login(browser, make.user())
    form = {"title": "Form", "body": "B", "published": "y"}
    assert browser.post("/blog/create", data=form).status_code == 400
    # ...while a bearer-token request needs none.
    response = client.post(
        "/api/v1/posts", json={"title": "T", "body": "B"}, headers=auth_headers()
    )
    assert response.status_code == 201
    with app.app_context():
        assert db.session.scalars(select(Post.title)).all() == ["T"]
