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

from penpress.accounts import tokens
from penpress.accounts.models import User
from penpress.extensions import db
from tests.conftest import reset_rows
from tests.factories import DEFAULT_HASH, role

SPEC = yaml.safe_load((Path(__file__).parent / "conduit-openapi.yml").read_text())
SPEC["servers"] = [{"url": "/realworld/api"}]
schema = schemathesis.openapi.from_dict(SPEC)


def seed_fuzzer() -> int:
    """The account the generated requests act as (added without committing)."""
    user = User(
        username="fuzzer",
        email="fuzzer@example.com",
        password_hash=DEFAULT_HASH,
        role=role("author"),  # Conduit writers publish: a community of authors
    )
    db.session.add(user)
    db.session.flush()
    return user.id


@pytest.mark.slow
@schema.parametrize()
@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_no_input_is_a_server_error(case, app):
    # Every example starts from the same rows: a generated rename of the user, a new password
    # or an article in one example never decides what another one finds.
    fuzzer = reset_rows(app, seed_fuzzer)
    with app.app_context():
        token = tokens.issue_realworld_token(db.session.get_one(User, fuzzer))
        db.session.commit()
    response = case.call(app=app, headers={"Authorization": f"Token {token}"})
    case.validate_response(response, checks=[not_a_server_error])
