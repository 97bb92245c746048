"""Forms of the administration pages."""

from __future__ import annotations

from collections.abc import Iterable

from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import (
    BooleanField,
    DateField,
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
from penpress.audit import services as audit
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


COMMENTS_MODE_LABELS = {
    "on": "On: comments appear at once",
    "approval": "Approval: new comments wait for a moderator",
    "registered": "Registered members only: accounts with a confirmed email address comment",
    "off": "Off: nobody can comment (existing comments stay shown)",
}


class SettingsForm(FlaskForm):
    """Every site setting. The settings service checks each value (the fields only carry
    them), so a refused value comes back with the service's message and the rest of what was
    typed."""

    site_title = StringField("Site title", render_kw={"maxlength": 100, "required": True})
    site_description = StringField(
        "Tagline",
        description="A line under the title; also in feeds, link previews and the API.",
        render_kw={"maxlength": 300},
    )
    logo = FileField(
        "Logo", description="An image shown before the title (JPEG, PNG, WebP or GIF)."
    )
    remove_logo = BooleanField("Remove the logo")
    favicon = FileField(
        "Favicon", description="The small icon of browser tabs: a square PNG works best."
    )
    remove_favicon = BooleanField("Remove the favicon (the built-in one is used)")
    accent_color = StringField(
        "Accent colour",
        description="Links and buttons, as #rrggbb. Empty: the built-in blue.",
        render_kw={"maxlength": 7, "placeholder": "#2b59c3", "autocomplete": "off"},
    )
    nav_links = TextAreaField(
        "Navigation links",
        description=(
            "One a line, in order: “Label | target”, where the target is page:<address>, "
            "tag:<address>, a path such as /blog/ or an http(s) URL."
        ),
        render_kw={"rows": 5},
    )
    footer_text = TextAreaField(
        "Footer text", description="Markdown, as in posts.", render_kw={"rows": 3}
    )
    posts_per_page = StringField(
        "Posts per page",
        description="From 1 to 100.",
        render_kw={"inputmode": "numeric", "maxlength": 3},
    )
    language = StringField(
        "Site language",
        description="A language tag such as en, fr or pt-BR (for browsers and screen readers).",
        render_kw={"maxlength": 35, "autocomplete": "off"},
    )
    comments_mode = SelectField(
        "Comments",
        validate_choice=False,  # the service checks the value
        choices=[SelectChoice(mode, label) for mode, label in COMMENTS_MODE_LABELS.items()],
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


class AuditFilterForm(FlaskForm):
    """The audit log's filters, read from the query string (a GET form: no CSRF token)."""

    class Meta:
        csrf = False

    q = StringField("Object name contains", validators=[Optional(), Length(max=100)])
    actor = StringField("Done by (username)", validators=[Optional(), Length(max=64)])
    action = SelectField(
        "Action",
        validate_choice=False,
        choices=[SelectChoice("", "Any action")]
        + [SelectChoice(name, label) for name, label in audit.ACTIONS.items()],
    )
    object_type = SelectField(
        "Kind of object",
        validate_choice=False,
        choices=[SelectChoice("", "Any kind")]
        + [SelectChoice(kind, kind.capitalize()) for kind in audit.OBJECT_TYPES],
    )
    since = DateField("From (UTC)", validators=[Optional()])
    until = DateField("To (UTC, inclusive)", validators=[Optional()])


class TagMergeForm(FlaskForm):
    into = StringField("Merge into (tag)", validators=[DataRequired(), Length(max=64)])
