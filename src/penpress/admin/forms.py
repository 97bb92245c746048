"""Forms of the administration pages."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField, SelectField
from wtforms.validators import AnyOf, DataRequired

from penpress.accounts.models import ROLE_PERMISSIONS


class RoleForm(FlaskForm):
    role = SelectField(
        "Role",
        choices=[(name, name.capitalize()) for name in ROLE_PERMISSIONS],
        validators=[DataRequired()],
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
