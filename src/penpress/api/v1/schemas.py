"""Marshmallow schemas: what the v1 API accepts and returns, and what its OpenAPI says.

Input schemas reject unknown fields (422 naming the field) so a typo never silently does
nothing; they check types and shapes only — every business rule (lengths of titles, username
patterns, who may do what) stays in the services, which answer 422/403/409 themselves.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import marshmallow as ma
from marshmallow import fields, validate, validates_schema

from penpress.accounts.models import ROLE_PERMISSIONS
from penpress.blog.models import Post, PostStatus
from penpress.blog.services import post_status
from penpress.blog.services.comments import COMMENTS_PER_PAGE
from penpress.database import MAX_PAGE, MAX_PER_PAGE  # the services' own bounds, documented
from penpress.media import urls as media_urls
from penpress.media.models import Media

MAX_TEXT = 200_000  # far above any service limit; stops absurd strings before the services


# ``Function`` fields document as "any" unless told what they return.
STRING = {"type": "string"}


class Text(fields.String):
    """A string that refuses NUL characters, which no database column can store."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        text: str = super()._deserialize(value, attr, data, **kwargs)
        if "\x00" in text:
            raise ma.ValidationError("Must not contain NUL characters.")
        if len(text) > MAX_TEXT:
            raise ma.ValidationError(f"Must be at most {MAX_TEXT} characters.")
        return text


class UTCDateTime(fields.DateTime):
    """ISO-8601 in UTC with a ``Z`` suffix, e.g. ``2026-01-31T12:00:00.123456Z``."""

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> str | None:
        if value is None:
            return None
        assert isinstance(value, datetime)
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


class AwareDateTime(fields.AwareDateTime):
    """ISO-8601 with an offset from UTC (``+02:00`` or ``Z``); a time without one is refused
    with a message that says so, as the API cannot guess the writer's time zone."""

    default_error_messages = {  # noqa: RUF012  (marshmallow's own class attribute)
        "invalid": "Not a valid date and time: use ISO 8601, e.g. 2026-03-29T09:00:00+02:00.",
        "invalid_awareness": "Give the time with its offset from UTC, e.g. "
        "2026-03-29T09:00:00+02:00 or 2026-03-29T07:00:00Z: a time without one is ambiguous.",
    }

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(format="iso", **kwargs)


class InputSchema(ma.Schema):
    """Base for request bodies: unknown fields are an error, not silently dropped."""

    class Meta:
        unknown = ma.RAISE


class QuerySchema(ma.Schema):
    """Base for query strings: unknown parameters are ignored (cache busters, tracking)."""

    class Meta:
        unknown = ma.EXCLUDE


# --- errors ------------------------------------------------------------------------------


class ErrorBodySchema(ma.Schema):
    code = fields.Integer(required=True, metadata={"description": "The HTTP status code."})
    message = fields.String(required=True, metadata={"description": "What went wrong."})
    details = fields.Dict(
        keys=fields.String(),
        values=fields.List(fields.String()),
        metadata={"description": "Messages by field name, for validation errors."},
    )


class ErrorSchema(ma.Schema):
    """Every error of the API has this shape."""

    error = fields.Nested(ErrorBodySchema, required=True)


# --- pagination --------------------------------------------------------------------------


class PageArgsSchema(QuerySchema):
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=MAX_PAGE))
    per_page = fields.Integer(
        load_default=10,
        validate=validate.Range(min=1, max=MAX_PER_PAGE),
        metadata={"description": f"Items per page, at most {MAX_PER_PAGE}."},
    )


class LinksSchema(ma.Schema):
    self = fields.String(required=True)
    first = fields.String(required=True)
    last = fields.String(required=True)
    next = fields.String(required=True, allow_none=True)
    prev = fields.String(required=True, allow_none=True)


class PageSchema(ma.Schema):
    total = fields.Integer(required=True)
    page = fields.Integer(required=True)
    per_page = fields.Integer(required=True)
    pages = fields.Integer(required=True)
    links = fields.Nested(LinksSchema, required=True)


# --- auth --------------------------------------------------------------------------------


class TokenRequestSchema(InputSchema):
    email = Text(required=True)
    password = Text(required=True, load_only=True)


class RefreshRequestSchema(InputSchema):
    refresh_token = Text(required=True)


class TokenPairSchema(ma.Schema):
    access_token = fields.String(required=True)
    refresh_token = fields.String(required=True)
    token_type = fields.String(required=True, metadata={"example": "Bearer"})
    expires_in = fields.Integer(
        required=True, metadata={"description": "Seconds until the access token expires."}
    )


# --- users -------------------------------------------------------------------------------


class AuthorSchema(ma.Schema):
    """A user as others see them: never the email address."""

    username = fields.String(required=True)
    bio = fields.String(required=True)
    image_url = fields.String(required=True, allow_none=True)
    role = fields.Function(lambda user: user.role.name, required=True, metadata=STRING)
    created_at = UTCDateTime(required=True)


class UserSchema(AuthorSchema):
    active = fields.Boolean(required=True)
    pending_approval = fields.Boolean(
        required=True,
        metadata={
            "description": "Signed up while the site asks for approval and not approved yet: "
            "the account cannot log in until an admin approves it (PATCH active: true)."
        },
    )


class MeSchema(UserSchema):
    """The logged-in user, who also sees their own email address."""

    email = fields.String(required=True)
    email_confirmed = fields.Function(
        lambda user: user.email_confirmed_at is not None,
        required=True,
        metadata={"type": "boolean"},
    )
    pending_email = fields.String(
        required=True,
        allow_none=True,
        metadata={
            "description": "A new address asked for with `PATCH /me`, waiting for the link "
            "emailed to it to be opened; `email` stays the address until then."
        },
    )


class UserPageSchema(PageSchema):
    users = fields.List(fields.Nested(UserSchema), required=True)


class RegisterSchema(InputSchema):
    username = Text(required=True)
    email = Text(required=True)
    password = Text(required=True, load_only=True)
    bio = Text(load_default="")
    image_url = Text(load_default=None, allow_none=True)
    invite_token = Text(
        load_only=True,
        metadata={
            "description": "The token of an invitation link (the last part of "
            "/auth/invite/<token>): the account gets the invited role and a confirmed "
            "address. `email` must be the invited address."
        },
    )


class ProfilePatchSchema(InputSchema):
    username = Text()
    email = Text(
        metadata={
            "description": "A new address needs `current_password`. It takes effect only when "
            "the link emailed to it is opened (until then it shows as `pending_email`); the "
            "old address is told. Your current address changes nothing."
        }
    )
    current_password = Text(
        load_only=True,
        metadata={"description": "Your current password; required to change `email`."},
    )
    bio = Text()
    image_url = Text(allow_none=True, metadata={"description": "null removes the image."})


class PasswordChangeSchema(InputSchema):
    current_password = Text(required=True, load_only=True)
    password = Text(required=True, load_only=True)


class AdminUserPatchSchema(InputSchema):
    role = fields.String(validate=validate.OneOf(list(ROLE_PERMISSIONS)))
    active = fields.Boolean()
    bio = Text()

    @validates_schema
    def _not_empty(self, data: dict[str, Any], **_kwargs: Any) -> None:
        if not data:
            raise ma.ValidationError("Give at least one of role, active, bio.")


# --- media -------------------------------------------------------------------------------


class MediaVersionSchema(ma.Schema):
    url = fields.String(required=True)
    width = fields.Integer(required=True)
    height = fields.Integer(required=True)


class MediaVersions(fields.List[Any]):
    """Every stored version of an upload, with its absolute address."""

    def get_value(
        self, obj: Any, attr: str, accessor: Any = None, default: Any = ma.missing
    ) -> Any:
        return [
            {"url": media_urls.file_url(name), "width": width, "height": height}
            for name, width, height in obj.versions()
        ]


class MediaSchema(ma.Schema):
    """An uploaded image, cleaned and resized."""

    id = fields.Integer(
        required=True, metadata={"description": "Give it as a post's `featured_image`."}
    )
    url = fields.Function(
        lambda media: media_urls.file_url(media.name),
        required=True,
        metadata={**STRING, "description": "The whole image (its metadata removed)."},
    )
    content_type = fields.String(required=True, metadata={"example": "image/jpeg"})
    width = fields.Integer(required=True)
    height = fields.Integer(required=True)
    byte_size = fields.Integer(required=True)
    versions = MediaVersions(
        fields.Nested(MediaVersionSchema),
        required=True,
        metadata={"description": "Every stored version, smallest first, the whole image last."},
    )
    srcset = fields.Function(
        lambda media: media_urls.srcset(media, absolute=True),
        required=True,
        metadata={**STRING, "description": "Every version, for `<img srcset>`."},
    )
    markdown = fields.Function(
        lambda media: f"![]({media_urls.file_url(media.name)})",
        required=True,
        metadata={**STRING, "description": "Markdown showing it in a post (add the alt text)."},
    )
    name = fields.String(
        attribute="original_name",
        required=True,
        metadata={"description": "The uploaded file's name, as sent."},
    )
    created_at = UTCDateTime(required=True)


class MediaListSchema(ma.Schema):
    media = fields.List(fields.Nested(MediaSchema), required=True)


class MediaListArgsSchema(QuerySchema):
    limit = fields.Integer(
        load_default=24,
        validate=validate.Range(min=1, max=100),
        metadata={"description": "How many of your newest uploads, at most 100."},
    )


class MediaUploadSchema(ma.Schema):
    """The multipart body of an upload (documentation only: the view reads it itself)."""

    file = fields.Raw(
        required=True,
        metadata={
            "type": "string",
            "format": "binary",
            "description": "A JPEG, PNG, WebP or GIF image.",
        },
    )


# --- posts -------------------------------------------------------------------------------


class FeaturedImageSchema(ma.Schema):
    """A post's featured image: one of the site's uploads (``id`` set, with its size and
    versions) or the address of an image elsewhere."""

    id = fields.Integer(required=True, allow_none=True)
    url = fields.String(required=True)
    alt = fields.String(required=True)
    width = fields.Integer(required=True, allow_none=True)
    height = fields.Integer(required=True, allow_none=True)
    srcset = fields.String(required=True, allow_none=True)


def featured_image_of(post: Any) -> dict[str, Any] | None:
    """The ``featured_image`` of a post as :class:`FeaturedImageSchema` shows it."""
    image: Media | None = post.featured_image
    if image is not None:
        return {
            "id": image.id,
            "url": media_urls.file_url(image.name),
            "alt": post.featured_image_alt,
            "width": image.width,
            "height": image.height,
            "srcset": media_urls.srcset(image, absolute=True),
        }
    if post.featured_image_url:
        return {
            "id": None,
            "url": post.featured_image_url,
            "alt": post.featured_image_alt,
            "width": None,
            "height": None,
            "srcset": None,
        }
    return None


class PostFeaturedImage(fields.Nested):
    """The post's featured image, built from its upload or address (see above)."""

    def get_value(
        self, obj: Any, attr: str, accessor: Any = None, default: Any = ma.missing
    ) -> Any:
        return featured_image_of(obj)


class ImageReference(fields.Field[Any]):
    """A featured image as a client gives it: an upload's id, an image's address, or null."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        if isinstance(value, bool) or not isinstance(value, int | str):
            raise ma.ValidationError("Give an upload's id, an image address or null.")
        if isinstance(value, str):
            return Text()._deserialize(value, attr, data, **kwargs)
        if not 1 <= value <= 2**31 - 1:
            raise ma.ValidationError("Not an upload's id.")
        return value

    def deserialize(
        self, value: Any, attr: str | None = None, data: Any = None, **kwargs: Any
    ) -> Any:
        if value is None:
            return ""  # null: no featured image
        return super().deserialize(value, attr, data, **kwargs)


IMAGE_REFERENCE = {
    "oneOf": [{"type": "integer", "minimum": 1}, {"type": "string"}],
    "nullable": True,
    "description": "One of your uploads (its id from `POST /api/v1/media`), the address of "
    "an image (an upload's `/media/...` address, or any http(s) URL), or null for none.",
}


def _status(post: Post) -> str:
    """A published post is ``scheduled`` until its time, then ``published``; an unpublished
    one says where it stands in review (``draft``, ``submitted``, ``returned``, ``rejected``)."""
    return post_status(post) if post.published else post.state.value


class PostSchema(ma.Schema):
    slug = fields.String(required=True)
    title = fields.String(required=True)
    summary = fields.String(required=True)
    body = fields.String(required=True, metadata={"description": "Markdown source."})
    body_html = fields.String(required=True, metadata={"description": "Rendered, sanitized."})
    tags = fields.Function(
        lambda post: [tag.name for tag in post.tags],
        required=True,
        metadata={"type": "array", "items": {"type": "string"}, "description": "Tag names."},
    )
    published = fields.Boolean(
        required=True,
        metadata={"description": "Published (status `scheduled` or `published`), not a draft."},
    )
    published_at = UTCDateTime(
        required=True,
        allow_none=True,
        metadata={
            "description": "The publication date: readers see the post from then on (in the "
            "future for a scheduled post). A draft may have one planned, or keep the date of "
            "an earlier publication."
        },
    )
    status = fields.Function(
        lambda post: _status(post),
        required=True,
        metadata={
            "type": "string",
            "enum": [*(status.value for status in PostStatus), "scheduled"],
            "description": "draft, submitted (waiting for an editor), returned (sent back "
            "with review_note), rejected (with an optional review_note), scheduled (published, "
            "readers see it from `published_at`) or published (readers see it).",
        },
    )
    submitted_at = UTCDateTime(
        required=True, allow_none=True, metadata={"description": "When it was last submitted."}
    )
    review_note = fields.String(
        required=True,
        allow_none=True,
        metadata={"description": "The editor's note when the post was returned or rejected."},
    )
    created_at = UTCDateTime(required=True)
    updated_at = UTCDateTime(required=True)
    views = fields.Integer(required=True)
    comment_count = fields.Integer(required=True)
    favorites_count = fields.Integer(required=True)
    author = fields.Nested(AuthorSchema, required=True)
    featured_image = PostFeaturedImage(FeaturedImageSchema, required=True, allow_none=True)
    meta_title = fields.String(
        required=True, metadata={"description": "For search engines and shared links."}
    )
    meta_description = fields.String(
        required=True, metadata={"description": "For search engines and shared links."}
    )


def _stamp(value: datetime | None) -> str | None:
    return None if value is None else value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def post_out(post: Any) -> dict[str, Any]:
    """Exactly what :class:`PostSchema` dumps, built directly.

    A list answers with up to 100 posts, and marshmallow's field-by-field dump was a fifth of
    such a request; ``tests/api/v1/test_posts.py`` checks the two stay the same.
    """
    author = post.author
    return {
        "slug": post.slug,
        "title": post.title,
        "summary": post.summary,
        "body": post.body,
        "body_html": post.body_html,
        "tags": [tag.name for tag in post.tags],
        "published": post.published,
        "published_at": _stamp(post.published_at),
        "status": _status(post),
        "submitted_at": _stamp(post.submitted_at),
        "review_note": post.review_note,
        "created_at": _stamp(post.created_at),
        "updated_at": _stamp(post.updated_at),
        "views": post.views,
        "comment_count": post.comment_count,
        "favorites_count": post.favorites_count,
        "featured_image": featured_image_of(post),
        "meta_title": post.meta_title,
        "meta_description": post.meta_description,
        "author": {
            "username": author.username,
            "bio": author.bio,
            "image_url": author.image_url,
            "role": author.role.name,
            "created_at": _stamp(author.created_at),
        },
    }


class ReviewPageSchema(PageSchema):
    """The review queue: a short list read by page number (no cursors)."""

    posts = fields.List(fields.Nested(PostSchema), required=True)


class PostPageSchema(PageSchema):
    posts = fields.List(fields.Nested(PostSchema), required=True)
    page = fields.Integer(
        required=True,
        allow_none=True,
        metadata={"description": "The page number; null when the page was asked by cursor."},
    )
    next_cursor = fields.String(
        required=True,
        allow_none=True,
        metadata={"description": "Pass as `cursor` for the next (older) posts; null at the end."},
    )
    prev_cursor = fields.String(
        required=True,
        allow_none=True,
        metadata={
            "description": "Pass as `cursor` for the previous (newer) posts; null on the first."
        },
    )


class PostListArgsSchema(PageArgsSchema):
    cursor = Text(
        metadata={
            "description": "A `next_cursor` or `prev_cursor` from an earlier answer: the page "
            "of posts older (or newer) than it. Any depth costs the same; `page` is ignored."
        }
    )
    tag = Text(metadata={"description": "A tag's name or slug."})
    author = Text(metadata={"description": "A username."})
    q = Text(metadata={"description": "Words that must all appear in the post."})
    drafts = fields.Boolean(
        load_default=False,
        metadata={
            "description": "With author= yourself (or as an editor or admin): include "
            "unpublished and scheduled posts."
        },
    )


PUBLISH_AT_HELP = (
    "When readers see the post: ISO 8601 with an offset from UTC (`2026-03-29T09:00:00+02:00`, "
    "`...Z`); a time without one is a 422. In the future it schedules the post, in the past it "
    "backdates it. Sending it publishes the post (status `scheduled` or `published`) unless "
    "`published: false` comes with it (a draft with a planned date). `null`: no date (a "
    "published post is dated now)."
)


class PostCreateSchema(InputSchema):
    title = Text(required=True)
    body = Text(required=True)
    summary = Text(load_default="")
    tags = fields.List(Text(), load_default=list)
    published = fields.Boolean(
        metadata={"description": "Default: false, or true when `publish_at` is given."}
    )
    publish_at = AwareDateTime(allow_none=True, metadata={"description": PUBLISH_AT_HELP})
    featured_image = ImageReference(allow_none=True, metadata=IMAGE_REFERENCE)
    featured_image_alt = Text(metadata={"description": "Its alt text."})
    meta_title = Text(metadata={"description": "Optional; the title when empty."})
    meta_description = Text(metadata={"description": "Optional; the summary when empty."})


class ReviewNoteSchema(InputSchema):
    note = Text(metadata={"description": "What the writer should change (required to return)."})


class PostPatchSchema(InputSchema):
    title = Text()
    body = Text()
    summary = Text()
    tags = fields.List(Text())
    published = fields.Boolean(
        metadata={"description": "true publishes (at `publish_at` if given), false: a draft."}
    )
    publish_at = AwareDateTime(
        allow_none=True,
        metadata={
            "description": PUBLISH_AT_HELP
            + " `null` on a published post dates it now; left out, the date stays."
        },
    )
    featured_image = ImageReference(allow_none=True, metadata=IMAGE_REFERENCE)
    featured_image_alt = Text(metadata={"description": "Its alt text."})
    meta_title = Text(metadata={"description": "An empty string: the title again."})
    meta_description = Text(metadata={"description": "An empty string: the summary again."})


# --- comments ----------------------------------------------------------------------------


class CommentSchema(ma.Schema):
    id = fields.Integer(required=True)
    body = fields.String(required=True)
    approved = fields.Boolean(
        required=True, metadata={"description": "False while it awaits a moderator."}
    )
    created_at = UTCDateTime(required=True)
    updated_at = UTCDateTime(required=True)
    author = fields.Nested(AuthorSchema, required=True)
    post_slug = fields.Function(lambda comment: comment.post.slug, required=True, metadata=STRING)


class CommentListSchema(ma.Schema):
    comments = fields.List(fields.Nested(CommentSchema), required=True)
    next_cursor = fields.String(
        required=True,
        allow_none=True,
        metadata={"description": "Pass as `cursor` for the comments after these; null at the end."},
    )


class CommentListArgsSchema(QuerySchema):
    limit = fields.Integer(
        load_default=COMMENTS_PER_PAGE,
        validate=validate.Range(min=1, max=COMMENTS_PER_PAGE),
        metadata={"description": f"Comments per answer, at most {COMMENTS_PER_PAGE}."},
    )
    cursor = Text(metadata={"description": "A `next_cursor` from an earlier answer."})


class CommentCreateSchema(InputSchema):
    body = Text(required=True)


# --- tags --------------------------------------------------------------------------------


class TagSchema(ma.Schema):
    name = fields.String(required=True)
    slug = fields.String(required=True)
    post_count = fields.Integer(
        required=True, metadata={"description": "Published posts with this tag."}
    )


class TagListSchema(ma.Schema):
    tags = fields.List(fields.Nested(TagSchema), required=True)
