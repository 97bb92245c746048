"""Penpress: a self-hostable, multi-author blogging platform.

This module is the composition root: :func:`create_app` wires the core, the features and the
front doors together, and nothing inside the package imports it (only the WSGI servers and
``penpress.celery_app`` do).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from dotenv import load_dotenv
from flask import Flask, Response
from flask_talisman import Talisman

from penpress import config as config_module
from penpress import database, http, jobs, logs, page_cache, ratelimits, unit_of_work
from penpress.errors import register_error_handlers
from penpress.extensions import cache, compress, cors, csrf, db, mail, migrate

CONTENT_SECURITY_POLICY = {
    "default-src": "'self'",
    "img-src": ["'self'", "https:", "data:"],
    "script-src": "'self'",
    "style-src": "'self'",
    "object-src": "'none'",
    "base-uri": "'self'",
    "form-action": "'self'",
    "frame-ancestors": "'none'",
}

# Modules whose Celery tasks a worker must know (the web app imports them through services).
TASK_MODULES = (
    "penpress.accounts.tasks",
    "penpress.blog.tasks",
    "penpress.newsletter.tasks",
    "penpress.transfer.tasks",
)

INSTANCE_PATH_ENV = "PENPRESS_INSTANCE_PATH"


def create_app(test_config: Mapping[str, Any] | None = None) -> Flask:
    """Build a Penpress app; ``test_config`` overrides everything else (tests use it)."""
    app = Flask(__name__, instance_path=instance_path(test_config))
    configure_app(app, test_config)
    logs.configure_logging(app)
    register_extensions(app)
    page_cache.init_app(app)  # before ops, so ProxyFix (if any) sits in front of it
    register_ops(app)
    register_error_handlers(app)
    register_request_lifecycle(app)
    register_blueprints(app)
    connect_features()
    ratelimits.apply_declared_limits(app)  # after every view is registered
    register_template_helpers(app)
    register_commands(app)
    return app


def instance_path(test_config: Mapping[str, Any] | None = None) -> str:
    """Where the SQLite file, the generated secret and the development outbox live.

    ``instance/`` in the working directory (the repository for ``make run``), unless
    ``$PENPRESS_INSTANCE_PATH`` or the test config's ``INSTANCE_PATH`` says otherwise. Flask's
    own default for an editable install would be ``src/instance``, which no one looks in.
    """
    configured = (test_config or {}).get("INSTANCE_PATH") or os.environ.get(INSTANCE_PATH_ENV)
    return str(Path(configured or Path.cwd() / "instance").resolve())


def configure_app(app: Flask, test_config: Mapping[str, Any] | None) -> None:
    overrides = dict(test_config or {})
    for_tests = bool(overrides.get("TESTING")) or overrides.get("ENV_NAME") == "testing"
    if not for_tests:
        # The working directory's .env, before the config class is chosen (it may set
        # PENPRESS_CONFIG); variables already set win.
        load_dotenv(Path.cwd() / ".env")
    app.config.from_object(config_module.config_class(overrides.get("ENV_NAME")))
    # By its full path: a bare "config.py" is looked up beside the package (Flask's config root
    # is the app's root path), where it would find penpress/config.py instead.
    app.config.from_pyfile(str(Path(app.instance_path) / "config.py"), silent=True)
    if not app.testing and not for_tests:
        config_module.load_environment(app)  # a developer's environment never reaches tests
    app.config.update(overrides)
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    config_module.finalise(app)


def register_extensions(app: Flask) -> None:
    import penpress.models  # noqa: F401  (registers every table on the metadata)

    db.init_app(app)
    database.install_sqlite_pragmas(app)
    migrate.init_app(app, db, directory=str(database.MIGRATIONS_DIR), render_as_batch=True)
    csrf.init_app(app)
    cache.init_app(app)
    ratelimits.init_app(app)
    compress.init_app(app)
    mail.init_app(app)
    Talisman(
        app,  # one per app: see extensions.py
        force_https=False,  # TLS ends at the proxy; see ProxyFix and deploy/nginx.conf
        strict_transport_security=bool(app.config["HSTS"]),
        session_cookie_secure=bool(app.config["SESSION_COOKIE_SECURE"]),
        content_security_policy=CONTENT_SECURITY_POLICY,
        frame_options="DENY",
        referrer_policy="strict-origin-when-cross-origin",
    )
    origins = app.config["CORS_ORIGINS"]
    if origins:
        api_cors = {
            "origins": origins,
            "allow_headers": ["Authorization", "Content-Type", "If-None-Match", "X-Request-ID"],
            "expose_headers": ["ETag", "Location", "Link", "Retry-After", "X-Request-ID"],
            "max_age": 600,
        }
        cors.init_app(
            app,
            resources={r"/api/*": api_cors, rf"{app.config['REALWORLD_PREFIX']}/*": api_cors},
        )

    from penpress.accounts.auth import init_login
    from penpress.audit.services import install_guards

    install_guards()  # the audit log is append-only from the application

    init_login(app)
    jobs.celery_init_app(app, TASK_MODULES)  # after the extensions its tasks use


def register_ops(app: Flask) -> None:
    """Proxy headers (as configured), /healthz, /readyz and /metrics."""
    from penpress import ops

    ops.init_app(app)


def register_request_lifecycle(app: Flask) -> None:
    """What every request goes through, in this order, whatever the blueprint.

    Before the view: the metrics timer, a request id, the job collector (and, once per process,
    the periodic-job runner), the odd-input checks (a body too large, NUL characters).
    After it (:func:`finish_request`): the one commit (or rollback) of the unit of work, then
    handing its committed jobs over, then the request id header, then the metrics — the
    metrics last, so they see the final status and the connection back in the pool.
    """
    from penpress.ops import metrics

    http.init_app(app)  # the id converter: before any route is added

    def start_request() -> None:
        metrics.start_timer()
        logs.assign_request_id()
        jobs.collect_request_jobs()
        jobs.start_periodic_runner(app)
        http.apply_body_limit()
        http.refuse_oversized_streams()
        http.reject_nul_characters()

    # Before the extensions' own steps (the rate limit checks), so their time is measured too.
    app.before_request_funcs.setdefault(None, []).insert(0, start_request)

    @app.after_request
    def finish_request(response: Response) -> Response:
        response = unit_of_work.commit_or_roll_back(response)
        response = jobs.hand_over_request_jobs(app, response)
        logs.echo_request_id(response)
        metrics.observe(response)
        return response

    app.teardown_request(jobs.run_leftover_request_jobs)
    unit_of_work.init_app(app)


def register_blueprints(app: Flask) -> None:
    from penpress.accounts.recovery_routes import bp as recovery_bp
    from penpress.accounts.routes import bp as accounts_bp
    from penpress.admin.routes import bp as admin_bp
    from penpress.api import realworld, v1
    from penpress.blog.editor_routes import PREFIX as EDITOR_PREFIX
    from penpress.blog.editor_routes import bp as editor_bp
    from penpress.blog.routes import bp as blog_bp
    from penpress.main.routes import bp as main_bp
    from penpress.media.routes import bp as media_bp
    from penpress.newsletter import routes as newsletter
    from penpress.transfer.admin_routes import bp as transfer_admin_bp
    from penpress.transfer.routes import bp as legacy_bp

    app.register_blueprint(main_bp)
    app.register_blueprint(media_bp)
    app.register_blueprint(accounts_bp, url_prefix="/auth")
    app.register_blueprint(recovery_bp, url_prefix="/auth")
    app.register_blueprint(blog_bp, url_prefix="/blog")
    app.register_blueprint(editor_bp, url_prefix=EDITOR_PREFIX)
    app.register_blueprint(admin_bp, url_prefix="/admin")
    newsletter.init_app(app)  # /newsletter and /admin/subscribers
    app.register_blueprint(transfer_admin_bp, url_prefix="/admin/transfer")
    app.register_blueprint(legacy_bp)
    v1.init_app(app)
    realworld.init_app(app)


def connect_features() -> None:
    """Let features react to what earlier ones announce (an account about to be deleted)."""
    from penpress.blog import counts

    counts.connect()


def register_template_helpers(app: Flask) -> None:
    from penpress.blog.filters import init_filters
    from penpress.media import templating as media_templating
    from penpress.settings.services import template_context
    from penpress.templating import init_templating

    init_templating(app)
    init_filters(app)
    media_templating.init_templating(app)
    app.context_processor(template_context)


def register_commands(app: Flask) -> None:
    from penpress.cli import init_cli

    init_cli(app)

    @app.shell_context_processor
    def shell_context() -> dict[str, Any]:
        from penpress.accounts.models import Role, User
        from penpress.blog.models import Comment, Post, Tag

        return {"db": db, "User": User, "Role": Role, "Post": Post, "Comment": Comment, "Tag": Tag}
