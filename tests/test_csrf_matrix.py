"""CSRF on every state-changing route of the website, generated from the URL map.

Each route of ``app.url_map`` that is not GET (outside the JSON APIs and the operations routes)
must be in ``tests.site_world.SITE_CASES``; each is sent with real rows, first without a token
and with another session's token (400, every table unchanged), then with the token as the
positive control (its success status, some table changed), so the refusal is not an accident
of a request that would have failed anyway.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from penpress.accounts.models import User
from penpress.extensions import csrf, db
from tests.pages import csrf_token
from tests.site_world import (
    CSRF_EXEMPT,
    SITE_CASES,
    UNFILLABLE,
    World,
    build_world,
    changed_tables,
    prepare,
    send,
    site_rules,
    snapshot,
)

# Routes, roles and markup: the same on either database, so once (on the SQLite pass).
pytestmark = pytest.mark.any_database

MALFORMED = "The request was malformed."


@pytest.fixture
def csrf_on(app: Flask, monkeypatch: pytest.MonkeyPatch) -> Flask:
    """The session app with CSRF checks on, as in production (the testing config turns them
    off so other tests need not carry tokens)."""
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", True)
    return app


def user_named(app: Flask, username: str) -> User:
    with app.app_context():
        user = db.session.scalar(select(User).where(User.username == username))
        assert user is not None, username
        return user


def client_for(
    app: Flask, world: World, actor: str | None, login: Callable[[FlaskClient, Any], None]
) -> tuple[FlaskClient, str]:
    """A browser for ``actor`` (None: a visitor) and the CSRF token its pages hand it."""
    client = app.test_client()
    if actor is None:
        return client, csrf_token(client, "/auth/login")
    login(client, user_named(app, getattr(world, actor)))
    return client, csrf_token(client, "/")


def exempt_site_routes(app: Flask) -> set[tuple[str, str]]:
    """The site routes Flask-WTF's CSRFProtect skips (``csrf.exempt`` on a view or blueprint)."""
    exempt = set()
    for endpoint, method, _ in site_rules(app):
        view = app.view_functions[endpoint]
        name = f"{view.__module__}.{view.__name__}"
        blueprint = endpoint.rpartition(".")[0]
        if name in csrf._exempt_views or blueprint in csrf._exempt_blueprints:
            exempt.add((endpoint, method))
    return exempt


def test_every_site_route_is_in_the_matrix(csrf_on: Flask) -> None:
    """A new state-changing route fails here until it is in SITE_CASES (or UNFILLABLE with a
    reason); an entry for a route that is gone fails too; so does a CSRF exemption that is
    not listed in CSRF_EXEMPT with its reason."""
    found = {(endpoint, method) for endpoint, method, _ in site_rules(csrf_on)}
    assert found - SITE_CASES.keys() - UNFILLABLE.keys() == set()
    assert (SITE_CASES.keys() | UNFILLABLE.keys()) - found == set()
    assert all(reason.strip() for reason in [*UNFILLABLE.values(), *CSRF_EXEMPT.values()])
    assert exempt_site_routes(csrf_on) == set(CSRF_EXEMPT)
    # The ones that cannot be filled in still refuse a request without a token.
    client = csrf_on.test_client()
    for endpoint, method, rule in site_rules(csrf_on):
        if (endpoint, method) in UNFILLABLE:
            url = rule.build(dict.fromkeys(rule.arguments, "1"), append_unknown=False)
            assert url is not None
            response = client.open(url[1], method=method)
            assert response.status_code == 400, (endpoint, method)


PROTECTED = sorted(SITE_CASES.keys() - CSRF_EXEMPT.keys())


@pytest.mark.parametrize(("endpoint", "method"), PROTECTED)
def test_a_request_without_the_csrf_token_changes_nothing(
    csrf_on: Flask, login: Callable[[FlaskClient, Any], None], endpoint: str, method: str
) -> None:
    app = csrf_on
    case = SITE_CASES[(endpoint, method)]
    world = build_world(app)
    prepare(app, case, world)
    client, token = client_for(app, world, case.actor, login)
    _, stolen = client_for(app, world, case.actor, login)  # another browser's own token
    before = snapshot(app)

    for forged in (None, stolen, "x" * 40):
        response = send(client, case, world, method, forged)
        assert response.status_code == 400, (forged, response.get_data(as_text=True)[:500])
        if case.speaks_json:
            assert response.get_json() == {"error": {"code": 400, "message": MALFORMED}}
        else:
            assert response.mimetype == "text/html"
            assert MALFORMED in response.get_data(as_text=True)
        assert changed_tables(before, snapshot(app)) == []

    # The positive control: the same request with this browser's token does its work.
    response = send(client, case, world, method, token)
    assert response.status_code == case.ok, response.get_data(as_text=True)[:2000]
    assert (changed_tables(before, snapshot(app)) != []) is case.changes


@pytest.mark.parametrize(("endpoint", "method"), sorted(CSRF_EXEMPT))
def test_an_exempt_route_works_without_a_token(
    csrf_on: Flask, login: Callable[[FlaskClient, Any], None], endpoint: str, method: str
) -> None:
    """The listed exemptions are real: these requests do their work with no token at all."""
    case = SITE_CASES[(endpoint, method)]
    world = build_world(csrf_on)
    prepare(csrf_on, case, world)
    client, _ = client_for(csrf_on, world, case.actor, login)
    before = snapshot(csrf_on)
    response = send(client, case, world, method)
    assert response.status_code == case.ok, response.get_data(as_text=True)[:2000]
    assert changed_tables(before, snapshot(csrf_on)) != []
