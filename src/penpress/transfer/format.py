"""The export format (``docs/export-format.md``): its files, and one schema per record kind.

An export is a zip holding ``manifest.json`` and one JSON Lines file per kind of record, in
the order they must be loaded (a record refers only to records of kinds before it, by their
natural key: a username, a post's or tag's slug, a media file's name). No database ids are
written, so an export reads the same whatever database it came from, and two exports of the
same content are equal line for line.

The schemas validate every record before anything is written; importers of other platforms
(WordPress, Ghost) build the same records, so they are checked by the same rules.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from penpress import timezones
from penpress.accounts.services import USERNAME_PATTERN, USERNAME_RULE
from penpress.blog.models import PostStatus
from penpress.blog.services.pages import SLUG_PATTERN as PAGE_SLUG_PATTERN
from penpress.media.images import FORMATS
from penpress.media.models import Media
from penpress.newsletter.models import SOURCES as SUBSCRIBER_SOURCES
from penpress.newsletter.models import STATUSES as SUBSCRIBER_STATUSES
from penpress.permissions import ROLE_NAMES

FORMAT = "penpress-export"
# 2: comments carry ``spam``, and a redirect may name a ``page`` instead of a post (an older
# Penpress would refuse either; the version tells it to upgrade instead). Every older version
# is read.
VERSION = 2
MANIFEST = "manifest.json"
MEDIA_FOLDER = "media/"  # the zip's folder of image files
# A stored image's name (the whole image, not a resized copy): see penpress.media.models.
IMAGE_NAME = r"[0-9a-f]{32}\.(?:jpg|png|webp|gif)"

# Written in place of a password hash when secrets are left out: no password matches it, so
# the account is claimed through a password-reset link.
NO_PASSWORD = "!no-password"  # noqa: S105 - a marker, not a password


def _text(maximum: int, *, required: bool = True, allow_empty: bool = True) -> fields.String:
    checks = [validate.Length(min=0 if allow_empty else 1, max=maximum)]
    if required:
        return fields.String(required=True, validate=checks)
    return fields.String(load_default="", validate=checks)


def _when(*, required: bool = False) -> fields.AwareDateTime:
    if required:
        return fields.AwareDateTime(required=True, default_timezone=UTC)
    return fields.AwareDateTime(load_default=None, allow_none=True, default_timezone=UTC)


def _known_zone(name: str | None) -> None:
    if name is not None and not timezones.is_known(name):
        raise ValidationError(f"{name!r} is not a time zone this machine knows.")


_SLUG = validate.Regexp(r"^[^\s/?#]+$", error="Not a valid slug (no spaces, '/', '?' or '#').")


class SettingRecord(Schema):
    key = _text(64, allow_empty=False)
    value = _text(500)


class RoleRecord(Schema):
    name = fields.String(required=True, validate=validate.OneOf(ROLE_NAMES))
    permissions = fields.Integer(required=True, strict=True)


class UserRecord(Schema):
    username = fields.String(
        required=True,
        validate=validate.Regexp(USERNAME_PATTERN, error=f"Username must be {USERNAME_RULE}."),
    )
    email = fields.Email(required=True, validate=validate.Length(max=254))
    role = fields.String(required=True, validate=validate.OneOf(ROLE_NAMES))
    bio = _text(20_000, required=False)
    image_url = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=500))
    created_at = _when(required=True)
    active = fields.Boolean(load_default=True)
    pending_approval = fields.Boolean(load_default=False)
    email_confirmed_at = _when()
    time_zone = fields.String(load_default=None, allow_none=True, validate=_known_zone)
    # Only in exports made with --with-secrets.
    password_hash = fields.String(
        load_default=None, allow_none=True, validate=validate.Length(max=255)
    )


class MediaRecord(Schema):
    """An uploaded image; its files (the image and each resized copy) are in ``media/``."""

    name = fields.String(required=True, validate=validate.Regexp(f"^{IMAGE_NAME}$"))
    owner = _text(64, allow_empty=False)  # a username
    content_type = fields.String(
        required=True, validate=validate.OneOf([kind for kind, _ in FORMATS.values()])
    )
    width = fields.Integer(required=True, strict=True, validate=validate.Range(min=1))
    height = fields.Integer(required=True, strict=True, validate=validate.Range(min=1))
    byte_size = fields.Integer(required=True, strict=True, validate=validate.Range(min=0))
    widths = fields.List(
        fields.Integer(strict=True, validate=validate.Range(min=1, max=99_999)), load_default=list
    )
    original_name = _text(255, required=False)
    created_at = _when(required=True)


class TagRecord(Schema):
    name = _text(64, allow_empty=False)
    slug = fields.String(required=True, validate=[validate.Length(min=1, max=80), _SLUG])


class PostRecord(Schema):
    slug = fields.String(required=True, validate=[validate.Length(min=1, max=220), _SLUG])
    title = _text(200, allow_empty=False)
    summary = _text(500, required=False)
    body = fields.String(required=True)  # Markdown
    author = _text(64, allow_empty=False)  # a username of users.jsonl
    status = fields.String(
        required=True, validate=validate.OneOf([status.value for status in PostStatus])
    )
    published_at = _when()
    submitted_at = _when()
    review_note = fields.String(load_default=None, allow_none=True)
    created_at = _when(required=True)
    updated_at = _when(required=True)
    views = fields.Integer(load_default=0, strict=True, validate=validate.Range(min=0))
    tags = fields.List(fields.String(validate=validate.Length(min=1, max=80)), load_default=list)
    featured_image = fields.String(load_default=None, allow_none=True)  # a media name
    featured_image_url = fields.String(
        load_default=None, allow_none=True, validate=validate.Length(max=1000)
    )
    featured_image_alt = _text(300, required=False)
    meta_title = _text(200, required=False)
    meta_description = _text(300, required=False)

    @validates_schema
    def _published_has_a_date(self, data: Mapping[str, Any], **_kwargs: Any) -> None:
        if data.get("status") == PostStatus.PUBLISHED and data.get("published_at") is None:
            raise ValidationError("A published post needs its date.", "published_at")


class CommentRecord(Schema):
    post = fields.String(required=True, validate=validate.Length(min=1, max=220))  # a slug
    author = _text(64, allow_empty=False)  # a username
    body = fields.String(required=True, validate=validate.Length(min=1))
    approved = fields.Boolean(required=True)
    # Marked as spam by a moderator (never approved then). Absent in exports made before
    # comments had a spam state: read as false.
    spam = fields.Boolean(load_default=False)
    created_at = _when(required=True)
    updated_at = _when(required=True)


class FavoriteRecord(Schema):
    user = _text(64, allow_empty=False)
    post = fields.String(required=True, validate=validate.Length(min=1, max=220))
    created_at = _when(required=True)


class FollowRecord(Schema):
    follower = _text(64, allow_empty=False)
    followed = _text(64, allow_empty=False)
    created_at = _when(required=True)

    @validates_schema
    def _not_oneself(self, data: Mapping[str, Any], **_kwargs: Any) -> None:
        if data.get("follower") == data.get("followed"):
            raise ValidationError("An account cannot follow itself.", "followed")


class SubscriberRecord(Schema):
    """A newsletter address; only ``confirmed`` ones are ever sent posts."""

    email = fields.Email(required=True, validate=validate.Length(max=254))
    status = fields.String(required=True, validate=validate.OneOf(SUBSCRIBER_STATUSES))
    source = fields.String(load_default="import", validate=validate.OneOf(SUBSCRIBER_SOURCES))
    created_at = _when(required=True)
    confirmed_at = _when()
    unsubscribed_at = _when()
    # Only with --with-secrets: the part of its unsubscribe links, so they keep working.
    secret = fields.String(
        load_default=None, allow_none=True, validate=validate.Regexp(r"^[0-9a-f]{32}$")
    )


class PageRecord(Schema):
    """A static page at ``/<slug>``."""

    slug = fields.String(
        required=True,
        validate=[
            validate.Length(min=1, max=100),
            validate.Regexp(PAGE_SLUG_PATTERN, error="Use lower-case letters, digits and dashes."),
        ],
    )
    title = _text(200, allow_empty=False)
    body = fields.String(required=True)  # Markdown
    published = fields.Boolean(load_default=False)
    show_in_nav = fields.Boolean(load_default=False)
    nav_order = fields.Integer(
        load_default=0, strict=True, validate=validate.Range(min=-1_000_000, max=1_000_000)
    )
    created_at = _when(required=True)
    updated_at = _when(required=True)


class RedirectRecord(Schema):
    """An address a post or a page had on the platform it came from (``/?p=123``,
    ``/?page_id=7``, ``/about/``): it redirects to that post or page (exactly one named)."""

    path = fields.String(
        required=True,
        validate=[
            validate.Length(min=2, max=500),
            validate.Regexp(r"^/", error="Must start with /."),
        ],
    )
    post = fields.String(
        load_default=None, allow_none=True, validate=validate.Length(min=1, max=220)
    )
    page = fields.String(
        load_default=None, allow_none=True, validate=validate.Length(min=1, max=100)
    )

    @validates_schema
    def _post_or_page(self, data: Mapping[str, Any], **_kwargs: Any) -> None:
        if (data.get("post") is None) == (data.get("page") is None):
            raise ValidationError("Name either a post or a page.", "post")


class Kind:
    """One kind of record: its file, its schema, and the fields that refer to other kinds."""

    def __init__(
        self,
        name: str,
        schema: Schema,
        *,
        key: tuple[str, ...] | None = None,
        refs: Mapping[str, str] | None = None,
        list_refs: Mapping[str, str] | None = None,
    ) -> None:
        self.name = name
        self.file = f"{name}.jsonl"
        self.schema = schema
        self.key = key  # the fields that must be unique within the file
        self.refs = dict(refs or {})  # field -> kind it names
        self.list_refs = dict(list_refs or {})  # list field -> kind each item names


# In load order: each kind refers only to kinds before it.
KINDS: tuple[Kind, ...] = (
    Kind("settings", SettingRecord(), key=("key",)),
    Kind("roles", RoleRecord(), key=("name",)),
    Kind("users", UserRecord(), key=("username",)),
    Kind("media", MediaRecord(), key=("name",), refs={"owner": "users"}),
    Kind("tags", TagRecord(), key=("slug",)),
    Kind(
        "posts",
        PostRecord(),
        key=("slug",),
        refs={"author": "users", "featured_image": "media"},
        list_refs={"tags": "tags"},
    ),
    Kind("pages", PageRecord(), key=("slug",)),
    Kind("redirects", RedirectRecord(), key=("path",), refs={"post": "posts", "page": "pages"}),
    Kind("comments", CommentRecord(), refs={"post": "posts", "author": "users"}),
    Kind(
        "favorites", FavoriteRecord(), key=("user", "post"), refs={"user": "users", "post": "posts"}
    ),
    Kind(
        "follows",
        FollowRecord(),
        key=("follower", "followed"),
        refs={"follower": "users", "followed": "users"},
    ),
    Kind("subscribers", SubscriberRecord(), key=("email",)),
)
KIND_NAMED = {kind.name: kind for kind in KINDS}
# The field whose value other records use to name a record of each kind.
NATURAL_KEY = {
    "users": "username",
    "media": "name",
    "tags": "slug",
    "posts": "slug",
    "pages": "slug",
}


def image_files(name: str, widths: list[int]) -> list[str]:
    """Every stored file of an image: its resized copies, then the whole image."""
    media = Media(name=name)
    return [*(media.version_name(width) for width in widths), name]


def dump_value(value: object) -> object:
    """A column's value as JSON: datetimes as ISO 8601 in UTC."""
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    return value


def dump_line(record: Mapping[str, object]) -> bytes:
    """One JSON Lines record, keys in the order given (so exports diff cleanly)."""
    return (
        json.dumps({k: dump_value(v) for k, v in record.items()}, ensure_ascii=False) + "\n"
    ).encode()


def json_text(document: Mapping[str, object]) -> str:
    """A JSON document as written into the zip (the manifest): indented, keys as given."""
    return json.dumps(document, ensure_ascii=False, indent=2) + "\n"
