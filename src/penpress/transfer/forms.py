"""Forms of the console's export and import page: they carry the CSRF token and the file;
the services decide what is accepted."""

from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired


class ExportForm(FlaskForm):
    """Starting an export: a button, with the session's CSRF token."""


class AbandonForm(FlaskForm):
    """Marking a stalled run as failed: a button, with the session's CSRF token."""


class ImportForm(FlaskForm):
    file = FileField(
        "File to import",
        validators=[FileRequired("Choose a file to import.")],
        description=(
            "A Penpress export (.zip), a WordPress export (Tools → Export → All content, a WXR "
            ".xml file) or a Ghost export (Settings → Labs → Export, .json). The kind is told by "
            "the file's content."
        ),
        render_kw={"accept": ".zip,.xml,.json,application/zip,text/xml,application/json"},
    )
