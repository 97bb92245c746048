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


LONG = "x" * 20_000
# The odd values each write accepts; every other one is refused. Empty and null values mean
# "remove" or "unchanged" where Conduit says so; any text goes in a description or a body.
ARTICLE_ACCEPTS = [
    ("title", "💥"), ("description", "💥"), ("body", LONG), ("body", "💥"),
    ("tagList", None), ("tagList", []), ("tagList", ["x"]),
]  # fmt: skip
ACCEPTED = {
    "/user": [
        ("password", ""), ("password", None),  # front ends send these for "unchanged"
        ("bio", None), ("bio", ""), ("bio", " "), ("bio", "💥"),
        ("image", None), ("image", ""), ("image", " "),  # removes the picture
    ],
    "/articles": ARTICLE_ACCEPTS,
    "/articles/{slug}": ARTICLE_ACCEPTS,
    "/articles/{slug}/comments": [("body", "💥")],
}  # fmt: skip
# Well-formed credentials that match no account: a failed login (401), not invalid input.
UNKNOWN_CREDENTIALS = (LONG, "💥")


def accepted(path, field, value):
    # By type as well: 0 == False and 1 == True would match the wrong odd value.
    return any((f, type(v), v) == (field, type(value), value) for f, v in ACCEPTED.get(path, []))


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
    success = 201 if (method, path) == ("POST", "/articles") else 200
    for field in fields:
        for value in ODD_VALUES:
            payload = {name: valid[name] for name in fields} | {field: value}
            response = api.request(method, path.format(slug=slug), token, json={wrapper: payload})
            if accepted(path, field, value):
                assert response.status_code == success, (field, value, response.get_json())
                # Keep aiming at live things: a new title moves the slug, a password the token.
                body = response.get_json()
                slug = body.get("article", {}).get("slug", slug)
                token = body.get("user", {}).get("token", token) if method == "PUT" else token
            elif path == "/users/login" and value in UNKNOWN_CREDENTIALS:
                errors = check_errors(response, 401)
                assert errors == {"body": ["Invalid email or password."]}, (field, value)
            else:
                # Refused as invalid, naming the field and nothing else.
                assert response.status_code == 422, (field, value, response.get_json())
                errors = check_errors(response, 422)
                assert list(errors) == [field], (field, value, errors)
    # Every field was really tried against a live target, not a dead token or a moved slug.
    assert api.get("/user", token).status_code == 200


@pytest.mark.parametrize(("method", "path", "wrapper", "fields"), WRITES)
@pytest.mark.parametrize(
    ("raw", "status"),
    [
        # Well-formed JSON of the wrong shape: invalid input (422).
        ("null", 422), ("[]", 422), ('"text"', 422), ("1", 422), ("true", 422),
        ('{"x": 1}', 422),
        # Not JSON at all, a NUL byte, or nested past what the parser takes: malformed (400).
        ("{", 400), ("\x00", 400), ("[" * 3000, 400), ('{"a":' * 3000, 400),
    ],
)  # fmt: skip
def test_odd_bodies_never_crash(api, jake, slug, method, path, wrapper, fields, raw, status):
    response = api.request(
        method, path.format(slug=slug), jake["token"], data=raw, content_type="application/json"
    )
    check_errors(response, status)


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
