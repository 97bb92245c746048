"""Forms of the administration pages."""

from __future__ import annotations

from collections.abc import Iterable

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    EmailField,
    HiddenField,
    IntegerField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import AnyOf, DataRequired, Length, Optional

from penpress.accounts.models import ROLE_PERMISSIONS
from penpress.blog.services import NOTE_MAX_LENGTH
from penpress.config import REGISTRATION_POLICIES

ROLE_CHOICE = f"Choose one of: {', '.join(ROLE_PERMISSIONS)}."
REGISTRATION_LABELS = {
    "open": "Open: anyone can sign up and use the site at once",
    "approval": "Approval: anyone can sign up; an administrator approves each new account",
    "invite": "Invite only: people join through invitations",
    "closed": "Closed: nobody new can join",
}


def role_choices(names: Iterable[str]) -> list[SelectChoice]:
    return [SelectChoice(name, name.capitalize()) for name in names]


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
    # The services check the values (and refuse what an environment variable fixes); a field
    # fixed by the environment is shown disabled, so the browser does not send it.
    registration = SelectField(
        "Who may join",
        validate_choice=False,
        choices=[
            SelectChoice(policy, REGISTRATION_LABELS[policy]) for policy in REGISTRATION_POLICIES
        ],
    )
    default_role = SelectField(
        "Role of new accounts",
        validate_choice=False,
        choices=role_choices(ROLE_PERMISSIONS),
        description=(
            "What people who sign up themselves may do. Readers comment; contributors also "
            "write and submit posts for review; authors publish."
        ),
    )
    require_confirmed_email = BooleanField(
        "Accounts confirm their email address before they publish, submit or comment",
        description="Until then they can read, follow, favorite and save drafts.",
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


class InviteForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired(), Length(max=254)])
    # The service decides which roles the inviter may hand out.
    role = SelectField(
        "Role",
        validate_choice=False,
        choices=role_choices(ROLE_PERMISSIONS),
    )


class ReviewNoteForm(FlaskForm):
    note = TextAreaField(
        "Note to the writer",
        validators=[Optional(), Length(max=NOTE_MAX_LENGTH)],
        render_kw={"rows": 3, "maxlength": NOTE_MAX_LENGTH},
    )


class TagNameForm(FlaskForm):
    name = StringField("New name", validators=[DataRequired(), Length(max=64)])
