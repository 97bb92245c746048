"""Conduit's request and response shapes.

Requests are read through marshmallow schemas (wrong types, missing wrappers and blank
required values become 422s, never 500s); responses are built as declared ``TypedDict``s.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypedDict

from flask import current_app, request
from marshmallow import EXCLUDE, Schema, ValidationError, fields
from werkzeug.exceptions import BadRequest

from penpress.accounts import services as accounts
from penpress.accounts.models import User
from penpress.blog import services as blog
from penpress.blog.models import Comment, Post
from penpress.database import MAX_OFFSET
from penpress.errors import NUL_MESSAGE, Invalid

CANT_BE_EMPTY = "can't be empty"
MUST_BE_STRING = "must be a string"
NO_NUL = NUL_MESSAGE

# --- requests ---------------------------------------------------------------------------------


def _no_nul(value: str) -> None:
    # PostgreSQL cannot store NUL in text; refuse it here instead of failing in the database.
    if "\x00" in value:
        raise ValidationError(NO_NUL)


def _not_blank(value: str) -> None:
    if not value.strip():
        raise ValidationError(CANT_BE_EMPTY)


def _text(*, required: bool = False, blank: bool = False, allow_none: bool = False) -> Any:
    return fields.String(
        required=required,
        allow_none=allow_none,
        validate=[_no_nul] if blank else [_no_nul, _not_blank],
        error_messages={
            "required": CANT_BE_EMPTY,
            "null": CANT_BE_EMPTY,
            "invalid": MUST_BE_STRING,
        },
    )


def _tag_list() -> Any:
    return fields.List(
        fields.String(validate=_no_nul, error_messages={"invalid": "must be a list of strings"}),
        allow_none=True,
        data_key="tagList",
        error_messages={"invalid": "must be a list of strings", "null": CANT_BE_EMPTY},
    )


class _Input(Schema):
    class Meta:
        unknown = EXCLUDE  # front ends send extra fields (a token, a slug); ignore them


class LoginIn(_Input):
    email = _text(required=True)
    password = _text(required=True)


class RegisterIn(_Input):
    username = _text(required=True)
    email = _text(required=True)
    password = _text(required=True)


class UpdateUserIn(_Input):
    username = _text()
    email = _text()
    # Some front ends send every settings field, an empty password meaning "unchanged".
    password = _text(blank=True, allow_none=True)
    bio = _text(blank=True, allow_none=True)
    image = _text(blank=True, allow_none=True)


class NewArticleIn(_Input):
    title = _text(required=True)
    description = _text(required=True)
    body = _text(required=True)
    tags = _tag_list()


class UpdateArticleIn(_Input):
    title = _text()
    description = _text()
    body = _text()
    tags = _tag_list()  # not in the spec's UpdateArticle, but front-end editors send it


class NewCommentIn(_Input):
    body = _text(required=True)


def _json_body() -> Any:
    if not request.get_data(cache=True):
        return None
    try:
        # ``force``: some clients omit the Content-Type; the body must still be JSON.
        return request.get_json(force=True)
    except RecursionError:  # absurdly nested JSON: malformed, not a server error
        raise BadRequest() from None


def _messages(value: Any) -> list[str]:
    """marshmallow nests list-item errors by index; Conduit wants a flat list per field."""
    if isinstance(value, Mapping):
        found: list[str] = []
        for nested in value.values():
            for message in _messages(nested):
                if message not in found:
                    found.append(message)
        return found
    if isinstance(value, list | tuple):
        return [str(v) for v in value]
    return [str(value)]


def read(wrapper: str, schema: Schema) -> dict[str, Any]:
    """The validated fields inside ``{"<wrapper>": {...}}`` of the JSON body; 422 if invalid."""
    body = _json_body()
    inner = body.get(wrapper) if isinstance(body, dict) else None
    if inner is None:
        raise Invalid(f'Send the fields inside "{wrapper}".', {wrapper: [CANT_BE_EMPTY]})
    if not isinstance(inner, dict):
        raise Invalid(f'"{wrapper}" must be an object.', {wrapper: ["must be an object"]})
    try:
        loaded: dict[str, Any] = schema.load(inner)
    except ValidationError as error:
        messages = error.messages if isinstance(error.messages, dict) else {wrapper: error.messages}
        details = {str(name): _messages(value) for name, value in messages.items()}
        raise Invalid("Please correct the highlighted fields.", details) from None
    return loaded


def query_int(name: str, default: int, minimum: int, maximum: int = MAX_OFFSET) -> int:
    """An integer query parameter; 422 unless a whole number from ``minimum`` to ``maximum``."""
    raw = request.args.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw.strip())
    except ValueError:
        raise Invalid.field(name, "must be a whole number") from None
    if value < minimum:
        raise Invalid.field(name, f"must be at least {minimum}")
    if value > maximum:
        raise Invalid.field(name, f"must be at most {maximum}")
    return value


def query_text(name: str) -> str | None:
    # A NUL character never gets here: the app refuses it in any query (penpress.http).
    return request.args.get(name, "").strip() or None


# --- responses --------------------------------------------------------------------------------


class UserOut(TypedDict):
    email: str
    token: str
    username: str
    bio: str
    image: str | None


class ProfileOut(TypedDict):
    username: str
    bio: str
    image: str | None
    following: bool


class ArticleItemOut(TypedDict):
    slug: str
    title: str
    description: str
    tagList: list[str]
    createdAt: str
    updatedAt: str
    favorited: bool
    favoritesCount: int
    author: ProfileOut


class ArticleOut(ArticleItemOut):
    body: str


class CommentOut(TypedDict):
    id: int
    createdAt: str
    updatedAt: str
    body: str
    author: ProfileOut


def timestamp(moment: datetime) -> str:
    """ISO 8601 in UTC with milliseconds and ``Z``: ``2026-11-25T17:00:00.000Z``."""
    utc = moment.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def user_out(user: User, token: str) -> UserOut:
    return {
        "email": user.email,
        "token": token,
        "username": user.username,
        "bio": user.bio or "",
        "image": user.image_url,
    }


def profile_out(user: User, following: bool) -> ProfileOut:
    return {
        "username": user.username,
        "bio": user.bio or "",
        "image": user.image_url,
        "following": following,
    }


def _article_item(post: Post, favorited: bool, following: bool) -> ArticleItemOut:
    return {
        "slug": post.slug,
        "title": post.title,
        "description": post.summary or "",
        "tagList": [tag.name for tag in post.tags],
        # Lists are ordered by publication, so that is the article's creation for Conduit.
        "createdAt": timestamp(post.shown_at),
        "updatedAt": timestamp(post.updated_at),
        "favorited": favorited,
        "favoritesCount": int(post.favorites_count or 0),
        "author": profile_out(post.author, following),
    }


def article_out(post: Post, viewer: User | None) -> ArticleOut:
    """One article with the body; ``favorited``/``following`` as seen by ``viewer``."""
    favorited = post.id in blog.favorited_ids(viewer, [post.id])
    following = post.author_id in accounts.followed_ids(viewer, [post.author_id])
    item = _article_item(post, favorited, following)
    return ArticleOut(**item, body=post.body)


class ArticleListOut(TypedDict):
    articles: list[ArticleItemOut]
    articlesCount: int


def articles_out(posts: Sequence[Post], total: int, viewer: User | None) -> ArticleListOut:
    """A page of articles, in two extra queries whatever its size.

    Without bodies, as the spec has listed them since 2024, unless ``REALWORLD_LIST_BODIES``.
    """
    favorited = blog.favorited_ids(viewer, [post.id for post in posts])
    following = accounts.followed_ids(viewer, {post.author_id for post in posts})
    articles = [
        _article_item(post, post.id in favorited, post.author_id in following) for post in posts
    ]
    if current_app.config["REALWORLD_LIST_BODIES"]:
        articles = [
            ArticleOut(**item, body=post.body) for item, post in zip(articles, posts, strict=True)
        ]
    return {"articles": articles, "articlesCount": total}


@dataclass(frozen=True)
class SharedArticles:
    """A page of articles as anyone sees it (nothing favorited, no author followed), with
    the ids by which :func:`for_viewer` adds one caller's flags: kept once for every caller
    (``page_cache.shared_value``), never holding anything of one."""

    body: ArticleListOut
    post_ids: list[int]
    author_ids: list[int]


def shared_articles(posts: Sequence[Post], total: int) -> SharedArticles:
    return SharedArticles(
        articles_out(posts, total, None),
        [post.id for post in posts],
        [post.author_id for post in posts],
    )


def for_viewer(shared: SharedArticles, viewer: User | int | None) -> ArticleListOut:
    """``shared`` with ``favorited``/``following`` as ``viewer`` (a user or their id) sees
    them: two small queries (by primary key) for a caller with a token, none without."""
    if viewer is None:
        return shared.body
    favorited = blog.favorited_ids(viewer, shared.post_ids)
    following = accounts.followed_ids(viewer, set(shared.author_ids))
    articles: list[ArticleItemOut] = []
    for item, post_id, author_id in zip(
        shared.body["articles"], shared.post_ids, shared.author_ids, strict=True
    ):
        mine = item.copy()
        mine["favorited"] = post_id in favorited
        author = item["author"].copy()
        author["following"] = author_id in following
        mine["author"] = author
        articles.append(mine)
    return {"articles": articles, "articlesCount": shared.body["articlesCount"]}


def comment_out(comment: Comment, following: bool) -> CommentOut:
    return {
        "id": comment.id,
        "createdAt": timestamp(comment.created_at),
        "updatedAt": timestamp(comment.updated_at),
        "body": comment.body,
        "author": profile_out(comment.author, following),
    }


def comments_out(comments: Iterable[Comment], viewer: User | None) -> list[CommentOut]:
    listed = list(comments)
    following = accounts.followed_ids(viewer, {comment.author_id for comment in listed})
    return [comment_out(comment, comment.author_id in following) for comment in listed]
