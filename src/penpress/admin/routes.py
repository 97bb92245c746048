"""Routes of the admin blueprint: comment moderation, the review queue, users and their
approval, invitations, tags, static pages and site settings.

Every page needs a login (anonymous visitors go to the login page); what each role may see and
do is checked by the services the views call, never here.
"""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from penpress import outbox
from penpress.accounts import invites
from penpress.accounts import services as accounts
from penpress.accounts.auth import acting_user
from penpress.accounts.models import ROLE_PERMISSIONS
from penpress.admin.forms import (
    ActiveForm,
    InviteForm,
    PageForm,
    ReviewNoteForm,
    RoleForm,
    SettingsForm,
    TagNameForm,
    role_choices,
)
from penpress.blog import services as blog
from penpress.blog.models import Page
from penpress.blog.services import pages
from penpress.errors import Conflict, Forbidden, Invalid
from penpress.extensions import login_manager
from penpress.forms import FORM_ERROR_STATUS, apply_errors
from penpress.http import safe_next
from penpress.permissions import ROLE_NAMES, Permission, holds, may_grant
from penpress.settings import services as settings
from penpress.timezones import zone_names

bp = Blueprint("admin", __name__)

COMMENTS_PER_PAGE = 20
USERS_PER_PAGE = 50
INVITES_PER_PAGE = 50
REVIEW_PER_PAGE = 20
TAGS_PER_PAGE = 100


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


def _invalid(form: RoleForm | ActiveForm | TagNameForm | ReviewNoteForm) -> Invalid:
    details = {name: list(messages) for name, messages in form.errors.items() if name}
    return Invalid("Please correct the highlighted fields.", details)


@bp.get("/")
def dashboard() -> Response:
    """The admin area's front door: users for admins, the review queue for editors, the
    moderation queue for moderators."""
    actor = acting_user()
    if holds(actor, Permission.ADMIN):
        return redirect(url_for("admin.users"))
    if holds(actor, Permission.EDIT_ANY_POST):
        return redirect(url_for("admin.review"))
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


# --- the review queue -------------------------------------------------------------------------


@bp.get("/review")
def review() -> str:
    """Posts submitted for review, oldest first, with Publish, Send back and Reject."""
    page = blog.review_queue(acting_user(), page=_page(), per_page=REVIEW_PER_PAGE)
    return render_template("admin/review.html", page=page, form=ReviewNoteForm(formdata=None))


def _back_to_review() -> Response:
    return redirect(url_for("admin.review", page=_page()), code=303)


@bp.post("/review/<int:post_id>/publish")
def publish_submission(post_id: int) -> Response:
    """Publish a submitted post; its writer is emailed."""
    post = blog.publish_submission(acting_user(), post_id)
    flash(f"“{post.title}” is published.", "success")
    return _back_to_review()


@bp.post("/review/<int:post_id>/return")
def return_submission(post_id: int) -> Response:
    """Send a submitted post back to its writer with a note."""
    form = ReviewNoteForm()
    if not form.validate_on_submit():
        raise _invalid(form)
    post = blog.return_submission(acting_user(), post_id, form.note.data or "")
    flash(f"“{post.title}” was sent back to {post.author.username}.", "success")
    return _back_to_review()


@bp.post("/review/<int:post_id>/reject")
def reject_submission(post_id: int) -> Response:
    """Turn a submitted post down, with an optional note."""
    form = ReviewNoteForm()
    if not form.validate_on_submit():
        raise _invalid(form)
    post = blog.reject_submission(acting_user(), post_id, form.note.data)
    flash(f"“{post.title}” was rejected.", "success")
    return _back_to_review()


# --- users ------------------------------------------------------------------------------------


@bp.get("/users")
def users() -> str:
    """Every account, with its role and whether it may log in; accounts waiting for
    approval first."""
    actor = acting_user()
    page = accounts.list_users(actor, _page(), USERS_PER_PAGE, include_inactive=True)
    return render_template(
        "admin/users.html",
        page=page,
        pending=accounts.pending_users(actor),
        roles=list(ROLE_PERMISSIONS),
        actor=actor,
    )


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


@bp.post("/users/<username>/approve")
def approve_user(username: str) -> Response:
    """Let an account waiting for approval in; it is emailed."""
    actor = acting_user()
    user = accounts.approve_user(actor, accounts.get_user(actor, username))
    flash(f"{user.username} has been approved and can log in now.", "success")
    return redirect(url_for("admin.users", page=_page()), code=303)


@bp.post("/users/<username>/reject")
def reject_user(username: str) -> Response:
    """Turn down an account waiting for approval: it is deleted."""
    actor = acting_user()
    user = accounts.get_user(actor, username)
    name = user.username
    accounts.reject_user(actor, user)
    flash(f"{name} has been turned down; the account is deleted.", "success")
    return redirect(url_for("admin.users", page=_page()), code=303)


# --- invitations ------------------------------------------------------------------------------


@bp.route("/invites", methods=["GET", "POST"])
def invitations() -> Response | tuple[str, int]:
    """Invite someone by email with a role, and the invitations still waiting (withdrawable)."""
    actor = acting_user()
    form = InviteForm()
    if actor is not None:  # offer the roles this inviter may hand out (the service decides)
        granter = Permission(actor.role.permissions)
        form.role.choices = role_choices(n for n in ROLE_NAMES if may_grant(granter, n))
    status = 200
    if form.validate_on_submit():
        try:
            invite = invites.create_invite(actor, form.email.data or "", form.role.data or "")
        except (Invalid, Conflict) as error:
            apply_errors(form, error)
        except Forbidden as error:
            if not error.details:
                raise  # not allowed to invite at all: the error page
            apply_errors(form, error)
            status = error.status
        else:
            flash(f"Invitation sent to {invite.email} ({invite.role.name}).", "success")
            return redirect(url_for("admin.invitations"), code=303)
    page = invites.pending_invites(actor, _page(), INVITES_PER_PAGE)
    if form.errors and status == 200:
        status = FORM_ERROR_STATUS
    body = render_template(
        "admin/invites.html",
        form=form,
        page=page,
        actor=actor,
        closed=settings.registration_policy() == "closed",
    )
    return body, status


@bp.post("/invites/<int:invite_id>/revoke")
def revoke_invite(invite_id: int) -> Response:
    """Withdraw a pending invitation: its link stops working."""
    invite = invites.revoke_invite(acting_user(), invite_id)
    flash(f"The invitation to {invite.email} has been withdrawn.", "success")
    return redirect(url_for("admin.invitations", page=_page()), code=303)


# --- tags -------------------------------------------------------------------------------------


@bp.get("/tags")
def tags() -> str:
    """Every tag with its published posts, to rename or delete."""
    page, counts = blog.manage_tags(acting_user(), _page(), TAGS_PER_PAGE)
    return render_template("admin/tags.html", page=page, counts=counts)


@bp.post("/tags/<slug>/rename")
def rename_tag(slug: str) -> Response:
    """Rename a tag on every post that has it."""
    form = TagNameForm()
    if not form.validate_on_submit():
        raise _invalid(form)
    tag = blog.rename_tag(acting_user(), slug, form.name.data or "")
    flash(f"The tag is now called {tag.name}.", "success")
    return redirect(url_for("admin.tags", page=_page()), code=303)


@bp.post("/tags/<slug>/delete")
def delete_tag(slug: str) -> Response:
    """Take a tag off every post and delete it."""
    blog.delete_tag(acting_user(), slug)
    flash("Tag deleted.", "success")
    return redirect(url_for("admin.tags", page=_page()), code=303)


# --- site settings ----------------------------------------------------------------------------


@bp.route("/settings", methods=["GET", "POST"])
def site_settings() -> Response | tuple[str, int]:
    """Site-wide switches an admin can change without a restart (those an environment
    variable fixes are shown, not editable), and how background jobs (emails) fare: those
    given up on need a look at the logs."""
    actor = acting_user()
    current = settings.editable_settings(actor)
    locked = settings.locked_by_environment()
    # On a POST the form reads the request (an unchecked box is absent: it means "off").
    form = SettingsForm() if request.method == "POST" else SettingsForm(data=current)
    form.default_time_zone.choices = [(name, name) for name in zone_names()]
    if form.validate_on_submit():
        try:
            settings.set_comments_require_approval(actor, bool(form.comments_require_approval.data))
            settings.set_email_confirmation_required(actor, bool(form.require_confirmed_email.data))
            # A choice the browser did not send (fixed by the environment) stays as it is.
            if form.registration.raw_data and settings.REGISTRATION not in locked:
                settings.set_registration_policy(actor, form.registration.data or "")
            if form.default_role.raw_data and settings.DEFAULT_ROLE not in locked:
                settings.set_default_role(actor, form.default_role.data or "")
            if form.default_time_zone.data:
                settings.set_default_time_zone(actor, form.default_time_zone.data)
        except Invalid as error:
            apply_errors(form, error)
        else:
            flash("Settings saved.", "success")
            return redirect(url_for("admin.site_settings"), code=303)
    for key in locked:  # show what the environment says, not what the browser sent
        form[key].data = current[key]
    body = render_template("admin/settings.html", form=form, locked=locked, jobs=outbox.counts())
    return body, FORM_ERROR_STATUS if form.errors else 200


# --- static pages -----------------------------------------------------------------------------


@bp.get("/pages")
def pages_list() -> str:
    """Every static page, drafts too, in navigation order (those who manage pages)."""
    return render_template("admin/pages.html", pages=pages.list_pages(acting_user()))


def _page_form_page(form: PageForm, page: Page | None) -> tuple[str, int]:
    status = FORM_ERROR_STATUS if form.is_submitted() else 200
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
