"""One budget of wrong passwords per account, shared by every place that checks a password.

Per-address limits (``RATELIMIT_AUTH``) slow one client down; an attacker with many addresses
is stopped only by counting per account (``RATELIMIT_LOGIN_FAILURES``). The budget is shared
by the site's login, ``POST /api/v1/auth/tokens``, Conduit's login and the checks of the
current password (password and email changes). Once it is spent, even the right password is
refused until the window ends or the password is reset through an emailed link, and an
unknown address gets the very same answer.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from itertools import count
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from penpress.accounts import email_tokens, services, tokens
from penpress.accounts.models import User
from penpress.errors import RateLimited, Unauthorized
from penpress.extensions import db
from tests.factories import DEFAULT_PASSWORD, UserFactory
from tests.pages import login

FAILURES = 4
EMAIL = "victim@example.com"
WRONG = "wrong-password"
_addresses: Iterator[int] = count(1)


@pytest.fixture
def guarded(build_app: Callable[..., Flask]) -> Flask:
    """Limits on; each request may come from an address of its own (one trusted proxy)."""
    return build_app(
        RATELIMIT_ENABLED=True,
        RATELIMIT_AUTH="2 per minute",  # per address: each guess below comes from a new one
        RATELIMIT_LOGIN_FAILURES=f"{FAILURES} per 15 minutes",
        PROXY_FIX_X_FOR=1,
    )


def from_anywhere() -> dict[str, str]:
    """A new client address for every request, as a botnet would have."""
    return {"X-Forwarded-For": f"198.51.100.{next(_addresses) % 250 + 1}"}


def site_login(app: Flask, email: str, password: str) -> TestResponse:
    client = app.test_client()
    return client.post(
        "/auth/login", data={"email": email, "password": password}, headers=from_anywhere()
    )


def api_login(app: Flask, email: str, password: str) -> TestResponse:
    return app.test_client().post(
        "/api/v1/auth/tokens",
        json={"email": email, "password": password},
        headers=from_anywhere(),
    )


def conduit_login(app: Flask, email: str, password: str) -> TestResponse:
    return app.test_client().post(
        "/realworld/api/users/login",
        json={"user": {"email": email, "password": password}},
        headers=from_anywhere(),
    )


LOGINS = {"site": site_login, "api": api_login, "conduit": conduit_login}
REFUSED = {"site": 422, "api": 401, "conduit": 401}
LOGGED_IN = {"site": 303, "api": 200, "conduit": 200}


def victim(app: Flask) -> User:
    with app.app_context():
        user = UserFactory(email=EMAIL)
        db.session.commit()
        return user


@pytest.mark.parametrize("door", list(LOGINS))
def test_guesses_through_every_door_spend_one_budget(guarded: Flask, door: str) -> None:
    victim(guarded)
    doors = list(LOGINS.values())
    for n in range(FAILURES):
        guess = doors[n % 3]
        name = list(LOGINS)[n % 3]
        assert guess(guarded, EMAIL, WRONG).status_code == REFUSED[name]
    # The budget is spent: the right password, from a new address, through any door, fails.
    refused = LOGINS[door](guarded, EMAIL, DEFAULT_PASSWORD)
    assert refused.status_code == 429
    assert int(refused.headers["Retry-After"]) > 60  # the window is 15 minutes
    assert "Too many wrong passwords" in refused.get_data(as_text=True)
    # Other accounts are not affected.
    with guarded.app_context():
        other = UserFactory().email
    assert LOGINS[door](guarded, other, DEFAULT_PASSWORD).status_code == LOGGED_IN[door]


def test_correct_logins_do_not_spend_it(guarded: Flask) -> None:
    victim(guarded)
    for _ in range(FAILURES + 2):
        assert api_login(guarded, EMAIL, DEFAULT_PASSWORD).status_code == 200


def test_an_unknown_address_gets_the_same_answer(guarded: Flask) -> None:
    victim(guarded)
    answers = {}
    for email in (EMAIL, "nobody@example.com"):
        statuses = [api_login(guarded, email, WRONG).status_code for _ in range(FAILURES + 1)]
        assert statuses == [401] * FAILURES + [429]
        limited = api_login(guarded, email, DEFAULT_PASSWORD)
        answers[email] = (limited.status_code, limited.get_json())
    assert answers[EMAIL] == answers["nobody@example.com"]


def test_the_address_is_counted_as_logins_look_it_up(guarded: Flask) -> None:
    victim(guarded)
    for spelling in ("VICTIM@example.com", " victim@EXAMPLE.com ", EMAIL, "Victim@Example.Com"):
        api_login(guarded, spelling, WRONG)
    assert api_login(guarded, EMAIL, DEFAULT_PASSWORD).status_code == 429


def test_current_password_checks_share_the_budget(guarded: Flask) -> None:
    """A stolen session or token cannot be used to guess the password either."""
    user = victim(guarded)
    browser = guarded.test_client()
    assert login(browser, EMAIL).status_code == 303
    with guarded.app_context():
        bearer = tokens.issue_token_pair(db.session.get_one(User, user.id)).access_token
        db.session.commit()
    api = {"Authorization": f"Bearer {bearer}"}
    guesses = [
        lambda: browser.post(
            "/auth/profile/password",
            data={"current_password": WRONG, "new_password": "x" * 10,
                  "new_password_confirm": "x" * 10},
        ),
        lambda: browser.post(
            "/auth/profile/email", data={"email": "new@example.com", "current_password": WRONG}
        ),
        lambda: guarded.test_client().put(
            "/api/v1/me/password", json={"current_password": WRONG, "password": "x" * 10},
            headers=api,
        ),
        lambda: guarded.test_client().patch(
            "/api/v1/me", json={"email": "new@example.com", "current_password": WRONG},
            headers=api,
        ),
    ]  # fmt: skip
    assert [guess().status_code for guess in guesses] == [422] * FAILURES
    again = guesses[0]()
    assert again.status_code == 429
    assert "Too many wrong passwords" in again.get_data(as_text=True)
    assert api_login(guarded, EMAIL, DEFAULT_PASSWORD).status_code == 429


def test_the_password_form_stops_after_the_budget(guarded: Flask) -> None:
    """The attack found: 30 wrong current passwords in a row, all accepted for checking."""
    victim(guarded)
    browser = guarded.test_client()
    assert login(browser, EMAIL).status_code == 303
    data = {"current_password": WRONG, "new_password": "x" * 10, "new_password_confirm": "x" * 10}
    statuses = [browser.post("/auth/profile/password", data=data).status_code for _ in range(30)]
    assert statuses == [422] * FAILURES + [429] * (30 - FAILURES)


def test_a_password_reset_gives_the_budget_back(guarded: Flask) -> None:
    user = victim(guarded)
    for _ in range(FAILURES):
        api_login(guarded, EMAIL, WRONG)
    assert api_login(guarded, EMAIL, DEFAULT_PASSWORD).status_code == 429
    with guarded.app_context():
        token = email_tokens.make_reset_token(db.session.get_one(User, user.id))
    new = "a-brand-new-password"
    reset = guarded.test_client().post(
        f"/auth/reset/{token}", data={"password": new, "password_confirm": new}
    )
    assert reset.status_code == 302
    assert api_login(guarded, EMAIL, new).status_code == 200


def test_the_service_refuses_before_checking(guarded: Flask) -> None:
    victim(guarded)
    with guarded.app_context():
        for _ in range(FAILURES):
            with pytest.raises(Unauthorized):
                services.authenticate(EMAIL, WRONG)
        with pytest.raises(RateLimited) as refused:
            services.authenticate(EMAIL, DEFAULT_PASSWORD)
        assert refused.value.message == services.PASSWORD_FAILURES.message


def test_without_rate_limits_nothing_is_counted(app: Flask, client: FlaskClient, make: Any) -> None:
    """The test app runs with RATELIMIT_ENABLED off, like the views' limits."""
    make.user(email=EMAIL)
    for _ in range(FAILURES + 1):
        assert (
            client.post("/api/v1/auth/tokens", json={"email": EMAIL, "password": WRONG}).status_code
            == 401
        )
    assert (
        client.post(
            "/api/v1/auth/tokens", json={"email": EMAIL, "password": DEFAULT_PASSWORD}
        ).status_code
        == 200
    )
