"""What every form of the site shares: showing a service's errors next to the fields."""

from __future__ import annotations

from flask_wtf import FlaskForm

from penpress.errors import DomainError

# A form submitted with errors is re-rendered with this status, so clients and tests can tell
# it from a first visit; the unit of work rolls back anything a failed attempt touched.
FORM_ERROR_STATUS = 422


def apply_errors(form: FlaskForm, error: DomainError, rename: dict[str, str] | None = None) -> None:
    """Show a service's error details on the form's fields (``rename`` maps a service's field
    name to the form's); messages for no field of the form go above it."""
    rename = rename or {}
    for name, messages in error.details.items():
        field = form._fields.get(rename.get(name, name))
        if field is None:
            form.form_errors.extend(messages)
        else:
            field.errors = [*field.errors, *messages]
    if not error.details:
        form.form_errors.append(error.message)
