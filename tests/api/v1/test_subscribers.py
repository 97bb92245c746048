"""POST /api/v1/subscribers: anonymous, always 202 with the same body, documented."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from penpress.newsletter.models import CONFIRMED, PENDING, UNSUBSCRIBED
from tests.api.v1.conftest import AuthHeaders, error_of
from tests.newsletter.conftest import add_subscriber, link_to, subscriber_of, to

SUBSCRIBERS = "/api/v1/subscribers"


def test_the_answer_is_202_with_the_same_body_for_every_address(
    app: Flask, client: FlaskClient, outbox: list[Any], auth_headers: AuthHeaders
) -> None:
    add_subscriber(app, "known@example.com", CONFIRMED)
    add_subscriber(app, "left@example.com", UNSUBSCRIBED)
    answers = []
    for address in ("fresh@example.com", "known@example.com", "left@example.com"):
        response = client.post(SUBSCRIBERS, json={"email": address})
        assert response.status_code == 202
        assert "no-store" in response.headers["Cache-Control"]
        answers.append(response.get_json())
    # A token changes nothing (and shows nothing more).
    with_token = client.post(
        SUBSCRIBERS, json={"email": "Fresh@Example.com"}, headers=auth_headers(role_name="admin")
    )
    answers.append(with_token.get_json())
    assert all(answer == answers[0] for answer in answers)
    assert set(answers[0]) == {"status", "message"}
    assert "@" not in str(answers[0])  # no address in any answer
    assert sorted(m.to[0] for m in outbox) == [
        "fresh@example.com",
        "fresh@example.com",
        "left@example.com",
    ]
    found = subscriber_of(app, "fresh@example.com")
    assert (found.status, found.source) == (PENDING, "api")
    # The emailed link confirms, as for the site's form.
    link = link_to(to(outbox, "fresh@example.com")[0], "/newsletter/confirm/")
    assert client.post(link).status_code == 200
    assert subscriber_of(app, "fresh@example.com").status == CONFIRMED


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "email"),
        ({"email": "nope"}, "email"),
        ({"email": 42}, "email"),
        ({"email": "a@example.com", "name": "Ann"}, "name"),
    ],
)
def test_bad_bodies_are_422_by_field(client: FlaskClient, body: dict[str, Any], field: str) -> None:
    response = client.post(SUBSCRIBERS, json=body)
    assert response.status_code == 422
    assert field in error_of(response)["details"]


def test_only_json_is_accepted(client: FlaskClient) -> None:
    assert client.post(SUBSCRIBERS, data={"email": "a@example.com"}).status_code == 415


def test_it_is_rate_limited_per_client(build_app: Any) -> None:
    limited: Flask = build_app(RATELIMIT_ENABLED=True, RATELIMIT_SUBSCRIBE="2 per hour")
    client = limited.test_client()
    statuses = [
        client.post(SUBSCRIBERS, json={"email": f"n{n}@example.com"}).status_code for n in range(3)
    ]
    assert statuses == [202, 202, 429]
    limited_response = client.post(SUBSCRIBERS, json={"email": "n9@example.com"})
    assert error_of(limited_response)["code"] == 429
    assert "Retry-After" in limited_response.headers


def test_the_openapi_document_describes_it(client: FlaskClient) -> None:
    spec = client.get("/api/v1/openapi.json").get_json()
    operation = spec["paths"]["/api/v1/subscribers"]["post"]
    assert operation["security"] == []
    assert "202" in operation["responses"]
    assert {"400", "413", "415", "422", "429"} <= set(operation["responses"])
    body = operation["requestBody"]["content"]["application/json"]["schema"]
    assert body["$ref"].endswith("/Subscribe")
    assert spec["components"]["schemas"]["Subscribe"]["required"] == ["email"]
