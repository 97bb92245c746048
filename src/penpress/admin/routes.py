"""Routes of the admin blueprint: comment moderation, the review queue, users and their
approval, invitations, tags, static pages, site settings and the audit log.

Every page needs a login (anonymous visitors go to the login page); what each role may see and
do is checked by the services the views call, never here.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from penpress import outbox
from penpress.accounts import invites, recovery
from penpress.accounts import services as accounts
from penpress.accounts.auth import acting_user
from penpress.accounts.models import ROLE_PERMISSIONS
from penpress.admin import charts
from penpress.admin.forms import (
    ActiveForm,
    AuditFilterForm,
    InviteForm,
    PageForm,
    ReviewNoteForm,
    RoleForm,
    SettingsForm,
    TagMergeForm,
    TagNameForm,
    role_choices,
)
from penpress.audit import services as audit
from penpress.blog import services as blog
from penpress.blog.models import Page
from penpress.blog.services import console, pages, stats
from penpress.errors import Conflict, Forbidden, Invalid, TooLarge
from penpress.extensions import login_manager
from penpress.forms import FORM_ERROR_STATUS, apply_errors
from penpress.http import larger_body, read_upload, safe_next
from penpress.keyset import Position
from penpress.media import services as media
from penpress.media.routes import FORM_ROOM as UPLOAD_FORM_ROOM
from penpress.newsletter import services as newsletter
from penpress.permissions import ROLE_NAMES, Permission, holds, may_grant
from penpress.settings import services as settings
from penpress.timezones import zone_names

bp = Blueprint("admin", __name__)

COMMENTS_PER_PAGE = 20
POSTS_PER_PAGE = 25
BULK_DONE = {
    "publish": "published",
    "unpublish": "unpublished",
    "delete": "deleted",
    "approve": "approved",
    "spam": "marked as spam",
    "not_spam": "back in the moderation queue",
}
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


# What the dashboard counts, how it names each number, and the page that lists them.
STATS = (
    ("posts", "Published posts", None),
    ("drafts", "Drafts", None),
    ("submitted", "Waiting for review", "admin.review"),
    ("comments_waiting", "Comments waiting", "admin.comments"),
    ("users", "Active accounts", "admin.users"),
    ("subscribers", "Newsletter subscribers", "newsletter_admin.subscribers"),
)


@bp.get("/")
def dashboard() -> str:
    """The console's front page: counts and charts, each part for the roles it concerns
    (moderators, editors, administrators; the service decides)."""
    actor = acting_user()
    board = stats.dashboard(actor)
    if holds(actor, Permission.ADMIN):
        board.counts["subscribers"] = newsletter.confirmed_count()
    found: list[tuple[str, charts.Chart]] = []
    zone = f"{board.time_zone} time"  # days and months are the site's time zone's
    if board.posts_per_month is not None:
        chart = charts.columns(
            f"Posts per month ({zone})", board.posts_per_month, tick_every=3, short=_month_name
        )
        found.append(("posts-per-month", chart))
    if board.comments_per_day is not None:
        days = [(day.isoformat(), n) for day, n in board.comments_per_day]
        chart = charts.columns(f"Comments per day ({zone})", days, tick_every=7, short=_day_name)
        found.append(("comments-per-day", chart))
    if board.top_posts is not None:
        top = [(title, n) for title, _slug, n in board.top_posts]
        found.append(("top-posts", charts.rows("Most read posts, last 30 days", top)))
    return render_template("admin/dashboard.html", board=board, stats=STATS, charts=found)


def _month_name(text: str) -> str:
    return date.fromisoformat(text + "-01").strftime("%b %Y")


def _day_name(text: str) -> str:
    return date.fromisoformat(text).strftime("%d %b")


# --- comment moderation ---------------------------------------------------------------------


@bp.get("/comments")
def comments() -> str:
    """The moderation queue: comments waiting for approval, oldest first."""
    post_id = request.args.get("post", type=int)
    page = console.console_comments(
        acting_user(), state="waiting", post_id=post_id, page=_page(), per_page=COMMENTS_PER_PAGE
    )
    return render_template("admin/comments.html", page=page, post_id=post_id)


@bp.get("/comments/approved")
def approved_comments() -> str:
    """Published comments, newest first, searchable by their words and filtered by post."""
    post_id = request.args.get("post", type=int)
    q = request.args.get("q", "")[:100]
    page = console.console_comments(
        acting_user(),
        state="approved",
        post_id=post_id,
        q=q,
        page=_page(),
        per_page=COMMENTS_PER_PAGE,
    )
    return render_template(
        "admin/approved_comments.html", page=page, post_id=post_id, q=q, state="approved"
    )


@bp.get("/comments/spam")
def spam_comments() -> str:
    """Comments marked as spam, newest first, searchable: restore them or delete them for good."""
    post_id = request.args.get("post", type=int)
    q = request.args.get("q", "")[:100]
    page = console.console_comments(
        acting_user(), state="spam", post_id=post_id, q=q, page=_page(), per_page=COMMENTS_PER_PAGE
    )
    return render_template(
        "admin/approved_comments.html", page=page, post_id=post_id, q=q, state="spam"
    )


@bp.post("/comments/bulk")
def bulk_comments() -> Response:
    """Approve, delete, mark as spam or restore from spam the ticked comments."""
    action = request.form.get("action", "")
    n = console.bulk_comments(acting_user(), action, _ticked())
    flash(f"{n} comment{'' if n == 1 else 's'}: {BULK_DONE.get(action, action)}.", "success")
    return redirect(_back_to_queue(), code=303)


def _ticked() -> list[int]:
    """The ids of the ticked rows of a bulk form (anything that is not a number is ignored)."""
    return [int(value) for value in request.form.getlist("ids") if value.isdigit()][:1000]


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
    q = request.args.get("q", "")[:100]
    page = accounts.list_users(actor, _page(), USERS_PER_PAGE, include_inactive=True, q=q)
    return render_template(
        "admin/users.html",
        page=page,
        q=q,
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


@bp.post("/users/<username>/delete")
def delete_user(username: str) -> Response:
    """Delete an account; its posts go to another author (``reassign_to``) or with it."""
    actor = acting_user()
    user = accounts.get_user(actor, username)
    name = user.username
    reassign_to = (request.form.get("reassign_to") or "").strip()[:64] or None
    console.delete_account(actor, user, reassign_to=reassign_to)
    posts = f"its posts now belong to {reassign_to}" if reassign_to else "its posts are deleted"
    flash(f"{name} has been deleted; {posts}.", "success")
    return redirect(url_for("admin.users"), code=303)


@bp.post("/users/<username>/reset")
def send_reset(username: str) -> Response:
    """Email the account a password-reset link."""
    actor = acting_user()
    user = accounts.get_user(actor, username)
    recovery.send_password_reset(actor, user)
    flash(f"A password-reset link is on its way to {user.username}.", "success")
    return redirect(url_for("admin.users", page=_page()), code=303)


# --- posts ------------------------------------------------------------------------------------


@bp.get("/posts")
def posts() -> str:
    """Every post, drafts included, filtered by status, author and tag, with bulk publish,
    unpublish and delete."""
    status = request.args.get("status") or None
    filters = console.ConsolePostFilter(
        status=status,
        author=(request.args.get("author") or "")[:64] or None,
        tag=(request.args.get("tag") or "")[:64] or None,
    )
    page = console.console_posts(acting_user(), filters, page=_page(), per_page=POSTS_PER_PAGE)
    query = {key: value for key, value in request.args.items() if key != "page" and value}
    return render_template(
        "admin/posts.html",
        page=page,
        filters=filters,
        statuses=console.POST_STATUSES,
        query=query,
    )


@bp.post("/posts/bulk")
def bulk_posts() -> Response:
    """Publish, unpublish or delete the ticked posts."""
    action = request.form.get("action", "")
    n = console.bulk_posts(acting_user(), action, _ticked())
    flash(f"{n} post{'' if n == 1 else 's'}: {BULK_DONE.get(action, action)}.", "success")
    target = safe_next(request.form.get("next"))
    return redirect(target or url_for("admin.posts"), code=303)


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
    page = blog.manage_tags(acting_user(), _page(), TAGS_PER_PAGE)
    return render_template("admin/tags.html", page=page)


@bp.post("/tags/<slug>/rename")
def rename_tag(slug: str) -> Response:
    """Rename a tag on every post that has it."""
    form = TagNameForm()
    if not form.validate_on_submit():
        raise _invalid(form)
    tag = blog.rename_tag(acting_user(), slug, form.name.data or "")
    flash(f"The tag is now called {tag.name}.", "success")
    return redirect(url_for("admin.tags", page=_page()), code=303)


@bp.post("/tags/<slug>/merge")
def merge_tag(slug: str) -> Response:
    """Merge a tag into another: its posts get the other tag, and it is deleted."""
    form = TagMergeForm()
    if not form.validate_on_submit():
        raise _invalid(form)
    target = blog.merge_tags(acting_user(), slug, form.into.data or "")
    flash(f"Merged into {target.name}.", "success")
    return redirect(url_for("admin.tags", page=_page()), code=303)


@bp.post("/tags/<slug>/delete")
def delete_tag(slug: str) -> Response:
    """Take a tag off every post and delete it."""
    blog.delete_tag(acting_user(), slug)
    flash("Tag deleted.", "success")
    return redirect(url_for("admin.tags", page=_page()), code=303)


# --- site settings ----------------------------------------------------------------------------


# Settings the form's text fields carry as they are; the service checks each.
_TEXT_SETTINGS = (
    settings.SITE_TITLE,
    settings.SITE_DESCRIPTION,
    settings.ACCENT_COLOR,
    settings.NAV_LINKS,
    settings.FOOTER_TEXT,
    settings.POSTS_PER_PAGE,
    settings.LANGUAGE,
    settings.COMMENTS_MODE,
    settings.DEFAULT_TIME_ZONE,
)
_IMAGE_SETTINGS = {settings.LOGO: "remove_logo", settings.FAVICON: "remove_favicon"}


@bp.route("/settings", methods=["GET", "POST"])
@larger_body("MEDIA_MAX_BYTES", extra=2 * UPLOAD_FORM_ROOM)  # a logo and a favicon at most
def site_settings() -> Response | tuple[str, int]:
    """Every site setting (those an environment variable fixes are shown, not editable), and
    how background jobs (emails) fare: those given up on need a look at the logs.

    A refused value comes back on the form with its message and everything else typed (422);
    nothing is saved then. Images are uploaded only once the other values are accepted.
    """
    actor = acting_user()
    current = settings.editable_settings(actor)
    locked = settings.locked_by_environment()
    # On a POST the form reads the request (an unchecked box is absent: it means "off").
    form = SettingsForm() if request.method == "POST" else SettingsForm(data=current)
    form.default_time_zone.choices = [(name, name) for name in zone_names()]
    if form.validate_on_submit():
        # A field the browser did not send at all stays as it is (an unticked box is absent
        # too, and means "off").
        changes: dict[str, object] = {
            key: form[key].data for key in _TEXT_SETTINGS if form[key].raw_data
        }
        changes[settings.REQUIRE_CONFIRMED_EMAIL] = bool(form.require_confirmed_email.data)
        # A choice the browser did not send (fixed by the environment) stays as it is.
        for key in (settings.REGISTRATION, settings.DEFAULT_ROLE):
            if form[key].raw_data and key not in locked:
                changes[key] = form[key].data or ""
        try:
            settings.check_settings(changes)
            for key, remove in _IMAGE_SETTINGS.items():
                if request.files.get(key) and request.files[key].filename:
                    changes[key] = _upload(key)
                elif form[remove].data:
                    changes[key] = ""
            settings.update_settings(actor, changes)
        except Invalid as error:
            apply_errors(form, error)
        else:
            flash("Settings saved.", "success")
            return redirect(url_for("admin.site_settings"), code=303)
    for key in locked:  # show what the environment says, not what the browser sent
        form[key].data = current[key]
    for key in _TEXT_SETTINGS:  # and the saved value of a field the browser did not send
        if not form[key].raw_data:
            form[key].data = current[key]
    body = render_template(
        "admin/settings.html", form=form, locked=locked, current=current, jobs=outbox.counts()
    )
    return body, FORM_ERROR_STATUS if form.errors else 200


def _upload(key: str) -> str:
    """Upload the image sent in the field ``key`` (checked and re-encoded like every upload);
    its stored name, or a 422 naming ``key``."""
    data, filename = read_upload(key, media.max_upload_bytes())
    try:
        return media.upload_image(acting_user(), data, filename).name
    except (Invalid, TooLarge) as refused:
        messages = [m for found in refused.details.values() for m in found] or [refused.message]
        raise Invalid("Please correct the highlighted settings.", {key: messages}) from None


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
            created = pages.create_page(actor, slug=form.slug.data or None, **_page_fields(form))
        except Invalid as error:
            apply_errors(form, error)
        else:
            flash(f"Page “{created.title}” saved.", "success")
            return redirect(url_for("main.page", page_slug=created.slug), code=303)
    return _page_form_page(form, None)


def _page_fields(form: PageForm) -> dict[str, Any]:
    """The page form's values but the address, as the page services take them."""
    return {
        "title": form.title.data or "",
        "body": form.body.data or "",
        "published": bool(form.published.data),
        "show_in_nav": bool(form.show_in_nav.data),
        "nav_order": form.nav_order.data or 0,
    }


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
            # An emptied address is refused by the service (a page keeps one).
            pages.update_page(actor, found, slug=form.slug.data or "", **_page_fields(form))
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


# --- the audit log ----------------------------------------------------------------------------


def _day_start(day: date | None, *, next_day: bool = False) -> datetime | None:
    """Midnight UTC at the start of ``day`` (or of the day after it)."""
    if day is None:
        return None
    return datetime.combine(day, time(), tzinfo=UTC) + (
        timedelta(days=1) if next_day else timedelta()
    )


@bp.get("/audit")
def audit_log() -> tuple[str, int]:
    """What administrators, editors and moderators did, newest first, with search and filters;
    a page at a time by cursor (``after``), so deep pages cost what the first one does."""
    actor = acting_user()
    form = AuditFilterForm(formdata=request.args)
    page: audit.AuditPage | None = None
    if form.validate():
        filters = audit.AuditFilter(
            actor=form.actor.data or None,
            action=form.action.data or None,
            object_type=form.object_type.data or None,
            object_id=request.args.get("object_id") or None,
            text=form.q.data or None,
            since=_day_start(form.since.data),
            until=_day_start(form.until.data, next_day=True),
        )
        try:
            after = Position.decode(request.args.get("after"))
            page = audit.entries(actor, filters, after=after)
        except Invalid as error:
            apply_errors(form, error)
    else:
        audit.entries(actor, audit.AuditFilter(), limit=1)  # the log's own check: 403 first
    query = {key: value for key, value in request.args.items() if key != "after" and value}
    body = render_template(
        "admin/audit.html", form=form, page=page, query=query, actions=audit.ACTIONS
    )
    return body, FORM_ERROR_STATUS if form.errors else 200
