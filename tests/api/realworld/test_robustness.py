"""Bad input of every kind is a 4xx in Conduit's shape, never a 500."""

from __future__ import annotations

import pytest

from tests.api.realworld.shapes import check_errors

ODD_VALUES = [
    None,
    0,
    -1,
    1.5,
    True,
    [],
    ["x"],
    {},
    {"a": 1},
    "",
    " ",
    "x" * 20_000,
    "a\x00b",
    "💥",
]

WRITES = [
    ("POST", "/users/login", "user", ["email", "password"]),
    ("POST", "/users", "user", ["username", "email", "password"]),
    ("PUT", "/user", "user", ["email", "username", "password", "bio", "image"]),
    ("POST", "/articles", "article", ["title", "description", "body", "tagList"]),
    ("PUT", "/articles/{slug}", "article", ["title", "description", "body", "tagList"]),
    ("POST", "/articles/{slug}/comments", "comment", ["body"]),
]


@pytest.fixture
def slug(api, jake):
    return api.create_article(jake["token"], title="Target")["slug"]


@pytest.mark.parametrize(("method", "path", "wrapper", "fields"), WRITES)
def test_odd_field_values_never_crash(api, jake, slug, method, path, wrapper, fields):
    valid = {
        "email": "someone@example.com",
        "username": "someone",
        "password": "long-enough-password",
        "bio": "bio",
        "image": "https://x.io/a.png",
        "title": "A title",
        "description": "A description",
        "body": "A body",
        "tagList": ["one"],
    }
    token = jake["token"]
    accepted = 0
    for field in fields:
        for value in ODD_VALUES:
            payload = {name: valid[name] for name in fields} | {field: value}
            response = api.request(method, path.format(slug=slug), token, json={wrapper: payload})
            assert response.status_code < 500, (field, value, response.get_json())
            if response.status_code >= 400:
                errors = check_errors(response, response.status_code)
                assert response.status_code in (401, 403, 422), (field, value, errors)
                continue
            accepted += 1
            # Keep aiming at live things: a new title moves the slug, a new password the token.
            body = response.get_json()
            slug = body.get("article", {}).get("slug", slug)
            token = body.get("user", {}).get("token", token) if method == "PUT" else token
    # Every field was really tried against a live target, not a dead token or a moved slug.
    assert api.get("/user", token).status_code == 200
    assert accepted < len(fields) * len(ODD_VALUES)


@pytest.mark.parametrize(("method", "path", "wrapper", "fields"), WRITES)
@pytest.mark.parametrize(
    "raw",
    ["null", "[]", '"text"', "1", "true", '{"x": 1}', "{", "\x00", "[" * 3000, '{"a":' * 3000],
)
def test_odd_bodies_never_crash(api, jake, slug, method, path, wrapper, fields, raw):
    response = api.request(
        method, path.format(slug=slug), jake["token"], data=raw, content_type="application/json"
    )
    assert response.status_code in (400, 422), (raw[:20], response.get_json())
    check_errors(response, response.status_code)


def test_nul_characters_are_refused_not_stored(api, jake):
    article = {"title": "a\x00b", "description": "d", "body": "b", "tagList": ["t\x00"]}
    errors = check_errors(api.post("/articles", jake["token"], json={"article": article}), 422)
    assert set(errors) == {"title", "tagList"}
    assert errors["title"] == ["must not contain NUL characters"]
    check_errors(api.get("/articles?tag=a%00b"), 422, "tag")
    check_errors(api.get("/articles?author=%00"), 422, "author")
    check_errors(api.get("/articles/a%00b"), 404)
    check_errors(api.get("/profiles/a%00b"), 404)
    check_errors(api.post("/profiles/a%00b/follow", jake["token"]), 404)


@pytest.mark.parametrize(
    "query", ["offset=99999999999999999999", "offset=2147483648", "limit=99999999999999999999"]
)
def test_huge_numbers_in_the_query_are_422(api, query):
    check_errors(api.get(f"/articles?{query}"), 422, query.split("=")[0])


def test_the_largest_offset_is_fine(api):
    assert api.get("/articles?offset=2147483647").get_json() == {
        "articles": [],
        "articlesCount": 0,
    }
