"""Pages behind the links we email: confirm an address, reset a forgotten password, move an
account to a new address.

Mounted at ``/auth`` next to the login pages. Pages that are not part of this blueprint are
linked by their public paths (stable, see the README), so this module does not depend on their
endpoints.
"""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request
from flask.typing import ResponseReturnValue

from penpress.accounts import recovery
from penpress.accounts.auth import acting_user, log_in
from penpress.accounts.recovery_forms import ChangeEmailForm, ResetPasswordForm, ResetRequestForm
from penpress.errors import Conflict, DomainError, Invalid
from penpress.http import safe_next
from penpress.ratelimits import rate_limit

bp = Blueprint("recovery", __name__)

RESET_REQUESTED = (
    "If an account uses that address, we have emailed it a link to choose a new password. "
    "Check your inbox (and spam folder) in a minute."
)


def _site_path(path: str) -> str:
    """A public path of the site (``/``, ``/auth/login``) under this app's root."""
    return request.script_root + path


def _invalid_link(error: DomainError, again_path: str, again_label: str) -> ResponseReturnValue:
    return (
        render_template(
            "recovery/invalid_link.html",
            message=error.message,
            again_url=_site_path(again_path),
            again_label=again_label,
        ),
        400,
    )


@bp.get("/confirm/<token>")
def confirm_email(token: str) -> ResponseReturnValue:
    """Confirm the address a confirmation link was sent to."""
    try:
        recovery.confirm_email_with_token(token)
    except Invalid as error:
        if acting_user() is not None:
            return _invalid_link(error, "/auth/profile", "Go to your profile to get a new link")
        return _invalid_link(error, "/auth/login", "Log in to get a new link")
    flash("Thank you: your email address is confirmed.", "success")
    return redirect(_site_path("/"))


@bp.post("/confirm/resend")
@rate_limit("RATELIMIT_EMAIL")
def resend_confirmation() -> ResponseReturnValue:
    """Email a logged-in, unconfirmed user a fresh confirmation link (CSRF-checked globally),
    then go back to the page the button was on (``next``, a path on this site) or the profile."""
    user = acting_user()
    if recovery.resend_confirmation(user):
        assert user is not None  # the service refused anonymous visitors
        flash(f"We have sent a new confirmation link to {user.email}.", "info")
    else:
        flash("Your email address is already confirmed.", "info")
    return redirect(safe_next(request.form.get("next")) or _site_path("/auth/profile"))


@bp.route("/reset", methods=["GET", "POST"])
@rate_limit("RATELIMIT_EMAIL", methods=["POST"])
def request_reset() -> ResponseReturnValue:
    """Ask for a password reset link; the answer never tells whether the address is known."""
    form = ResetRequestForm()
    if form.validate_on_submit():
        recovery.request_password_reset(form.email.data or "")
        flash(RESET_REQUESTED, "info")
        return redirect(request.path)
    status = 422 if request.method == "POST" else 200
    return render_template("recovery/request_reset.html", form=form), status


@bp.route("/reset/<token>", methods=["GET", "POST"])
def reset_password(token: str) -> ResponseReturnValue:
    """Choose a new password through a reset link; it works once."""
    try:
        user = recovery.check_reset_token(token)
    except Invalid as error:
        return _invalid_link(error, "/auth/reset", "Ask for a new link")
    form = ResetPasswordForm()
    if form.validate_on_submit():
        try:
            user = recovery.reset_password_with_token(token, form.password.data or "")
        except Invalid as error:
            if "token" in error.details:
                return _invalid_link(error, "/auth/reset", "Ask for a new link")
            form.password.errors = [*form.password.errors, error.message]
        else:
            log_in(user)
            flash("Your password has been changed, and you are logged in.", "success")
            return redirect(_site_path("/"))
    status = 422 if request.method == "POST" else 200
    return render_template("recovery/reset_password.html", form=form, user=user), status


@bp.route("/email-change/<token>", methods=["GET", "POST"])
def change_email(token: str) -> ResponseReturnValue:
    """Make the address this link was sent to the account's address: the page shows it, its
    button makes the change. The link works once."""
    again = "/auth/profile", "Ask for the change again on your profile"
    try:
        user = recovery.check_email_change_token(token)
    except Invalid as error:
        return _invalid_link(error, *again)
    form = ChangeEmailForm()
    if form.validate_on_submit():
        try:
            user = recovery.change_email_with_token(token)
        except (Invalid, Conflict) as error:
            return _invalid_link(error, *again)
        flash(f"Your email address is now {user.email}.", "success")
        return redirect(_site_path("/auth/profile" if acting_user() else "/auth/login"), code=303)
    status = 422 if request.method == "POST" else 200
    return render_template("recovery/change_email.html", form=form, user=user), status
