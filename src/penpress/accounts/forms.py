"""Forms of the accounts pages; the services hold the real rules, forms only parse input."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    EmailField,
    PasswordField,
    SelectField,
    StringField,
    TextAreaField,
    URLField,
)
from wtforms.validators import DataRequired, EqualTo, Length, Optional

from penpress.accounts.services import (
    BIO_MAX_LENGTH,
    IMAGE_URL_MAX_LENGTH,
    PASSWORD_MAX_LENGTH,
    PASSWORD_MIN_LENGTH,
    USERNAME_RULE,
)

PASSWORD_HELP = f"{PASSWORD_MIN_LENGTH} to {PASSWORD_MAX_LENGTH} characters."


class RegisterForm(FlaskForm):
    username = StringField(
        "Username",
        validators=[DataRequired(), Length(max=64)],
        description=f"{USERNAME_RULE[0].upper()}{USERNAME_RULE[1:]}.",
        render_kw={"autocomplete": "username"},
    )
    email = EmailField(
        "Email", validators=[DataRequired(), Length(max=254)], render_kw={"autocomplete": "email"}
    )
    password = PasswordField(
        "Password",
        validators=[DataRequired(), Length(max=PASSWORD_MAX_LENGTH)],
        description=PASSWORD_HELP,
        render_kw={"autocomplete": "new-password"},
    )
    password_confirm = PasswordField(
        "Repeat password",
        validators=[DataRequired(), EqualTo("password", message="The passwords do not match.")],
        render_kw={"autocomplete": "new-password"},
    )


class AcceptInviteForm(FlaskForm):
    """An invitation's form: the address and role come from the invite, not the visitor."""

    username = RegisterForm.username
    password = RegisterForm.password
    password_confirm = RegisterForm.password_confirm


class LoginForm(FlaskForm):
    email = EmailField(
        "Email", validators=[DataRequired(), Length(max=254)], render_kw={"autocomplete": "email"}
    )
    password = PasswordField(
        "Password",
        validators=[DataRequired(), Length(max=PASSWORD_MAX_LENGTH)],
        render_kw={"autocomplete": "current-password"},
    )
    remember = BooleanField("Keep me logged in on this device")


class ProfileForm(FlaskForm):
    bio = TextAreaField(
        "Bio",
        validators=[Optional(), Length(max=BIO_MAX_LENGTH)],
        description="A few words about you, shown on your author page.",
        render_kw={"rows": 5},
    )
    image_url = URLField(
        "Picture URL",
        validators=[Optional(), Length(max=IMAGE_URL_MAX_LENGTH)],
        description="An http(s) link to an image; leave empty for none.",
    )
    # Choices are set by the view (every IANA zone, and "the site's default").
    time_zone = SelectField(
        "Time zone",
        description="Dates and times you type (a post's publication) and read are in this zone.",
        validate_choice=False,  # the service checks the name and says what is wrong
    )


class EmailForm(FlaskForm):
    email = EmailField(
        "New email address",
        validators=[DataRequired(), Length(max=254)],
        description="We email a link to the new address; your address changes when you open it.",
        render_kw={"autocomplete": "email"},
    )
    current_password = PasswordField(
        "Current password",
        validators=[DataRequired(), Length(max=PASSWORD_MAX_LENGTH)],
        id="email_current_password",  # the password form on the same page has the plain id
        render_kw={"autocomplete": "current-password"},
    )


class PasswordForm(FlaskForm):
    current_password = PasswordField(
        "Current password",
        validators=[DataRequired(), Length(max=PASSWORD_MAX_LENGTH)],
        render_kw={"autocomplete": "current-password"},
    )
    new_password = PasswordField(
        "New password",
        validators=[DataRequired(), Length(max=PASSWORD_MAX_LENGTH)],
        description=PASSWORD_HELP + " Every other device you are logged in on will be logged out.",
        render_kw={"autocomplete": "new-password"},
    )
    new_password_confirm = PasswordField(
        "Repeat new password",
        validators=[
            DataRequired(),
            EqualTo("new_password", message="The passwords do not match."),
        ],
        render_kw={"autocomplete": "new-password"},
    )
