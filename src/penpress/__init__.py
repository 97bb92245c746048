"""Penpress: a self-hostable, multi-author blogging platform."""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from dotenv import load_dotenv
from flask import Flask, Response
from flask_talisman import Talisman
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from penpress import config as config_module
from penpress import http
from penpress.errors import CONFLICT_MESSAGE, ErrorInfo, register_error_handlers, render_error
from penpress.extensions import (
    cache,
    compress,
    cors,
    csrf,
    db,
    limiter,
    mail,
    migrate,
)
from penpress.logs import configure_logging, register_request_id

MIGRATIONS_DIR = Path(__file__).parent / "migrations"

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


def create_app(test_config: Mapping[str, Any] | None = None) -> Flask:
    """Build a Penpress app; ``test_config`` overrides everything else (tests use it)."""
    load_dotenv()
    app = Flask(__name__, instance_relative_config=True)
    configure_app(app, test_config)
    configure_logging(app)
    register_extensions(app)
    register_request_id(app)
    register_ops(app)
    register_error_handlers(app)
    register_unit_of_work(app)
    register_input_checks(app)
    register_blueprints(app)
    register_template_helpers(app)
    register_commands(app)
    return app


def configure_app(app: Flask, test_config: Mapping[str, Any] | None) -> None:
    name = (test_config or {}).get("ENV_NAME")
    app.config.from_object(config_module.config_class(name))
    app.config.from_pyfile("config.py", silent=True)
    if not app.testing and not (test_config or {}).get("TESTING"):
        config_module.load_environment(app)
    if test_config:
        app.config.update(test_config)
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    config_module.finalise(app)


def register_extensions(app: Flask) -> None:
    import penpress.models  # noqa: F401  (registers every table on the metadata)

    db.init_app(app)
    migrate.init_app(app, db, directory=str(MIGRATIONS_DIR), render_as_batch=True)
    csrf.init_app(app)
    cache.init_app(app)
    limiter.init_app(app)
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

    init_login(app)

    from penpress.jobs import celery_init_app

    celery_init_app(app)  # after the extensions its tasks use


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    """Enforce foreign keys and let readers work during writes (WAL) on SQLite."""
    if isinstance(dbapi_connection, sqlite3.Connection):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=5000")
        cursor.close()


def register_ops(app: Flask) -> None:
    """Proxy headers (as configured), /healthz, /readyz and /metrics, request metrics."""
    from penpress import ops

    ops.init_app(app)


def register_unit_of_work(app: Flask) -> None:
    """One commit per request, here: services only flush.

    Successful responses commit; error responses were already rolled back by the error
    handlers. A unique constraint lost to a concurrent request becomes a 409, not a 500.
    """

    @app.after_request
    def commit_session(response: Response) -> Response:
        if response.status_code >= 400:
            db.session.rollback()
            return response
        try:
            db.session.commit()
        except IntegrityError:
            db.session.rollback()
            app.logger.info("commit lost a race on a unique constraint")
            return render_error(ErrorInfo(409, CONFLICT_MESSAGE))
        return response


def register_input_checks(app: Flask) -> None:
    """Ids beyond the database's integers are a 404 and NUL characters are refused, app-wide."""
    http.init_app(app)


def register_blueprints(app: Flask) -> None:
    from penpress.accounts.recovery_routes import bp as recovery_bp
    from penpress.accounts.routes import bp as accounts_bp
    from penpress.admin.routes import bp as admin_bp
    from penpress.api import v1
    from penpress.blog.routes import bp as blog_bp
    from penpress.main.routes import bp as main_bp

    app.register_blueprint(main_bp)
    app.register_blueprint(accounts_bp, url_prefix="/auth")
    app.register_blueprint(recovery_bp, url_prefix="/auth")
    app.register_blueprint(blog_bp, url_prefix="/blog")
    app.register_blueprint(admin_bp, url_prefix="/admin")
    v1.init_app(app)

    from penpress.api import realworld

    realworld.init_app(app)


def register_template_helpers(app: Flask) -> None:
    from penpress.templating import init_templating

    init_templating(app)


def register_commands(app: Flask) -> None:
    from penpress.cli import init_cli

    init_cli(app)

    @app.shell_context_processor
    def shell_context() -> dict[str, Any]:
        from penpress.accounts.models import Role, User
        from penpress.blog.models import Comment, Post, Tag

        return {"db": db, "User": User, "Role": Role, "Post": Post, "Comment": Comment, "Tag": Tag}
