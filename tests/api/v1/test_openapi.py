"""The OpenAPI document and the interactive docs page."""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask.testing import FlaskClient

from penpress import CONTENT_SECURITY_POLICY
from tests.api.v1 import NEEDS_TOKEN, OPERATIONS, UNCONSTRAINED, WITH_BODY, WITH_MULTIPART_BODY

METHODS = ("get", "post", "put", "patch", "delete")
BEARER = {"bearerAuth": []}


@pytest.fixture
def spec(client: FlaskClient) -> dict[str, Any]:
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    return response.get_json()  # type: ignore[no-any-return]


def operations(spec: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (path, method, op)
        for path, item in spec["paths"].items()
        for method, op in item.items()
        if method in METHODS
    ]


def test_document_covers_every_v1_endpoint_and_nothing_else(spec: dict[str, Any]) -> None:
    assert spec["openapi"].startswith("3.")
    assert spec["info"]["title"] == "Penpress API"
    assert "Authorization: Bearer" in spec["info"]["description"]
    for role in ("reader", "contributor", "author", "moderator", "editor", "admin"):
        assert f"| {role} |" in spec["info"]["description"]  # the roles are documented
    found = {(m.upper(), p) for p, m, _ in operations(spec)}
    assert found == set(OPERATIONS)
    needs_token = {(m.upper(), p) for p, m, op in operations(spec) if op["security"] == [BEARER]}
    assert needs_token == set(NEEDS_TOKEN)
    with_body = {(m.upper(), p) for p, m, op in operations(spec) if "requestBody" in op}
    assert with_body == set(WITH_BODY) | set(WITH_MULTIPART_BODY)
    for method, path in WITH_MULTIPART_BODY:
        body = spec["paths"][path][method.lower()]["requestBody"]
        assert set(body["content"]) == {"multipart/form-data"}
    ids = [op["operationId"] for _, _, op in operations(spec)]
    assert len(ids) == len(set(ids))


def _resolve(spec: dict[str, Any], item: dict[str, Any]) -> dict[str, Any]:
    """``item``, or what its ``$ref`` names in the document."""
    ref = item.get("$ref")
    if ref is None:
        return item
    found: Any = spec
    for part in ref.removeprefix("#/").split("/"):
        found = found[part]
    return found  # type: ignore[no-any-return]


def has_constrained_input(spec: dict[str, Any], path: str, op: dict[str, Any]) -> bool:
    """Whether some request to the operation is invalid by the document: it reads a body,
    needs a token, or has a parameter that is more than any string. (``security: []`` is an
    operation open to all: no token to get wrong.)"""
    needs_token = bool(op["security"]) and {} not in op["security"]
    if "requestBody" in op or needs_token:
        return True
    parameters = [*spec["paths"][path].get("parameters", []), *op.get("parameters", [])]
    for parameter in (_resolve(spec, item) for item in parameters):
        schema = dict(parameter["schema"])
        if parameter["in"] == "path" and schema.get("minLength") == 1:
            del schema["minLength"]  # an empty segment is another URL, not invalid input
        if schema != {"type": "string"}:
            return True
    return False


def test_only_the_listed_operations_have_unconstrained_input(spec: dict[str, Any]) -> None:
    """The negative fuzzing run leaves these out (tests/api/v1/test_schemathesis.py)."""
    unconstrained = {
        (m.upper(), p) for p, m, op in operations(spec) if not has_constrained_input(spec, p, op)
    }
    assert unconstrained == set(UNCONSTRAINED)


def test_bearer_security_scheme(spec: dict[str, Any]) -> None:
    scheme = spec["components"]["securitySchemes"]["bearerAuth"]
    assert scheme == {**scheme, "type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
    get_me = spec["paths"]["/api/v1/me"]["get"]
    assert get_me["security"] == [{"bearerAuth": []}]
    assert {} in spec["paths"]["/api/v1/posts"]["get"]["security"]
    assert spec["paths"]["/api/v1/auth/tokens"]["post"]["security"] == []


def test_every_operation_documents_its_errors_with_the_error_schema(
    spec: dict[str, Any],
) -> None:
    responses = spec["components"]["responses"]
    for path, method, op in operations(spec):
        codes = set(op["responses"])
        assert "429" in codes, (method, path)
        assert "default" not in codes
        if op["security"]:
            assert "401" in codes, (method, path)
        if "requestBody" in op:
            assert {"400", "413", "415", "422"} <= codes, (method, path)
        if "{" in path:
            assert "404" in codes, (method, path)
        if method == "get":
            assert "304" in codes, (method, path)
        for code, response in op["responses"].items():
            if code.startswith(("4", "5")):
                name = response["$ref"].rsplit("/", 1)[-1]
                schema = responses[name]["content"]["application/json"]["schema"]
                assert schema == {"$ref": "#/components/schemas/Error"}
    error = spec["components"]["schemas"]["Error"]
    assert error["required"] == ["error"]
    body = spec["components"]["schemas"]["ErrorBody"]
    assert set(body["properties"]) == {"code", "message", "details"}


def test_input_schemas_forbid_unknown_fields(spec: dict[str, Any]) -> None:
    schemas = spec["components"]["schemas"]
    for name in ("PostCreate", "PostPatch", "Register", "TokenRequest", "CommentCreate"):
        assert schemas[name]["additionalProperties"] is False, name


def test_post_schema_has_the_promised_fields(spec: dict[str, Any]) -> None:
    post = spec["components"]["schemas"]["Post"]
    tags = post["properties"]["tags"]
    assert (tags["type"], tags["items"]) == ("array", {"type": "string"})
    assert post["properties"]["published_at"]["nullable"] is True
    assert post["properties"]["created_at"]["format"] == "date-time"
    assert set(post["required"]) >= {"slug", "title", "body_html", "author", "comment_count"}


def test_docs_page_is_self_hosted_and_has_no_inline_script(client: FlaskClient) -> None:
    response = client.get("/api/v1/docs")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert 'data-spec-url="/api/v1/openapi.json"' in html
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", html, flags=re.S)
    assert len(scripts) == 3
    for attributes, content in scripts:
        assert content.strip() == ""
        src = re.search(r'src="([^"]+)"', attributes)
        assert src is not None
        assert src.group(1).startswith("/")  # served here, no CDN
        assert fetch(client, src.group(1)) == 200
    for href in re.findall(r'<link[^>]+href="([^"]+)"', html):
        assert href.startswith("/")
        assert fetch(client, href) == 200
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp
    assert "style-src 'self'" in csp
    assert "unsafe-inline" not in csp
    assert CONTENT_SECURITY_POLICY["script-src"] == "'self'"


def test_docs_assets_are_limited_to_swagger_ui_files(client: FlaskClient) -> None:
    assert fetch(client, "/api/v1/docs/assets/swagger-ui-bundle.js") == 200
    assert fetch(client, "/api/v1/docs/assets/index.html") == 404
    assert fetch(client, "/api/v1/docs/assets/..%2F..%2F__init__.py") == 404


def fetch(client: FlaskClient, url: str) -> int:
    """GET ``url`` and close the (file-backed) response; its status."""
    with client.get(url) as response:
        return response.status_code


def test_the_email_change_and_its_proof_are_documented(spec: dict[str, Any]) -> None:
    schemas = spec["components"]["schemas"]
    patch = schemas["ProfilePatch"]["properties"]
    assert "current_password" in patch
    assert "current_password" in patch["email"]["description"]
    assert "link" in patch["email"]["description"]
    me = schemas["Me"]["properties"]
    assert me["pending_email"]["nullable"] is True
    assert "current_password" not in me  # load-only: never sent back
