"""Forms of the blog pages.

The services hold the rules (required fields, lengths, tag names), so every front door reports
the same messages; these forms only carry the fields, the CSRF token and browser hints, and
show the services' :class:`~penpress.errors.Invalid` details next to the right field
(:func:`penpress.forms.apply_errors`).
"""

from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import (
    BooleanField,
    DateTimeLocalField,
    HiddenField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import Optional

from penpress.blog.services.comments import COMMENT_MAX_LENGTH
from penpress.blog.services.posts import (
    BODY_MAX_LENGTH,
    IMAGE_ALT_MAX_LENGTH,
    META_DESCRIPTION_MAX_LENGTH,
    META_TITLE_MAX_LENGTH,
    SUMMARY_MAX_LENGTH,
    TITLE_MAX_LENGTH,
)


class PostForm(FlaskForm):
    title = StringField("Title", render_kw={"required": True, "maxlength": TITLE_MAX_LENGTH})
    summary = TextAreaField(
        "Summary",
        description="One or two sentences shown in post lists.",
        render_kw={"rows": 2, "maxlength": SUMMARY_MAX_LENGTH},
    )
    body = TextAreaField(
        "Body",
        description="Markdown: **bold**, _italic_, [links](https://example.com), lists, code.",
        render_kw={"rows": 18, "required": True, "maxlength": BODY_MAX_LENGTH},
    )
    tags = StringField(
        "Tags",
        description="Comma-separated, e.g. python, flask, web.",
        render_kw={"autocomplete": "off"},
    )
    published = BooleanField("Published", description="Leave unticked to keep a draft.")
    # The publication date, in the author's time zone (the view says which and converts).
    publish_at = DateTimeLocalField(
        "Publication date and time",
        format=["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"],
        validators=[Optional()],
    )
    schedule = SubmitField("Schedule")
    # Shown instead of ``published`` to writers who may not publish (contributors).
    submit_for_review = BooleanField(
        "Submit for review",
        description=(
            "An editor reads it, then publishes it or sends it back with a note. Leave "
            "unticked to keep a draft."
        ),
    )
    # The featured image: "" for none, an upload's id, or the address the post already has.
    # Rendered by hand as radio buttons with thumbnails (see blog/_featured_image_field.html).
    featured_image = StringField("Featured image")
    featured_upload = FileField(
        "Upload a new one",
        description="JPEG, PNG, WebP or GIF. Shown in post lists, on the post and when shared.",
        render_kw={"accept": "image/jpeg,image/png,image/webp,image/gif"},
    )
    featured_image_alt = StringField(
        "Describe the image",
        description="For people who cannot see it (alt text).",
        render_kw={"maxlength": IMAGE_ALT_MAX_LENGTH},
    )
    meta_title = StringField(
        "Title for search engines and shared links",
        description="Optional; the post's title when empty. About 60 characters show.",
        render_kw={"maxlength": META_TITLE_MAX_LENGTH},
    )
    meta_description = TextAreaField(
        "Description for search engines and shared links",
        description="Optional; the summary when empty. About 160 characters show.",
        render_kw={"rows": 2, "maxlength": META_DESCRIPTION_MAX_LENGTH},
    )


class EditPostForm(PostForm):
    # The version of the post this form was opened on (see blog/services/editor.py).
    version = HiddenField()
    regenerate_slug = BooleanField(
        "Update the URL slug from the new title",
        description="Old links to this post stop working when the slug changes.",
    )


class CommentForm(FlaskForm):
    body = TextAreaField(
        "Your comment",
        render_kw={"rows": 4, "required": True, "maxlength": COMMENT_MAX_LENGTH},
    )
