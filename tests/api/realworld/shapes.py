"""The spec's response shapes, copied from the RealWorld OpenAPI document and endpoint guide.

Stricter than the spec in one way: objects must have exactly these keys, so nothing internal
leaks and nothing required goes missing.
"""

from __future__ import annotations

import re
from typing import Any

# ISO 8601 in UTC with milliseconds, as the spec's examples: 2016-02-18T03:22:56.637Z
TIMESTAMP = re.compile(r"^\d{4}-[01]\d-[0-3]\dT[0-2]\d:[0-5]\d:[0-5]\d\.\d{3}Z$")

USER_KEYS = {"email", "token", "username", "bio", "image"}
PROFILE_KEYS = {"username", "bio", "image", "following"}
ARTICLE_KEYS = {
    "slug",
    "title",
    "description",
    "body",
    "tagList",
    "createdAt",
    "updatedAt",
    "favorited",
    "favoritesCount",
    "author",
}
# Since 2024-08 the lists leave out the body.
LIST_ARTICLE_KEYS = ARTICLE_KEYS - {"body"}
COMMENT_KEYS = {"id", "createdAt", "updatedAt", "body", "author"}


def _string_or_null(value: Any) -> bool:
    return value is None or isinstance(value, str)


def check_user(user: Any) -> None:
    assert isinstance(user, dict)
    assert set(user) == USER_KEYS
    for key in ("email", "token", "username", "bio"):
        assert isinstance(user[key], str), key
    assert _string_or_null(user["image"])
    assert user["token"].count(".") == 2  # a JWT


def check_profile(profile: Any) -> None:
    assert isinstance(profile, dict)
    assert set(profile) == PROFILE_KEYS
    assert isinstance(profile["username"], str)
    assert isinstance(profile["bio"], str)
    assert _string_or_null(profile["image"])
    assert isinstance(profile["following"], bool)


def check_article(article: Any, *, listed: bool = False) -> None:
    assert isinstance(article, dict)
    assert set(article) == (LIST_ARTICLE_KEYS if listed else ARTICLE_KEYS)
    for key in ("slug", "title", "description") + (() if listed else ("body",)):
        assert isinstance(article[key], str), key
    assert isinstance(article["tagList"], list)
    assert all(isinstance(tag, str) for tag in article["tagList"])
    # alphabetical, ignoring case
    assert article["tagList"] == sorted(article["tagList"], key=lambda n: (n.lower(), n))
    assert TIMESTAMP.match(article["createdAt"]), article["createdAt"]
    assert TIMESTAMP.match(article["updatedAt"]), article["updatedAt"]
    assert isinstance(article["favorited"], bool)
    assert isinstance(article["favoritesCount"], int)
    assert not isinstance(article["favoritesCount"], bool)
    check_profile(article["author"])


def check_articles(payload: Any) -> None:
    assert isinstance(payload, dict)
    assert set(payload) == {"articles", "articlesCount"}
    assert isinstance(payload["articlesCount"], int)
    assert isinstance(payload["articles"], list)
    for article in payload["articles"]:
        check_article(article, listed=True)


def check_comment(comment: Any) -> None:
    assert isinstance(comment, dict)
    assert set(comment) == COMMENT_KEYS
    assert isinstance(comment["id"], int)
    assert isinstance(comment["body"], str)
    assert TIMESTAMP.match(comment["createdAt"])
    assert TIMESTAMP.match(comment["updatedAt"])
    check_profile(comment["author"])


def check_errors(response: Any, status: int, *fields: str) -> dict[str, list[str]]:
    """A Conduit error: ``status`` and ``{"errors": {field: [message, ...]}}``."""
    assert response.status_code == status, (response.status_code, response.get_data(as_text=True))
    assert response.mimetype == "application/json"
    payload = response.get_json()
    assert set(payload) == {"errors"}
    errors: dict[str, list[str]] = payload["errors"]
    assert isinstance(errors, dict)
    assert errors
    for messages in errors.values():
        assert isinstance(messages, list)
        assert messages
        assert all(isinstance(message, str) and message for message in messages)
    for field in fields:
        assert field in errors, (field, errors)
    return errors
