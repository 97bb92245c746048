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

from penpress.accounts.models import User
from penpress.blog.markdown import render_markdown
from penpress.blog.models import Post, Tag
from penpress.database import utcnow
from penpress.extensions import db
from tests import factories
from tests.api.v1 import OPERATIONS, UNCONSTRAINED
from tests.api.v1.conftest import issue_pair
from tests.conftest import reset_rows

# Per operation and mode; raise it for a deeper run: PENPRESS_FUZZ_EXAMPLES=500 pytest -m slow
MAX_EXAMPLES = int(os.environ.get("PENPRESS_FUZZ_EXAMPLES", "25"))
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


FUZZ_BODY = "Some *Markdown* text."
FUZZ_BODY_HTML = render_markdown(FUZZ_BODY)


def seed_admin_and_post() -> User:
    """An admin and one of their posts, tagged: something to find, so that reads return data
    and writes have a target (added without committing: ``reset_rows`` commits once)."""
    admin = User(
        username="fuzz-admin",
        email="fuzz-admin@example.com",
        password_hash=factories.DEFAULT_HASH,
        role=factories.role("admin"),
    )
    post = Post(
        title="Fuzz", slug="fuzz", summary="", body=FUZZ_BODY, body_html=FUZZ_BODY_HTML,
        published=True, published_at=utcnow(), views=0, author=admin,
        tags=[Tag(name="fuzz", slug="fuzz")],
    )  # fmt: skip
    db.session.add(post)
    db.session.flush()
    return admin


# Every operation with valid input, and every one whose input can be invalid (UNCONSTRAINED:
# the others, checked against the document by test_openapi) with invalid input.
RUNS = [(GenerationMode.POSITIVE, method, path) for method, path in OPERATIONS] + [
    (GenerationMode.NEGATIVE, method, path)
    for method, path in OPERATIONS
    if (method, path) not in UNCONSTRAINED
]


@pytest.mark.slow
@pytest.mark.parametrize(("mode", "method", "path"), RUNS)
def test_api_matches_its_openapi_document(
    app: Flask, method: str, path: str, mode: GenerationMode
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
        # Every example starts from the same rows: one that deletes the post or changes the
        # admin's password leaves nothing behind for the next.
        admin = reset_rows(app, seed_admin_and_post)
        # The WSGI transport hands over raw bytes; ask for them uncompressed.
        headers = {"Accept-Encoding": "identity"}
        if not anonymous:
            headers["Authorization"] = f"Bearer {issue_pair(app, admin).access_token}"
        case.call_and_validate(headers=headers, checks=CHECKS)

    try:
        check()
    except Unsatisfiable:
        pytest.fail(
            f"no invalid request to {method} {path} can be made: its input lost its "
            "constraints (if that is right, add it to UNCONSTRAINED in tests/api/v1/__init__.py)"
        )
