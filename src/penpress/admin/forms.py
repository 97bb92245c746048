"""Forms of the administration pages."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField, StringField
from wtforms.validators import AnyOf, DataRequired

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
