"""The console's export and import page, under ``/admin/transfer`` (administrators only).

Starting an export or uploading a file to import queues a background job; the run's page
shows its progress (``transfer.js`` polls the JSON status; without JavaScript a button reloads
the page), then the importer's summary or the export's download link. The services check who
may do what; these views only read the request and pick the page.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, jsonify, redirect, render_template, send_file, url_for
from flask.typing import ResponseReturnValue
from werkzeug.wrappers import Response

from penpress.accounts.auth import acting_user
from penpress.errors import Invalid
from penpress.extensions import login_manager
from penpress.forms import FORM_ERROR_STATUS, apply_errors
from penpress.http import larger_body
from penpress.transfer import services
from penpress.transfer.forms import AbandonForm, ExportForm, ImportForm

bp = Blueprint("transfer_admin", __name__)

FORM_ROOM = 64 * 1024  # the multipart form around the file: its token and headers


@bp.before_request
def require_login() -> Response | None:
    """Like every console page: anonymous visitors go to the login page; the services refuse
    everyone but administrators."""
    if acting_user() is None:
        response: Response = login_manager.unauthorized()
        return response
    return None


def _index(import_form: ImportForm, status: int = 200) -> tuple[str, int]:
    runs = services.recent_runs(acting_user())
    body = render_template(
        "admin/transfer.html",
        runs=runs,
        export_form=ExportForm(formdata=None),
        import_form=import_form,
        formats=services.FORMAT_NAMES,
    )
    return body, status


@bp.get("/")
def index() -> tuple[str, int]:
    """The export button, the import form and the latest runs."""
    return _index(ImportForm(formdata=None))


@bp.post("/export")
def start_export() -> Response:
    """Queue an export of the whole site; its page shows the progress."""
    run = services.start_export(acting_user())
    flash("The export has started.", "success")
    return redirect(url_for("transfer_admin.run", run_id=run.id), code=303)


@bp.post("/import")
@larger_body("TRANSFER_MAX_UPLOAD_BYTES", extra=FORM_ROOM)
def start_import() -> ResponseReturnValue:
    """Keep the uploaded file and queue its import; a file of no known kind is refused here
    (422), one whose records are wrong by the job (the run's page says what and where)."""
    actor = acting_user()
    form = ImportForm()
    if not form.validate_on_submit():
        return _index(form, FORM_ERROR_STATUS)
    upload = form.file.data
    try:
        run = services.start_import(actor, upload.stream, upload.filename or "")
    except Invalid as error:  # a file too large is a 413 (TooLarge), like the body limit's
        apply_errors(form, error)
        return _index(form, FORM_ERROR_STATUS)
    flash("The file was received; the import has started.", "success")
    return redirect(url_for("transfer_admin.run", run_id=run.id), code=303)


@bp.get("/<int:run_id>")
def run(run_id: int) -> str:
    """One run: its progress while it works, then its summary (or download link)."""
    actor = acting_user()
    found = services.get_run(actor, run_id)
    status = services.run_status(actor, run_id)
    return render_template(
        "admin/transfer_run.html",
        run=found,
        status=status,
        formats=services.FORMAT_NAMES,
        abandon_form=AbandonForm(formdata=None),
    )


@bp.post("/<int:run_id>/abandon")
def abandon(run_id: int) -> Response:
    """Mark a stalled run as failed (its job stopped reporting); 409 if it is not stalled.
    The CSRF token is checked before any view, as on every form."""
    services.abandon_run(acting_user(), run_id)
    flash("The run was marked as failed.", "success")
    return redirect(url_for("transfer_admin.run", run_id=run_id), code=303)


@bp.get("/<int:run_id>/status")
def status(run_id: int) -> Response:
    """The run's state and progress as JSON, for the page's script to poll."""
    found: dict[str, Any] = services.run_status(acting_user(), run_id)
    if found["downloadable"]:
        found["download_url"] = url_for("transfer_admin.download", run_id=run_id)
    response = jsonify(found)
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/<int:run_id>/download")
def download(run_id: int) -> Response:
    """A finished export, as an attachment under a name made from its date."""
    path, name = services.export_download(acting_user(), run_id)
    response = send_file(
        path, mimetype="application/zip", as_attachment=True, download_name=name, max_age=0
    )
    response.headers["Cache-Control"] = "private, no-store"
    return response
