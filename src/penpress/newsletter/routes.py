"""Pages of the newsletter: subscribing (the form in every page's footer, a page of its own),
the emailed links (confirm, unsubscribe with RFC 8058's one-click POST), the editor's "Email
this post to subscribers" option, and the owner's view under ``/admin/subscribers``.

Three views take POSTs without the session's CSRF token, each on purpose: subscribing (it only
ever emails a confirmation link, and the anonymous form must not carry a per-visitor token so
that cached pages are the same for everyone), and the confirm and unsubscribe links (the
signed token in the URL is the proof; RFC 8058 requires the one-click POST to work without
cookies). See docs/newsletter.md.
"""

from __future__ import annotations

from typing import Any

from flask import (
    Blueprint,
    Flask,
    Response,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue

from penpress.accounts.auth import acting_user
from penpress.accounts.models import User
from penpress.blog.models import Post
from penpress.blog.signals import post_saved
from penpress.errors import Invalid
from penpress.extensions import csrf, login_manager
from penpress.forms import FORM_ERROR_STATUS, apply_errors
from penpress.http import safe_next
from penpress.newsletter import sending, services
from penpress.newsletter.forms import ImportForm, SubscribeForm
from penpress.newsletter.models import CONFIRMED, STATUSES, WAITING
from penpress.ratelimits import rate_limit

bp = Blueprint("newsletter", __name__)
admin_bp = Blueprint("newsletter_admin", __name__)

# The editor's checkbox, and the hidden field saying the form showed it (a form without it,
# from a script or an older page, leaves the choice as it was).
EMAIL_FIELD = "email_subscribers"
OPTION_FIELD = "newsletter_option"
ONE_CLICK = "One-Click"  # RFC 8058: the body of the POST is List-Unsubscribe=One-Click
SUBSCRIBERS_PER_PAGE = 50


def init_app(app: Flask) -> None:
    """Register the pages, take the three token-free POSTs out of CSRF protection, and let the
    editor offer the newsletter option."""
    app.register_blueprint(bp, url_prefix="/newsletter")
    app.register_blueprint(admin_bp, url_prefix="/admin/subscribers")
    for view in (subscribe, confirm, unsubscribe):
        csrf.exempt(view)
    app.add_template_global(_editor_option, "newsletter_editor_option")
    post_saved.connect(_editor_saved)


def _back(default: str) -> str:
    return safe_next(request.args.get("next") or request.form.get("next")) or default


def _login_first() -> ResponseReturnValue:
    flash(login_manager.login_message, login_manager.login_message_category)
    return redirect(url_for(login_manager.login_view, next=url_for("newsletter.index")))


# --- subscribing --------------------------------------------------------------------------


def _index(form: SubscribeForm, status: int = 200) -> ResponseReturnValue:
    reader = acting_user()
    mine = services.account_subscription(reader) if reader is not None else None
    return render_template("newsletter/index.html", form=form, mine=mine), status


@bp.get("/")
def index() -> ResponseReturnValue:
    """What the newsletter is, the form, and a signed-in reader's own subscription."""
    return _index(SubscribeForm(formdata=None))


@bp.post("/subscribe")
@rate_limit("RATELIMIT_SUBSCRIBE", scope=services.SUBSCRIBE_SCOPE)
def subscribe() -> ResponseReturnValue:
    """Ask for new posts by email: a confirmation link goes to the address. The answer is the
    same whether or not the address is subscribed already."""
    form = SubscribeForm()
    try:
        services.request_subscription(form.email.data or "", source="form")
    except Invalid as error:
        apply_errors(form, error)
        return _index(form, FORM_ERROR_STATUS)
    return redirect(url_for("newsletter.requested"), code=303)


@bp.get("/requested")
def requested() -> ResponseReturnValue:
    """After the form: look in your inbox (the same page for everyone)."""
    return render_template("newsletter/requested.html")


@bp.post("/account/subscribe")
def subscribe_account() -> ResponseReturnValue:
    """A signed-in reader subscribes their account's address with one click (CSRF-checked)."""
    reader = acting_user()
    if reader is None:
        return _login_first()
    if services.subscribe_account(reader) == CONFIRMED:
        flash(f"New posts will be emailed to {reader.email}.", "success")
    else:
        flash(
            f"We have emailed {reader.email} a link to confirm the subscription "
            "(your account's address is not confirmed yet).",
            "info",
        )
    return redirect(_back(url_for("newsletter.index")), code=303)


@bp.post("/account/unsubscribe")
def unsubscribe_account() -> ResponseReturnValue:
    """A signed-in reader stops the emails to their account's address (CSRF-checked)."""
    reader = acting_user()
    if reader is None:
        return _login_first()
    if services.unsubscribe_account(reader):
        flash(f"No more posts will be emailed to {reader.email}.", "success")
    return redirect(_back(url_for("newsletter.index")), code=303)


# --- the emailed links --------------------------------------------------------------------


def _invalid_link(error: Invalid) -> ResponseReturnValue:
    return (
        render_template(
            "recovery/invalid_link.html",
            message=error.message,
            again_url=url_for("newsletter.index"),
            again_label="Subscribe again",
        ),
        400,
    )


@bp.route("/confirm/<token>", methods=["GET", "POST"])
def confirm(token: str) -> ResponseReturnValue:
    """The confirmation link: the page shows a button, whose POST confirms. Mail scanners that
    open links therefore confirm nothing; the link works once."""
    try:
        if request.method == "GET":
            subscriber = services.check_confirmation_token(token)
            return render_template("newsletter/confirm.html", address=subscriber.email)
        subscriber = services.confirm_with_token(token)
    except Invalid as error:
        return _invalid_link(error)
    return render_template("newsletter/confirmed.html", address=subscriber.email)


@bp.route("/unsubscribe/<token>", methods=["GET", "POST"])
def unsubscribe(token: str) -> ResponseReturnValue:
    """Every email's unsubscribe link. GET shows a button (so that mail scanners change
    nothing); POST unsubscribes, from that button or as RFC 8058's one-click request
    (``List-Unsubscribe=One-Click``, sent by mail providers without cookies), which gets a
    short plain answer."""
    one_click = request.method == "POST" and request.form.get("List-Unsubscribe") == ONE_CLICK
    try:
        if request.method == "GET":
            subscriber = services.check_unsubscribe_token(token)
            return render_template("newsletter/unsubscribe.html", address=subscriber.email)
        subscriber = services.unsubscribe_with_token(token)
    except Invalid as error:
        if one_click:
            return Response(error.message, status=400, mimetype="text/plain")
        return _invalid_link(error)
    if one_click:
        return Response("Unsubscribed.", mimetype="text/plain")
    return render_template("newsletter/unsubscribed.html", address=subscriber.email)


# --- the editor's option ------------------------------------------------------------------


def _editor_option(post: Post | None) -> sending.EditorOption | None:
    """For the editor's template: the option's state, or None when the writer may not send."""
    return sending.editor_option(acting_user(), post)


def _editor_saved(_sender: object, *, post: Post, actor: User | None, **_extra: Any) -> None:
    """After the editor saved a post: email it (now, or when it goes live) if the box was
    ticked; take back a waiting send if it was unticked."""
    if OPTION_FIELD not in request.form or not sending.may_send(actor, post):
        return
    if request.form.get(EMAIL_FIELD):
        send = sending.send_post_to_subscribers(actor, post)
        if send.state == WAITING:
            flash("It will be emailed to the subscribers when it is published.", "info")
        else:
            flash("It is being emailed to the subscribers.", "success")
    elif sending.cancel_send(actor, post):
        flash("It will not be emailed to the subscribers.", "info")


# --- the owner's view ---------------------------------------------------------------------


@admin_bp.before_request
def require_login() -> Response | None:
    """Like every admin page: anonymous visitors go to the login page; the services refuse
    everyone but administrators."""
    if acting_user() is None:
        response: Response = login_manager.unauthorized()
        return response
    return None


def _admin_page(import_form: ImportForm, status: int = 200, report: Any = None) -> Any:
    actor = acting_user()
    q = (request.args.get("q") or "").strip()[: services.SEARCH_MAX_LENGTH]
    wanted = request.args.get("status") or ""
    page = services.list_subscribers(
        actor, q, wanted, request.args.get("page", 1, type=int) or 1, SUBSCRIBERS_PER_PAGE
    )
    months = services.growth(actor)
    return (
        render_template(
            "newsletter/admin.html",
            counts=services.subscriber_counts(actor),
            months=months,
            chart=_chart(months),
            page=page,
            q=q,
            status=wanted if wanted in STATUSES else "",
            statuses=STATUSES,
            reports=sending.send_reports(actor),
            import_form=import_form,
            report=report,
        ),
        status,
    )


@admin_bp.get("/")
def subscribers() -> Any:
    """Counts, growth by month, the list (searchable), what each post's send did, import."""
    return _admin_page(ImportForm(formdata=None))


@admin_bp.get("/export.csv")
def export() -> Response:
    """Every subscriber as a CSV file (addresses: administrators only)."""
    body = services.export_csv(acting_user())
    return Response(
        body,
        mimetype="text/csv",
        headers={
            "Content-Disposition": 'attachment; filename="subscribers.csv"',
            "Cache-Control": "no-store",
        },
    )


@admin_bp.post("/import")
def import_csv() -> Any:
    """Add the addresses of a CSV file; the page reports what was added and the rows refused
    (by line number)."""
    actor = acting_user()
    form = ImportForm()
    if not form.validate_on_submit():
        return _admin_page(form, FORM_ERROR_STATUS)
    try:
        report = services.import_subscribers(
            actor, form.file.data.read(), consent=bool(form.consent.data)
        )
    except Invalid as error:
        apply_errors(form, error)
        return _admin_page(form, FORM_ERROR_STATUS)
    return _admin_page(ImportForm(formdata=None), report=report)


@admin_bp.post("/<int:subscriber_id>/resume")
def resume(subscriber_id: int) -> ResponseReturnValue:
    """Mail a paused address again."""
    subscriber = services.resume_subscriber(acting_user(), subscriber_id)
    flash(f"{subscriber.email} gets the next post again.", "success")
    return redirect(_back(url_for("newsletter_admin.subscribers")), code=303)


@admin_bp.post("/<int:subscriber_id>/unsubscribe")
def unsubscribe_subscriber(subscriber_id: int) -> ResponseReturnValue:
    """Stop all email to an address."""
    subscriber = services.unsubscribe_subscriber(acting_user(), subscriber_id)
    flash(f"{subscriber.email} is unsubscribed.", "success")
    return redirect(_back(url_for("newsletter_admin.subscribers")), code=303)


@admin_bp.post("/<int:subscriber_id>/remove")
def remove(subscriber_id: int) -> ResponseReturnValue:
    """Forget an address entirely."""
    services.remove_subscriber(acting_user(), subscriber_id)
    flash("The address has been removed.", "success")
    return redirect(_back(url_for("newsletter_admin.subscribers")), code=303)


CHART_WIDTH = 600
CHART_HEIGHT = 160
CHART_BASE = 130  # y of the bars' baseline; month labels go below it


def _chart(months: list[services.MonthGrowth]) -> dict[str, Any]:
    """Bars of confirmations and unsubscriptions per month, laid out for a server-drawn SVG
    (no script, no chart library, no inline style: CSP allows none)."""
    top = max([1, *(m.confirmed for m in months), *(m.unsubscribed for m in months)])
    slot = CHART_WIDTH / max(len(months), 1)
    bar = slot * 0.35
    scale = (CHART_BASE - 10) / top
    bars = []
    for index, month in enumerate(months):
        left = index * slot + slot * 0.1
        for offset, kind, value in (
            (0.0, "confirmed", month.confirmed),
            (bar, "unsubscribed", month.unsubscribed),
        ):
            height = value * scale
            bars.append(
                {
                    "x": round(left + offset, 1),
                    "y": round(CHART_BASE - height, 1),
                    "width": round(bar, 1),
                    "height": round(height, 1),
                    "kind": kind,
                    "label": f"{month.month}: {value} {kind}",
                }
            )
    labels = [
        {"x": round(index * slot + slot / 2, 1), "text": month.month[2:]}
        for index, month in enumerate(months)
    ]
    return {
        "width": CHART_WIDTH,
        "height": CHART_HEIGHT,
        "base": CHART_BASE,
        "top": top,
        "bars": bars,
        "labels": labels,
    }
