"""Entry point for Celery workers: ``celery -A penpress.celery_app worker``.

The only module that builds an app at import time: the worker needs one Flask app, made from
the same environment variables as the web processes (``DATABASE_URL``, ``REDIS_URL``,
``SECRET_KEY``, ``MAIL_*``, ``SITE_URL``), whose Celery instance runs the tasks.
"""

from __future__ import annotations

from celery import Celery

from penpress import create_app

flask_app = create_app()
celery: Celery = flask_app.extensions["celery"]
