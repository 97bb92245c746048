"""Forms of the administration pages."""

from __future__ import annotations

from collections.abc import Iterable

from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, HiddenField, SelectField, StringField, TextAreaField
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
