"""Routes of the admin blueprint: comment moderation, user management and site settings."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from penpress.accounts import services as accounts
from penpress.accounts.models import ROLE_PERMISSIONS, Permission, User
from penpress.accounts.routes import safe_next
from penpress.admin import services as settings
from penpress.admin.forms import ActiveForm, RoleForm, SettingsForm
from penpress.blog import services as blog
from penpress.errors import Invalid
from penpress.extensions import login_manager

bp = Blueprint("admin", __name__)

COMMENTS_PER_PAGE = 20
USERS_PER_PAGE = 50


@bp.before_request
def require_login() -> Response | None:
    """Every admin page needs a login; anonymous visitors go to the login page."""
    if not current_user.is_authenticated:
        response: Response = login_manager.unauthorized()
        return response
    return None


def _actor(permission: Permission) -> User:
    """The logged-in user if they hold ``permission``; 403 otherwise."""
    return accounts.require(current_user._get_current_object(), permission)


def _page() -> int:
    # The services keep any page number within what the database accepts.
    return request.args.get("page", 1, type=int) or 1


def _invalid(form: RoleForm | ActiveForm) -> Invalid:
    details = {name: list(messages) for name, messages in form.errors.items() if name}
    return Invalid("Please correct the highlighted fields.", details)


@bp.get("/")
def dashboard() -> Response:
    """The admin area's front door: users for admins, the moderation queue for moderators."""
    actor = _actor(Permission.MODERATE)
    return redirect(url_for("admin.users" if actor.is_admin else "admin.comments"))


# --- comment moderation ---------------------------------------------------------------------


@bp.get("/comments")
def comments() -> str:
    """The moderation queue: comments waiting for approval, oldest first."""
    _actor(Permission.MODERATE)
    page = blog.pending_comments(page=_page(), per_page=COMMENTS_PER_PAGE)
    return render_template("admin/comments.html", page=page)


def _back_to_queue() -> str:
    """The ``next`` form value when it is a path on this site (e.g. the post page the button
    was on), else the moderation queue's page."""
    target = safe_next(request.form.get("next"))
    return target or url_for("admin.comments", page=_page())


@bp.post("/comments/<int:comment_id>/approve")
def approve_comment(comment_id: int) -> Response:
    """Publish a pending comment."""
    actor = _actor(Permission.MODERATE)
    blog.approve_comment(blog.get_comment(comment_id), actor)
    flash("Comment approved.", "success")
    return redirect(_back_to_queue(), code=303)


@bp.post("/comments/<int:comment_id>/delete")
def delete_comment(comment_id: int) -> Response:
    """Remove a comment for good."""
    actor = _actor(Permission.MODERATE)
    blog.delete_comment(blog.get_comment(comment_id), actor)
    flash("Comment deleted.", "success")
    return redirect(_back_to_queue(), code=303)


# --- users ------------------------------------------------------------------------------------


@bp.get("/users")
def users() -> str:
    """Every account, with its role and whether it may log in."""
    actor = _actor(Permission.ADMIN)
    page = accounts.list_users(_page(), USERS_PER_PAGE, include_inactive=True)
    return render_template("admin/users.html", page=page, roles=list(ROLE_PERMISSIONS), actor=actor)


@bp.post("/users/<username>/role")
def set_role(username: str) -> Response:
    """Give an account another role."""
    actor = _actor(Permission.ADMIN)
    user = accounts.get_user(username)
    form = RoleForm()
    if not form.validate_on_submit():
        raise _invalid(form)
    accounts.set_role(user, form.role.data, actor)
    flash(f"{user.username} is now {form.role.data}.", "success")
    return redirect(url_for("admin.users", page=_page()), code=303)


@bp.post("/users/<username>/active")
def set_active(username: str) -> Response:
    """Deactivate an account (its sessions end at once) or reactivate it."""
    actor = _actor(Permission.ADMIN)
    user = accounts.get_user(username)
    form = ActiveForm()
    if not form.validate_on_submit():
        raise _invalid(form)
    active = form.active.data == "1"
    accounts.set_active(user, active, actor)
    state = "reactivated" if active else "deactivated and logged out everywhere"
    flash(f"{user.username} has been {state}.", "success")
    return redirect(url_for("admin.users", page=_page()), code=303)


# --- site settings ----------------------------------------------------------------------------


@bp.route("/settings", methods=["GET", "POST"])
def site_settings() -> Response | str:
    """Site-wide switches an admin can change without a restart."""
    actor = _actor(Permission.ADMIN)
    if request.method == "POST":
        form = SettingsForm()  # an unchecked box is absent from the POST: it means "off"
    else:
        form = SettingsForm(
            data={"comments_require_approval": settings.comments_require_approval()}
        )
    if form.validate_on_submit():
        settings.set_comments_require_approval(bool(form.comments_require_approval.data), actor)
        flash("Settings saved.", "success")
        return redirect(url_for("admin.site_settings"), code=303)
    return render_template("admin/settings.html", form=form)
