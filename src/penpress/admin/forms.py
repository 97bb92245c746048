"""Forms of the administration pages."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    HiddenField,
    IntegerField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import AnyOf, DataRequired, Optional

from penpress.accounts.models import ROLE_PERMISSIONS

ROLE_CHOICE = f"Choose one of: {', '.join(ROLE_PERMISSIONS)}."


class RoleForm(FlaskForm):
    # The users table renders one <select> per row itself; this only validates the value.
    role = StringField(
        "Role", validators=[DataRequired(), AnyOf(list(ROLE_PERMISSIONS), ROLE_CHOICE)]
    )


class ActiveForm(FlaskForm):
    active = HiddenField(validators=[AnyOf(["0", "1"], message="Choose 0 or 1.")])


class SettingsForm(FlaskForm):
    comments_require_approval = BooleanField(
        "New comments wait for a moderator's approval",
        description=(
            "Comments by moderators, admins and the post's own author are always shown at once."
        ),
    )
    # Choices are set by the view: every IANA zone.
    default_time_zone = SelectField(
        "Default time zone",
        description="For people who have not chosen one on their profile.",
        validate_choice=False,  # the service checks the name
    )


class PageForm(FlaskForm):
    """A static page; the service checks every rule (slug, lengths) and names the field."""

    title = StringField("Title", render_kw={"required": True, "maxlength": 200})
    slug = StringField(
        "Address",
        description="The page lives at /address: lower-case letters, digits and dashes. "
        "Empty: made from the title. Paths the site uses already are refused.",
        render_kw={"maxlength": 100, "autocomplete": "off"},
    )
    body = TextAreaField(
        "Text",
        description="Markdown, as in posts.",
        render_kw={"rows": 18, "required": True, "maxlength": 100_000},
    )
    published = BooleanField(
        "Published", description="Unticked, only those who manage pages can see it."
    )
    show_in_nav = BooleanField("Show in the site navigation (when published)")
    nav_order = IntegerField(
        "Position in the navigation",
        description="Lower numbers come first.",
        default=0,
        validators=[Optional()],
    )
