"""A forged ``Host`` or ``X-Forwarded-Host`` cannot change the links we email (production).

The app runs the production config behind one proxy (``PROXY_FIX_X_*=1``, as
``deploy/compose.yaml`` sets it), so it believes ``X-Forwarded-Host``. A host it does not
answer to (``TRUSTED_HOSTS``, from ``SITE_URL``) is refused with a 400 before anything is
sent; a host it does answer to (the loopback names kept for health checks) still gets links
under ``SITE_URL`` only. nginx drops unknown hosts before they reach the app
(``tests/prod/test_deploy.py``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from penpress.accounts import tokens
from penpress.accounts.models import User
from penpress.extensions import db
from tests.factories import DEFAULT_PASSWORD, UserFactory
from tests.mailbox import links_in
from tests.pages import csrf_token

SITE = "https://blog.example.com"
FORGERIES = [
    pytest.param({"Host": "evil.example"}, id="host"),
    pytest.param({"X-Forwarded-Host": "evil.example"}, id="x-forwarded-host"),
]
# Names the app answers to (health checks reach it on loopback): still no say over links.
TRUSTED_BUT_NOT_THE_SITE = [
    pytest.param({"X-Forwarded-Host": "localhost:8443"}, id="x-forwarded-host"),
    pytest.param({"Host": "127.0.0.1:8000"}, id="host"),
]


@pytest.fixture
def production(build_app: Callable[..., Flask]) -> Flask:
    app = build_app(
        ENV_NAME="production",
        TESTING=False,
        SECRET_KEY="production-secret-" + "x" * 40,
        SITE_URL=SITE,
        PROXY_FIX_X_FOR=1,
        PROXY_FIX_X_PROTO=1,
        PROXY_FIX_X_HOST=1,
        MAIL_BACKEND="locmem",
        # Emails go out within the request, for the outbox below, even with a broker configured
        # (the PostgreSQL + Redis pass sets REDIS_URL).
        CELERY_ALWAYS_EAGER=True,
        JOBS_AFTER_RESPONSE=False,
    )
    assert app.config["WTF_CSRF_ENABLED"] is not False
    app.extensions["mailman"].outbox = []
    return app


def outbox(app: Flask) -> list[Any]:
    sent: list[Any] = app.extensions["mailman"].outbox
    return sent


def account(app: Flask) -> User:
    with app.app_context():
        user = UserFactory(email="reader@example.com")
        db.session.commit()
        return user


def ask_for_a_reset(app: Flask, forged: dict[str, str]) -> Any:
    """The site's reset form for someone else's address, sent as an attacker would: a CSRF
    token of their own session, and a Referer that matches the host they forge."""
    client: FlaskClient = app.test_client()
    headers = {name: value for name, value in forged.items() if name != "Host"}
    base = f"https://{forged['Host']}" if "Host" in forged else SITE
    if client.get(f"{base}/auth/reset", headers=headers).status_code != 200:
        base, headers = SITE, forged  # no form for that host: post with one from the real one
    token = csrf_token(client, f"{base}/auth/reset")
    host = forged.get("X-Forwarded-Host") or forged["Host"]
    return client.post(
        f"{base}/auth/reset",
        data={"email": "reader@example.com", "csrf_token": token},
        headers={"Referer": f"https://{host}/auth/reset", **headers},
    )


def register(client: FlaskClient, forged: dict[str, str]) -> Any:
    """Sign up through ``/api/v1`` (a confirmation email follows)."""
    account = {"username": "newbie", "email": "newbie@example.com", "password": DEFAULT_PASSWORD}
    return client.post(f"{SITE}/api/v1/users", json=account, headers=forged)


def bearer(app: Flask, user: User) -> dict[str, str]:
    with app.app_context():
        pair = tokens.issue_token_pair(db.session.get_one(User, user.id))
        db.session.commit()
    return {"Authorization": f"Bearer {pair.access_token}"}


def assert_links_are_the_sites(app: Flask) -> None:
    links = [link for message in outbox(app) for link in links_in(message)]
    assert links
    assert all(link.startswith(f"{SITE}/") for link in links), links


@pytest.mark.parametrize("forged", FORGERIES)
def test_an_unknown_host_is_refused_before_any_email(production: Flask, forged: Any) -> None:
    account(production)
    response = ask_for_a_reset(production, forged)
    assert response.status_code == 400
    assert register(production.test_client(), forged).status_code == 400
    assert outbox(production) == []


@pytest.mark.parametrize("forged", TRUSTED_BUT_NOT_THE_SITE)
def test_the_reset_email_links_to_the_site_url(production: Flask, forged: Any) -> None:
    account(production)
    response = ask_for_a_reset(production, forged)
    assert response.status_code == 302
    (message,) = outbox(production)
    assert message.to == ["reader@example.com"]
    assert any("/auth/reset/" in link for link in links_in(message))
    assert_links_are_the_sites(production)


@pytest.mark.parametrize("forged", TRUSTED_BUT_NOT_THE_SITE)
def test_api_emails_and_headers_link_to_the_site_url(production: Flask, forged: Any) -> None:
    client = production.test_client()
    registered = register(client, forged)
    assert registered.status_code == 201
    assert registered.headers["Location"] == f"{SITE}/api/v1/users/newbie"
    user = account(production)
    moved = client.patch(
        f"{SITE}/api/v1/me",
        json={"email": "moved@example.com", "current_password": DEFAULT_PASSWORD},
        headers={**bearer(production, user), **forged},
    )
    assert moved.status_code == 200
    # The confirmation (registration), the change link and the notice to the old address.
    assert sorted(m.to[0] for m in outbox(production)) == [
        "moved@example.com",
        "newbie@example.com",
        "reader@example.com",
    ]
    assert_links_are_the_sites(production)
