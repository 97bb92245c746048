"""Forms of the blog pages.

The services hold the rules (required fields, lengths, tag names), so every front door reports
the same messages; these forms only carry the fields, the CSRF token and browser hints, and
show the services' :class:`~penpress.errors.Invalid` details next to the right field
(:func:`penpress.forms.apply_errors`).
"""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, DateTimeLocalField, StringField, SubmitField, TextAreaField
from wtforms.validators import Optional

from penpress.blog.services.comments import COMMENT_MAX_LENGTH
from penpress.blog.services.posts import BODY_MAX_LENGTH, SUMMARY_MAX_LENGTH, TITLE_MAX_LENGTH


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


class EditPostForm(PostForm):
    regenerate_slug = BooleanField(
        "Update the URL slug from the new title",
        description="Old links to this post stop working when the slug changes.",
    )


class CommentForm(FlaskForm):
    body = TextAreaField(
        "Your comment",
        render_kw={"rows": 4, "required": True, "maxlength": COMMENT_MAX_LENGTH},
    )
