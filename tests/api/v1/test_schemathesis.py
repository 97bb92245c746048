"""Fuzz /api/v1 from its own OpenAPI document through the WSGI app (schemathesis).

Every operation gets a bounded number of generated requests, valid and invalid, sent either
anonymously or with a real access token of a seeded admin (a fresh one per request, so a logout
or a password change in one example does not starve the next). Each response must not be a
5xx, must use a status the operation documents, and must have the documented content type and
schema.

(schemathesis' own pytest loader does not work with the pytest in use, so each operation is a
parametrized test that runs a Hypothesis strategy built from the served document.)
"""

from __future__ import annotations

import os
from typing import Any

import pytest
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.api.v1 import OPERATIONS
from tests.api.v1.conftest import issue_pair
from tests.conftest import Make

# Per operation and mode; raise it for a deeper run: PENPRESS_FUZZ_EXAMPLES=500 pytest -m slow
MAX_EXAMPLES = int(os.environ.get("PENPRESS_FUZZ_EXAMPLES", "25"))
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@pytest.fixture
def fuzz_admin(make: Make) -> Any:
    admin = make.user(role_name="admin", username="fuzz-admin")
    # Something to find, so that reads return data and writes have a target.
    make.post(author=admin, tags=["fuzz"])
    return admin


@pytest.mark.slow
@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
@pytest.mark.parametrize(("method", "path"), OPERATIONS)
def test_api_matches_its_openapi_document(
    app: Flask, fuzz_admin: Any, method: str, path: str, mode: GenerationMode
) -> None:
    operation = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)[path][method]

    @given(case=operation.as_strategy(generation_mode=mode), anonymous=st.booleans())
    @settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def check(case: Any, anonymous: bool) -> None:
        # The WSGI transport hands over raw bytes; ask for them uncompressed.
        headers = {"Accept-Encoding": "identity"}
        if not anonymous:
            headers["Authorization"] = f"Bearer {issue_pair(app, fuzz_admin).access_token}"
        case.call_and_validate(headers=headers, checks=CHECKS)

    try:
        check()
    except Unsatisfiable:
        # Only header values and free-form strings: no request to this operation is invalid.
        assert mode is GenerationMode.NEGATIVE
        pytest.skip("nothing in this operation's input can be made invalid")
