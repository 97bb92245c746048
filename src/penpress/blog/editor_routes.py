"""The editor's JSON endpoints (preview, autosave) and what the editor page's views share.

The page works without JavaScript: its Preview button posts the form and the page comes back
with the preview under it. With ``static/js/editor.js`` the same preview shows in a tab,
drafts save themselves while the writer types, and images upload from a button, a drop or a
paste. Those requests carry the page's session cookie and its CSRF token (``X-CSRFToken``),
answer JSON (errors too), and count in the writer's ``RATELIMIT_EDITOR``.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass
from typing import Any, cast

from flask import Blueprint, Flask, render_template, request
from flask.blueprints import BlueprintSetupState
from flask.typing import ResponseReturnValue
from werkzeug.exceptions import BadRequest

from penpress.accounts.auth import acting_user
from penpress.accounts.models import User
from penpress.blog import services
from penpress.blog.forms import PostForm
from penpress.blog.models import Post
from penpress.blog.services import editor
from penpress.errors import (
    Conflict,
    Forbidden,
    Invalid,
    TooLarge,
    Unsupported,
    error_registry,
    json_renderer,
)
from penpress.forms import FORM_ERROR_STATUS, apply_errors
from penpress.media import services as media
from penpress.media.models import Media
from penpress.ratelimits import client_address, rate_limit

bp = Blueprint("editor", __name__)

PREFIX = "/blog/editor"


@bp.record_once
def _answer_json(state: BlueprintSetupState) -> None:
    error_registry(cast(Flask, state.app)).register(PREFIX, json_renderer)


def _writer_key() -> str:
    """Editor requests count per account (per address for a visitor, who gets a 401 anyway)."""
    user = acting_user()
    return f"user:{user.id}" if user is not None else client_address()


# --- what the page shows -------------------------------------------------------------------


@dataclass(frozen=True)
class PostPreview:
    """A post as it would be shown, from the editor's fields (nothing is saved)."""

    title: str
    summary: str
    body_html: str
    image: Media | None
    image_url: str | None
    image_alt: str


def featured_reference(value: str | None) -> int | str | None:
    """An editor's featured-image value as the services take it: an upload's id (digits), an
    address, ``""`` for none; ``None`` (not sent) leaves the post's image alone."""
    if value is None:
        return None
    value = value.strip()
    return int(value) if value.isdigit() and len(value) < 10 else value


def build_preview(
    actor: User | None,
    post: Post | None,
    *,
    title: str,
    summary: str,
    body: str,
    featured_image: str | None,
    featured_image_alt: str,
) -> PostPreview:
    """The preview of an editor's fields; the body goes through the same rendering as a save.

    An image that cannot be shown (not the writer's upload, an address that is not an image
    address) is left out: the save would say why.
    """
    body_html = editor.render_preview(actor, body)
    image: Media | None = None
    image_url: str | None = None
    reference = featured_reference(featured_image)
    if post is not None and reference == post.featured_image_id and reference is not None:
        image = post.featured_image
    elif post is not None and reference and reference == post.featured_image_url:
        image_url = post.featured_image_url
    elif reference not in (None, ""):
        assert reference is not None
        with suppress(Invalid):
            image, image_url = media.resolve_image(actor, reference)
    return PostPreview(
        title=" ".join(title.split()),
        summary=summary.strip(),
        body_html=body_html,
        image=image,
        image_url=image_url,
        image_alt=" ".join(featured_image_alt.split()),
    )


def form_fields(form: PostForm) -> dict[str, Any]:
    """The editor form's fields as ``create_post``/``update_post`` take them."""
    return {
        "title": form.title.data or "",
        "summary": form.summary.data or "",
        "body": form.body.data or "",
        "tags": services.parse_tag_names(form.tags.data or ""),
        "featured_image": featured_reference(form.featured_image.data or ""),
        "featured_image_alt": form.featured_image_alt.data or "",
        "meta_title": form.meta_title.data or "",
        "meta_description": form.meta_description.data or "",
    }


def take_featured_upload(actor: User | None, form: PostForm) -> bool:
    """Keep the file attached to the form's "Upload a new one" (the page without JavaScript)
    and choose it as the featured image; whether there was one."""
    upload = form.featured_upload.data
    if upload is None or not getattr(upload, "filename", ""):
        return False
    data = upload.stream.read(media.max_upload_bytes() + 1)
    uploaded = media.upload_image(actor, data, upload.filename)
    form.featured_image.data = str(uploaded.id)
    return True


@dataclass
class Submission:
    """What became of a submitted editor form: the saved post, or a preview, or neither (the
    form shows its errors), and the page's status."""

    saved: Post | None = None
    preview: PostPreview | None = None
    status: int = 200


def submit(
    actor: User | None, form: PostForm, post: Post | None, save: Callable[[], Post]
) -> Submission:
    """Handle the editor form: upload its featured image if one is attached, then show the
    preview (the Preview button) or ``save``. Errors go next to their fields."""
    if not form.validate_on_submit():
        return Submission(status=FORM_ERROR_STATUS if form.is_submitted() else 200)
    chosen = form.featured_image.data
    uploaded = False
    try:
        uploaded = take_featured_upload(actor, form)
        if request.form.get("preview"):
            fields = form_fields(form)
            return Submission(
                preview=build_preview(
                    actor,
                    post,
                    title=fields["title"],
                    summary=fields["summary"],
                    body=fields["body"],
                    featured_image=form.featured_image.data,
                    featured_image_alt=fields["featured_image_alt"],
                )
            )
        return Submission(saved=save())
    except TooLarge as error:
        form.featured_upload.errors = [error.message]
        status = error.status
    except Conflict as error:  # saved elsewhere since this page was opened
        form.form_errors.append(error.message + " Save again to replace it with this text.")
        if hasattr(form, "version") and error.details.get("version"):
            form.version.data = error.details["version"][0]
        status = error.status
    except Invalid as error:
        apply_errors(form, error, rename={"file": "featured_upload"})
        status = error.status
    except Forbidden as error:  # may not publish, or must confirm the address first
        apply_errors(form, error)
        status = error.status
    if uploaded:  # the failed request keeps nothing, the upload included
        form.featured_image.data = chosen
        form.featured_upload.errors = [
            *form.featured_upload.errors,
            "Choose the file again: an image is kept once the post saves or previews.",
        ]
    return Submission(status=status)


# --- JSON endpoints ------------------------------------------------------------------------


def _json_object() -> dict[str, Any]:
    """The request's JSON object: 415 for another type, 400 for anything but an object."""
    if not request.is_json:
        raise Unsupported("Send JSON with Content-Type: application/json.")
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise BadRequest()
    return data


def _text(data: dict[str, Any], name: str, *, required: bool = False) -> str | None:
    value = data.get(name)
    if value is None and not required:
        return None
    if not isinstance(value, str):
        raise Invalid.field(name, "Must be a string.")
    return value


@bp.post("/preview")
@rate_limit("RATELIMIT_EDITOR", scope="editor", key=_writer_key)
def preview() -> ResponseReturnValue:
    """The editor's fields rendered as readers would see them: ``{"html", "body_html"}``."""
    data = _json_object()
    me = acting_user()
    services.require_writer(me)
    post_id = data.get("post_id")
    post = (
        services.get_post_to_edit(me, post_id)
        if isinstance(post_id, int) and not isinstance(post_id, bool)
        else None
    )
    shown = build_preview(
        me,
        post,
        title=_text(data, "title") or "",
        summary=_text(data, "summary") or "",
        body=_text(data, "body", required=True) or "",
        featured_image=_text(data, "featured_image"),
        featured_image_alt=_text(data, "featured_image_alt") or "",
    )
    return {
        "html": render_template("blog/_post_preview.html", preview=shown),
        "body_html": shown.body_html,
    }


@bp.post("/autosave/<int:id>")
@rate_limit("RATELIMIT_EDITOR", scope="editor", key=_writer_key)
def autosave(id: int) -> ResponseReturnValue:
    """Save a draft as it is being written; 409 when it changed elsewhere or is published."""
    data = _json_object()
    post = editor.autosave_draft(
        acting_user(),
        id,
        _text(data, "version", required=True) or "",
        title=_text(data, "title"),
        summary=_text(data, "summary"),
        body=_text(data, "body"),
        tags=_text(data, "tags"),
        featured_image=featured_reference(_text(data, "featured_image")),
        featured_image_alt=_text(data, "featured_image_alt"),
        meta_title=_text(data, "meta_title"),
        meta_description=_text(data, "meta_description"),
    )
    return {"version": editor.version_of(post), "saved_at": post.updated_at.isoformat()}
