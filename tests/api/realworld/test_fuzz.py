"""Property-based fuzzing of every operation in the Conduit spec: no input is a 500.

``conduit-openapi.yml`` is a copy of the RealWorld project's OpenAPI document (MIT licence),
kept with the tests so they never depend on files outside the repository.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import schemathesis
import yaml
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error

from penpress.accounts import services as accounts
from penpress.accounts import tokens
from penpress.extensions import db

SPEC = yaml.safe_load((Path(__file__).parent / "conduit-openapi.yml").read_text())
SPEC["servers"] = [{"url": "/realworld/api"}]
schema = schemathesis.openapi.from_dict(SPEC)


@pytest.fixture
def fuzzer(api):
    api.user("fuzzer")
    return "fuzzer"


@pytest.mark.slow
@schema.parametrize()
@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_no_input_is_a_server_error(case, app, fuzzer):
    # A fresh token each time: a generated password change ends the earlier ones.
    with app.app_context():
        token = tokens.issue_realworld_token(accounts.get_user(None, fuzzer))
        db.session.commit()
    response = case.call(app=app, headers={"Authorization": f"Token {token}"})
    case.validate_response(response, checks=[not_a_server_error])
