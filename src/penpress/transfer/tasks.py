"""Background tasks of the console's exports and imports (queued by ``transfer.services``).

Each claims its run first (committed, so the console shows it running and a job handed over
twice runs once), then works. A failure is recorded on the run, never retried: the import's
transaction is rolled back first, so a refused or broken import leaves the database as it was.
A run an administrator marked as failed (its job had stalled) is left as it is: a job handed
over again does not claim it, and one that was alive after all throws its work away.
"""

from __future__ import annotations

import logging

from celery import shared_task

from penpress.extensions import db
from penpress.transfer import importer, services
from penpress.transfer.importer import TransferError

log = logging.getLogger(__name__)


@shared_task(name=services.EXPORT_TASK)
def export_site(run_id: int) -> str:
    """Write the export of run ``run_id``; its final state."""
    if not services.claim_run(run_id):
        return "skipped"
    db.session.commit()
    try:
        run = services.perform_export(run_id)
    except Exception as error:
        db.session.rollback()
        log.exception("export %s failed", run_id)
        services.fail_run(run_id, error)
        return "failed"
    return run.state


@shared_task(name=services.IMPORT_TASK)
def import_site(run_id: int) -> str:
    """Check, then import, the file of run ``run_id``; its final state. The upload is
    deleted either way."""
    if not services.claim_run(run_id):
        return "skipped"
    db.session.commit()
    try:
        services.perform_import(run_id)
        db.session.commit()
    except Exception as error:
        db.session.rollback()
        if isinstance(error, services.RunAbandoned):
            log.warning("import %s was marked as failed while it ran; rolled back", run_id)
        elif not isinstance(error, TransferError):
            log.exception("import %s failed", run_id)
        services.fail_run(run_id, error)
        services.remove_upload(run_id)
        return "failed"
    importer.after_import()  # cached pages, counts and settings are stale now
    services.remove_upload(run_id)
    return "done"
