"""Routes of the accounts blueprint: register, accept an invitation, log in, log out, profile."""

from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_login import login_required
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response

from penpress.accounts import auth, invites, services
from penpress.accounts.auth import acting_user
from penpress.accounts.forms import (
    AcceptInviteForm,
    EmailForm,
    LoginForm,
    PasswordForm,
    ProfileForm,
    RegisterForm,
)
from penpress.accounts.models import User
from penpress.errors import Conflict, DomainError, Forbidden, Invalid, Unauthorized
from penpress.forms import FORM_ERROR_STATUS, apply_errors
from penpress.http import safe_next
from penpress.ratelimits import auth_rate_limit
from penpress.settings.services import default_time_zone, registration_policy, site_title
from penpress.timezones import zone_names

bp = Blueprint("accounts", __name__)


def _form_page(template: str, form: FlaskForm, **context: object) -> tuple[str, int]:
    status = FORM_ERROR_STATUS if form.errors else 200
    return render_template(template, form=form, **context), status


def _me() -> User:
    """The signed-in user of a ``login_required`` view."""
    user = acting_user()
    assert user is not None  # login_required sent anonymous visitors to the login page
    return user


def _register_page(form: RegisterForm, refusal: str | None, status: int) -> tuple[str, int]:
    body = render_template(
        "accounts/register.html",
        form=form,
        refusal=refusal,
        needs_approval=registration_policy() == "approval",
    )
    return body, status


@bp.route("/register", methods=["GET", "POST"])
@auth_rate_limit(methods=["POST"])
def register() -> Response | tuple[str, int]:
    """Create an account as the registration policy allows: logged in at once when the site
    is open, waiting for an administrator under approval; no form when invite-only or closed."""
    if acting_user() is not None:
        return redirect(url_for("main.index"))
    form = RegisterForm()
    if form.validate_on_submit():
        try:
            user = services.register_user(form.username.data, form.email.data, form.password.data)
        except (Invalid, Conflict) as error:
            apply_errors(form, error)
        except Forbidden as error:  # invite-only or closed since the form was shown
            return _register_page(form, error.message, 403)
        else:
            if user.pending_approval:
                flash(f"Thanks, {user.username}! {services.AWAITING_APPROVAL}", "info")
                return redirect(url_for("main.index"), code=303)
            auth.log_in(user)
            flash(f"Welcome to {site_title()}, {user.username}! Your account is ready.", "success")
            return redirect(url_for("main.index"), code=303)
    return _register_page(
        form, services.registration_refusal(), FORM_ERROR_STATUS if form.errors else 200
    )


@bp.route("/invite/<token>", methods=["GET", "POST"])
@auth_rate_limit(methods=["POST"])
def accept_invite(token: str) -> Response | tuple[str, int]:
    """The page an invitation links to: choose a username and password, and the account is
    created with the invited role and address (logged in at once)."""
    try:
        invite = invites.check_invite(token)
    except (Invalid, Forbidden) as error:
        return _invalid_invite(error)
    signed_in = acting_user()
    form = AcceptInviteForm()
    if signed_in is None and form.validate_on_submit():
        try:
            user = invites.accept_invite(token, form.username.data, form.password.data)
        except (Invalid, Conflict) as error:
            if "token" in error.details:  # used up by another tab in the meantime
                return _invalid_invite(error)
            apply_errors(form, error)
        else:
            auth.log_in(user)
            flash(f"Welcome to {site_title()}, {user.username}! Your account is ready.", "success")
            return redirect(url_for("main.index"), code=303)
    body = render_template(
        "accounts/accept_invite.html", form=form, invite=invite, signed_in=signed_in
    )
    return body, FORM_ERROR_STATUS if form.errors else 200


def _invalid_invite(error: DomainError) -> tuple[str, int]:
    body = render_template(
        "recovery/invalid_link.html",
        message=error.message,
        again_url=url_for("accounts.login"),
        again_label="Log in",
    )
    return body, 403 if isinstance(error, Forbidden) else 400


@bp.route("/login", methods=["GET", "POST"])
@auth_rate_limit(methods=["POST"])
def login() -> Response | tuple[str, int]:
    """Log in with email and password; go back to ``next`` when it is a path on this site."""
    target = safe_next(request.args.get("next"))
    signed_in = acting_user()
    if request.method == "GET" and signed_in is not None:
        return redirect(target or url_for("main.index"))
    form = LoginForm()
    if form.validate_on_submit():
        try:
            user = services.authenticate(form.email.data, form.password.data)
        except (Unauthorized, Forbidden) as error:
            # The same message whether the email is unknown or the password wrong.
            form.form_errors.append(error.message)
        else:
            if signed_in is not None:
                auth.log_out(signed_in)
            auth.log_in(user, remember=bool(form.remember.data))
            flash(f"Welcome back, {user.username}.", "success")
            return redirect(target or url_for("main.index"), code=303)
    return _form_page("accounts/login.html", form)


@bp.post("/logout")
def logout() -> Response:
    """End this browser's session on the server and clear its cookies."""
    user = acting_user()
    if user is not None:
        auth.log_out(user)
        flash("You have been logged out.", "info")
    return redirect(url_for("main.index"), code=303)


def _profile_page(
    profile_form: ProfileForm | None = None,
    password_form: PasswordForm | None = None,
    email_form: EmailForm | None = None,
) -> tuple[str, int]:
    user = _me()
    profile_form = profile_form or ProfileForm(
        formdata=None,
        data={
            "bio": user.bio,
            "image_url": user.image_url or "",
            "time_zone": user.time_zone or "",
        },
    )
    _zone_choices(profile_form)
    password_form = password_form or PasswordForm(formdata=None)
    email_form = email_form or EmailForm(formdata=None)
    failed = bool(profile_form.errors or password_form.errors or email_form.errors)
    body = render_template(
        "accounts/profile.html",
        user=user,
        profile_form=profile_form,
        password_form=password_form,
        email_form=email_form,
    )
    return body, FORM_ERROR_STATUS if failed else 200


def _zone_choices(form: ProfileForm) -> None:
    """Every IANA zone, after "the site's default" (an empty value)."""
    form.time_zone.choices = [
        ("", f"The site's default ({default_time_zone()})"),
        *((name, name) for name in zone_names()),
    ]


@bp.get("/profile")
@login_required
def profile() -> tuple[str, int]:
    """Your account: public profile fields and password."""
    return _profile_page()


@bp.post("/profile")
@login_required
def update_profile() -> Response | tuple[str, int]:
    """Save bio, picture and time zone."""
    form = ProfileForm()
    if form.validate_on_submit():
        try:
            me = _me()
            services.update_profile(
                me,
                me,
                bio=form.bio.data or "",
                image_url=form.image_url.data or "",
                # Absent from older forms: keep the zone (None) rather than reset it ("").
                time_zone=form.time_zone.data if "time_zone" in request.form else None,
            )
        except (Invalid, Conflict) as error:
            apply_errors(form, error)
        else:
            flash("Your profile has been saved.", "success")
            return redirect(url_for("accounts.profile"), code=303)
    return _profile_page(profile_form=form)


@bp.post("/profile/email")
@login_required
def change_email() -> Response | tuple[str, int]:
    """Ask to move the account to a new address: a link goes to it, the old one is told."""
    form = EmailForm()
    if form.validate_on_submit():
        try:
            sent = services.request_email_change(
                _me(), form.email.data or "", form.current_password.data
            )
        except (Invalid, Conflict) as error:
            apply_errors(form, error)
        else:
            if sent:
                flash(
                    f"We have emailed a link to {_me().pending_email}. Your address changes when "
                    f"you open it; until then, keep logging in with {_me().email}.",
                    "info",
                )
            else:
                flash("That is your email address already.", "info")
            return redirect(url_for("accounts.profile"), code=303)
    return _profile_page(email_form=form)


@bp.post("/profile/password")
@login_required
def change_password() -> Response | tuple[str, int]:
    """Change the password; every other login of the account ends."""
    form = PasswordForm()
    if form.validate_on_submit():
        user = _me()
        try:
            services.change_password(user, form.current_password.data, form.new_password.data)
        except Invalid as error:
            apply_errors(form, error, rename={"password": "new_password"})
        else:
            remember_cookie = current_app.config.get("REMEMBER_COOKIE_NAME", "remember_token")
            auth.restart_session(user, remember=remember_cookie in request.cookies)
            flash("Your password has been changed. Other devices have been logged out.", "success")
            return redirect(url_for("accounts.profile"), code=303)
    return _profile_page(password_form=form)
