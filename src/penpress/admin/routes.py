"""Routes of the admin blueprint: comment moderation, user management, static pages and site
settings.

Every page needs a login (anonymous visitors go to the login page); what each role may see and
do is checked by the services the views call, never here.
"""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from penpress import outbox
from penpress.accounts import services as accounts
from penpress.accounts.auth import acting_user
from penpress.accounts.models import ROLE_PERMISSIONS
from penpress.admin.forms import ActiveForm, PageForm, RoleForm, SettingsForm
from penpress.blog import services as blog
from penpress.blog.models import Page
from penpress.blog.services import pages
from penpress.errors import Invalid
from penpress.extensions import login_manager
from penpress.forms import apply_errors
from penpress.http import safe_next
from penpress.permissions import Permission, holds
from penpress.settings import services as settings
from penpress.timezones import zone_names

bp = Blueprint("admin", __name__)

COMMENTS_PER_PAGE = 20
USERS_PER_PAGE = 50


@bp.before_request
def require_login() -> Response | None:
    """Every admin page needs a login; anonymous visitors go to the login page."""
    if acting_user() is None:
        response: Response = login_manager.unauthorized()
        return response
    return None


def _page() -> int:
    # The services keep any page number within what the database accepts.
    return request.args.get("page", 1, type=int) or 1


def _invalid(form: RoleForm | ActiveForm) -> Invalid:
    details = {name: list(messages) for name, messages in form.errors.items() if name}
    return Invalid("Please correct the highlighted fields.", details)


@bp.get("/")
def dashboard() -> Response:
    """The admin area's front door: users for admins, the moderation queue for moderators."""
    actor = acting_user()
    if holds(actor, Permission.ADMIN):
        return redirect(url_for("admin.users"))
    blog.pending_comments(actor, per_page=1)  # the queue's own check: 403 for the others
    return redirect(url_for("admin.comments"))


# --- comment moderation ---------------------------------------------------------------------


@bp.get("/comments")
def comments() -> str:
    """The moderation queue: comments waiting for approval, oldest first."""
    page = blog.pending_comments(acting_user(), page=_page(), per_page=COMMENTS_PER_PAGE)
    return render_template("admin/comments.html", page=page)


def _back_to_queue() -> str:
    """The ``next`` form value when it is a path on this site (e.g. the post page the button
    was on), else the moderation queue's page."""
    target = safe_next(request.form.get("next"))
    return target or url_for("admin.comments", page=_page())


@bp.post("/comments/<int:comment_id>/approve")
def approve_comment(comment_id: int) -> Response:
    """Publish a pending comment."""
    blog.approve_comment_by_id(acting_user(), comment_id)
    flash("Comment approved.", "success")
    return redirect(_back_to_queue(), code=303)


@bp.post("/comments/<int:comment_id>/delete")
def delete_comment(comment_id: int) -> Response:
    """Remove a comment for good."""
    blog.reject_comment(acting_user(), comment_id)
    flash("Comment deleted.", "success")
    return redirect(_back_to_queue(), code=303)


# --- users ------------------------------------------------------------------------------------


@bp.get("/users")
def users() -> str:
    """Every account, with its role and whether it may log in."""
    actor = acting_user()
    page = accounts.list_users(actor, _page(), USERS_PER_PAGE, include_inactive=True)
    return render_template("admin/users.html", page=page, roles=list(ROLE_PERMISSIONS), actor=actor)


@bp.post("/users/<username>/role")
def set_role(username: str) -> Response:
    """Give an account another role."""
    actor = acting_user()
    user = accounts.get_user(actor, username)
    form = RoleForm()
    if not form.validate_on_submit():
        raise _invalid(form)
    accounts.set_role(actor, user, form.role.data)
    flash(f"{user.username} is now {form.role.data}.", "success")
    return redirect(url_for("admin.users", page=_page()), code=303)


@bp.post("/users/<username>/active")
def set_active(username: str) -> Response:
    """Deactivate an account (its sessions end at once) or reactivate it."""
    actor = acting_user()
    user = accounts.get_user(actor, username)
    form = ActiveForm()
    if not form.validate_on_submit():
        raise _invalid(form)
    active = form.active.data == "1"
    accounts.set_active(actor, user, active)
    state = "reactivated" if active else "deactivated and logged out everywhere"
    flash(f"{user.username} has been {state}.", "success")
    return redirect(url_for("admin.users", page=_page()), code=303)


# --- site settings ----------------------------------------------------------------------------


@bp.route("/settings", methods=["GET", "POST"])
def site_settings() -> Response | tuple[str, int]:
    """Site-wide switches an admin can change without a restart, and how background jobs
    (emails) fare: those given up on need a look at the logs."""
    actor = acting_user()
    current = settings.editable_settings(actor)  # administrators only
    # On a POST the form reads the request (an unchecked box is absent: it means "off").
    form = SettingsForm() if request.method == "POST" else SettingsForm(data=current)
    form.default_time_zone.choices = [(name, name) for name in zone_names()]
    status = 200
    if form.validate_on_submit():
        try:
            settings.set_comments_require_approval(actor, bool(form.comments_require_approval.data))
            if form.default_time_zone.data:
                settings.set_default_time_zone(actor, form.default_time_zone.data)
        except Invalid as error:
            apply_errors(form, error)
            status = 422
        else:
            flash("Settings saved.", "success")
            return redirect(url_for("admin.site_settings"), code=303)
    return render_template("admin/settings.html", form=form, jobs=outbox.counts()), status


# --- static pages -----------------------------------------------------------------------------


@bp.get("/pages")
def pages_list() -> str:
    """Every static page, drafts too, in navigation order (those who manage pages)."""
    return render_template("admin/pages.html", pages=pages.list_pages(acting_user()))


def _page_form_page(form: PageForm, page: Page | None) -> tuple[str, int]:
    status = 422 if form.is_submitted() else 200
    return render_template("admin/page_form.html", form=form, page=page), status


@bp.route("/pages/new", methods=["GET", "POST"])
def new_page() -> Response | tuple[str, int]:
    """Write a static page. ``?slug=about`` starts from the built-in About text."""
    actor = acting_user()
    pages.list_pages(actor)  # the service's own check: 403 for those who may not
    if request.method == "GET" and request.args.get("slug") == pages.ABOUT_SLUG:
        form = PageForm(
            formdata=None,
            data={
                "title": pages.ABOUT_TITLE,
                "slug": pages.ABOUT_SLUG,
                "body": pages.ABOUT_BODY,
                "published": True,
            },
        )
    else:
        form = PageForm()
    if form.validate_on_submit():
        try:
            created = pages.create_page(
                actor,
                title=form.title.data or "",
                body=form.body.data or "",
                slug=form.slug.data or None,
                published=bool(form.published.data),
                show_in_nav=bool(form.show_in_nav.data),
                nav_order=form.nav_order.data or 0,
            )
        except Invalid as error:
            apply_errors(form, error)
        else:
            flash(f"Page “{created.title}” saved.", "success")
            return redirect(url_for("main.page", page_slug=created.slug), code=303)
    return _page_form_page(form, None)


@bp.route("/pages/<int:id>/edit", methods=["GET", "POST"])
def edit_page(id: int) -> Response | tuple[str, int]:
    """Change a static page (those who manage pages)."""
    actor = acting_user()
    found = pages.get_page_to_edit(actor, id)
    form = PageForm(
        data={
            "title": found.title,
            "slug": found.slug,
            "body": found.body,
            "published": found.published,
            "show_in_nav": found.show_in_nav,
            "nav_order": found.nav_order,
        }
    )
    if form.validate_on_submit():
        try:
            pages.update_page(
                actor,
                found,
                title=form.title.data or "",
                body=form.body.data or "",
                slug=form.slug.data or "",
                published=bool(form.published.data),
                show_in_nav=bool(form.show_in_nav.data),
                nav_order=form.nav_order.data or 0,
            )
        except Invalid as error:
            apply_errors(form, error)
        else:
            flash(f"Page “{found.title}” saved.", "success")
            return redirect(url_for("main.page", page_slug=found.slug), code=303)
    return _page_form_page(form, found)


@bp.post("/pages/<int:id>/delete")
def delete_page(id: int) -> Response:
    """Delete a static page for good (those who manage pages)."""
    actor = acting_user()
    found = pages.get_page_to_edit(actor, id)
    title = found.title
    pages.delete_page(actor, found)
    flash(f"Page “{title}” deleted.", "success")
    return redirect(url_for("admin.pages_list"), code=303)
