"""One commit per request, here: services only ``flush()``.

Successful responses commit; error responses roll back (the error handlers already did, this
makes sure). A unique constraint lost to a concurrent request at commit time becomes a 409,
not a 500. Background tasks get the same rule from :class:`penpress.jobs.FlaskTask`.
"""

from __future__ import annotations

import logging

from flask import Response
from sqlalchemy.exc import IntegrityError

from penpress.errors import CONFLICT_MESSAGE, ErrorInfo, render_error
from penpress.extensions import db

log = logging.getLogger(__name__)


def commit_or_roll_back(response: Response) -> Response:
    """Commit what the request did if it succeeded; roll it back if it failed."""
    if response.status_code >= 400:
        db.session.rollback()
        return response
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        log.info("commit lost a race on a unique constraint")
        return render_error(ErrorInfo(409, CONFLICT_MESSAGE))
    return response
