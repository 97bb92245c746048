"""Rules that hold for every operation of a kind (test_openapi keeps the lists true)."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.api.v1 import NEEDS_TOKEN, WITH_BODY
from tests.api.v1.conftest import AuthHeaders, error_of
from tests.conftest import Make


@pytest.fixture
def real_path(app: Flask, make: Make) -> Any:
    """Fill a path template with rows that exist, so a 404 cannot hide the rule under test."""
    with app.app_context():
        user = make.user(username="someone")
        post = make.post(author=user)
        comment = make.comment(post=post, author=user)
    values = {"slug": post.slug, "comment_id": comment.id, "username": "someone"}
    return lambda template: template.format(**values)


@pytest.mark.parametrize(("method", "path"), NEEDS_TOKEN)
def test_operations_that_need_a_token_answer_401_without_one(
    client: FlaskClient, real_path: Any, method: str, path: str
) -> None:
    # Even with a body that is not valid: strangers learn nothing about validation.
    response = client.open(real_path(path), method=method, json={"nonsense": True})
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    error_of(response)


@pytest.mark.parametrize(("method", "path"), WITH_BODY)
def test_operations_with_a_body_refuse_other_media_types_and_bad_json(
    client: FlaskClient,
    real_path: Any,
    auth_headers: AuthHeaders,
    method: str,
    path: str,
) -> None:
    headers = auth_headers(role_name="admin")
    url = real_path(path)
    form = client.open(url, method=method, data={"body": "x"}, headers=headers)
    assert form.status_code == 415
    error_of(form)
    broken = client.open(
        url, method=method, data="{not json", content_type="application/json", headers=headers
    )
    assert broken.status_code == 400
    error_of(broken)
    unknown = client.open(url, method=method, json={"no_such_field": 1}, headers=headers)
    assert unknown.status_code == 422
    assert error_of(unknown)["details"]["no_such_field"] == ["Unknown field."]
