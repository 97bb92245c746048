"""Configuration classes, environment loading and validation of required settings.

Precedence, lowest first: the config class's defaults, ``instance/config.py``, environment
variables (and a ``.env`` file, loaded by ``create_app``), then the ``test_config`` mapping.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from flask import Flask

from penpress.permissions import ROLE_NAMES

# Environment variables that map straight onto config keys, with how to parse them.
_ENV_INT = (
    "MAX_CONTENT_LENGTH",
    "POSTS_PER_PAGE",
    "API_MAX_PER_PAGE",
    "API_CACHE_MAX_AGE",
    "PAGE_CACHE_TIMEOUT",
    "PAGE_CACHE_SHARED_MAX_AGE",
    "MAIL_PORT",
    "MAIL_TIMEOUT",
    "DATABASE_CONNECT_TIMEOUT",
    "MEDIA_MAX_BYTES",
    "MEDIA_MAX_PIXELS",
    "PROXY_FIX_X_FOR",
    "PROXY_FIX_X_PROTO",
    "PROXY_FIX_X_HOST",
    "PROXY_FIX_X_PORT",
    "PROXY_FIX_X_PREFIX",
    "INVITE_MAX_AGE",
    "NEWSLETTER_RATE_PER_MINUTE",
    "NEWSLETTER_BATCH_SIZE",
    "NEWSLETTER_MAX_FAILURES",
    "TRANSFER_MAX_UPLOAD_BYTES",
    "TRANSFER_KEEP_EXPORTS",
    "TRANSFER_STALL_SECONDS",
    "SEARCH_RANK_WINDOW",
)
_ENV_BOOL = (
    "MAIL_USE_TLS",
    "MAIL_USE_SSL",
    "COMMENTS_REQUIRE_APPROVAL",
    "REQUIRE_CONFIRMED_EMAIL",
    "METRICS_ENABLED",
    "REALWORLD_LIST_BODIES",
    "CELERY_ALWAYS_EAGER",
    "RATELIMIT_ENABLED",
    "PAGE_CACHE_ENABLED",
)
_ENV_STR = (
    "SECRET_KEY",
    "REDIS_URL",
    "LOG_LEVEL",
    "RATELIMIT_DEFAULT",
    "RATELIMIT_AUTH",
    "RATELIMIT_WRITE",
    "RATELIMIT_LOGIN_FAILURES",
    "RATELIMIT_EMAIL",
    "RATELIMIT_UPLOADS",
    "RATELIMIT_EDITOR",
    "RATELIMIT_SEARCH",
    "MEDIA_FOLDER",
    "TRANSFER_FOLDER",
    "MAIL_SERVER",
    "MAIL_USERNAME",
    "MAIL_PASSWORD",
    "MAIL_DEFAULT_SENDER",
    "MAIL_BACKEND",
    "SERVER_NAME",
    "PREFERRED_URL_SCHEME",
    "METRICS_TOKEN",
    "REALWORLD_PREFIX",
    "SITE_URL",
    "MAIL_FILE_PATH",
    "CELERY_BROKER_URL",
    "CELERY_RESULT_BACKEND",
    "REGISTRATION",
    "DEFAULT_ROLE",
    "RATELIMIT_SUBSCRIBE",
    "RATELIMIT_SUBSCRIBE_EMAIL",
    "NEWSLETTER_UNSUBSCRIBE_MAILTO",
)
_ENV_LIST = ("CORS_ORIGINS", "TRUSTED_HOSTS")

_TRUE = {"1", "true", "yes", "on"}

# Who may join: anyone; anyone, once an administrator approves; only through an invite; nobody.
REGISTRATION_POLICIES = ("open", "approval", "invite", "closed")


class InvalidConfiguration(RuntimeError):
    """The app cannot start with these settings; the message says what to change."""


class Config:
    """Defaults shared by every environment."""

    ENV_NAME = "base"
    SECRET_KEY: str | None = None
    SQLALCHEMY_DATABASE_URI: str | None = None  # None: SQLite file in the instance folder
    SQLALCHEMY_ENGINE_OPTIONS: dict[str, Any] = {"pool_pre_ping": True, "pool_recycle": 1800}
    DATABASE_CONNECT_TIMEOUT = 5  # seconds; PostgreSQL only, so /readyz and pages never hang
    REDIS_URL: str | None = None
    REDIS_SOCKET_TIMEOUT = 1.0  # seconds; a slow Redis degrades requests instead of stalling them
    MAX_CONTENT_LENGTH = 2 * 1024 * 1024
    POSTS_PER_PAGE = 10
    API_MAX_PER_PAGE = 100
    # /search ranks the newest this many posts holding the words, and as many again whose
    # title holds them (penpress.blog.search.ranked_ids): ranking every match made a search
    # cost grow with the blog; a reader sees 200 results at most anyway.
    SEARCH_RANK_WINDOW = 2000
    COMMENTS_REQUIRE_APPROVAL = True
    # Set (by the REGISTRATION / DEFAULT_ROLE environment variables), these win over the site
    # settings an administrator chooses; unset, the site settings apply (default: open, reader).
    REGISTRATION: str | None = None
    DEFAULT_ROLE: str | None = None
    # Starting value of the site setting: accounts must confirm their address before they
    # publish, submit for review or comment. Off here so development and tests need no mail.
    REQUIRE_CONFIRMED_EMAIL = False
    INVITE_MAX_AGE = 7 * 24 * 60 * 60  # seconds an invitation link stays valid
    LOG_LEVEL = "INFO"

    WTF_CSRF_TIME_LIMIT: int | None = None  # tokens live as long as the session
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = False
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_SECURE = False
    REMEMBER_COOKIE_DURATION = 60 * 60 * 24 * 30
    FORCE_HTTPS = False
    HSTS = False

    RATELIMIT_ENABLED = True
    RATELIMIT_DEFAULT = "600 per minute"
    RATELIMIT_AUTH = "10 per minute"
    RATELIMIT_WRITE = "20 per minute; 200 per day"  # new posts, and new comments, per account
    # Failed password checks per account (login on every front door, password and email
    # changes); once spent, the account cannot log in until the window ends or a reset.
    RATELIMIT_LOGIN_FAILURES = "10 per 15 minutes"
    # Searches per client address that run (the page cache's answers spend nothing): web
    # and API together.
    RATELIMIT_SEARCH = "60 per minute"
    # Off: Flask-Limiter would add Retry-After to every response; 429s name it themselves.
    RATELIMIT_HEADERS_ENABLED = False
    RATELIMIT_IN_MEMORY_FALLBACK_ENABLED = True
    RATELIMIT_STORAGE_URI = "memory://"

    CACHE_TYPE = "SimpleCache"
    CACHE_DEFAULT_TIMEOUT = 300

    CORS_ORIGINS: list[str] = []

    JWT_ACCESS_TTL = 15 * 60
    JWT_REFRESH_TTL = 30 * 24 * 60 * 60
    REALWORLD_TOKEN_TTL = 30 * 24 * 60 * 60
    REALWORLD_PREFIX = "/realworld/api"
    # Conduit lists left out article bodies in 2024; True restores them for older clients/tests.
    REALWORLD_LIST_BODIES = False

    MAIL_BACKEND = "file"  # written to MAIL_FILE_PATH (default: instance/outbox)
    MAIL_DEFAULT_SENDER = "Penpress <noreply@localhost>"
    MAIL_SERVER = "localhost"
    MAIL_PORT = 25
    MAIL_USE_TLS = False
    MAIL_USE_SSL = False
    MAIL_USERNAME: str | None = None
    MAIL_PASSWORD: str | None = None
    MAIL_TIMEOUT = 10  # seconds; a stuck SMTP server must not hang a worker forever
    MAIL_FILE_PATH: str | None = None
    # Public base URL of every absolute link (emails, feeds, sitemap, API headers), e.g.
    # https://blog.example.com. Required in production; never taken from a request's Host.
    SITE_URL: str | None = None
    # Host names the app answers to (Flask rejects others with a 400). Unset: the SITE_URL's
    # host plus loopback names (for health checks), whenever SITE_URL is configured.
    TRUSTED_HOSTS: list[str] | None = None
    EMAIL_CONFIRM_MAX_AGE = 3 * 24 * 60 * 60
    PASSWORD_RESET_MAX_AGE = 60 * 60
    RATELIMIT_EMAIL = "5 per hour"  # reset and resend requests, per client address

    # Uploaded images (penpress.media): the folder they are kept in (None: instance/media),
    # the largest file and the most pixels accepted (larger ones are refused before they are
    # decoded), the widths of the resized copies made of each, and uploads per account.
    MEDIA_FOLDER: str | None = None
    MEDIA_MAX_BYTES = 10 * 1024 * 1024
    MEDIA_MAX_PIXELS = 40_000_000
    MEDIA_WIDTHS: tuple[int, ...] = (480, 960, 1600)
    RATELIMIT_UPLOADS = "30 per hour; 300 per day"
    # Exports and imports started from the console (docs/export-format.md): the folder their
    # files are kept in (None: instance/transfers; never served directly, shared by the web
    # processes and the workers), the largest file an administrator may upload to import, and
    # how many finished exports are kept for download (older files are removed). A running
    # job silent this long (its worker died) shows as stalled, and may be marked as failed.
    TRANSFER_FOLDER: str | None = None
    TRANSFER_MAX_UPLOAD_BYTES = 256 * 1024 * 1024
    TRANSFER_KEEP_EXPORTS = 3
    TRANSFER_STALL_SECONDS = 600
    # The editor's preview and autosave requests, per account.
    RATELIMIT_EDITOR = "120 per minute"

    # Jobs: Celery on CELERY_BROKER_URL (default REDIS_URL); without a broker, or when
    # CELERY_ALWAYS_EAGER is true, in-process (after the response is sent when
    # JOBS_AFTER_RESPONSE, else as soon as the transaction commits).
    CELERY_BROKER_URL: str | None = None
    CELERY_RESULT_BACKEND: str | None = None
    CELERY_ALWAYS_EAGER: bool | None = None  # None: eager exactly when there is no broker
    JOBS_AFTER_RESPONSE = True
    # Periodic jobs: task name -> seconds between runs. Celery beat runs them with a broker;
    # without one, each web process runs them in a thread (PERIODIC_JOBS_IN_PROCESS: None means
    # exactly when there is no broker, never in tests).
    PERIODIC_JOBS: dict[str, float] = {
        "penpress.outbox.sweep": 15,  # hand over again the jobs not done within their lease
        "penpress.outbox.prune": 3600,  # forget done jobs older than OUTBOX_KEEP_DONE
        # Scheduled posts whose time has come: counted, page cache dropped, "went live" jobs
        # queued once. Readers see them at their time regardless; this bounds how long the
        # counters and the page cache lag.
        "penpress.blog.publish_due_posts": 20,
        "penpress.blog.flush_views": 10,  # save the buffered page views
        # Posts marked "Email to subscribers" that went live since: start sending them.
        "penpress.newsletter.start_due_sends": 30,
    }
    PERIODIC_JOBS_IN_PROCESS: bool | None = None
    # The outbox: seconds a handed-over job has to be done before the sweep sends it again
    # (doubling with every attempt, at most an hour), how many hand-overs before it is marked
    # failed, and how long done jobs and sent emails are kept.
    OUTBOX_LEASE = 60
    OUTBOX_MAX_ATTEMPTS = 8
    OUTBOX_KEEP_DONE = 7 * 24 * 60 * 60

    # Pages for anonymous readers, kept in the cache above (penpress.page_cache): at most this
    # many seconds old (view, favorite and comment counts may lag that long; everything else
    # shows at once), and this long in a shared cache (nginx) in front.
    PAGE_CACHE_ENABLED = True
    PAGE_CACHE_TIMEOUT = 60
    PAGE_CACHE_SHARED_MAX_AGE = 10

    # The newsletter (docs/newsletter.md): subscription requests per client address (the form
    # and the API share it), confirmation emails per address (more are dropped silently, so the
    # answer stays the same), how fast posts go out (a Celery task per batch, spaced so that
    # no more than the rate leaves per minute), refusals in a row before an address is paused,
    # temporary refusals of one message before it counts as failed, how long a confirmation
    # link lasts, and the mailto: of List-Unsubscribe (unset: MAIL_DEFAULT_SENDER's address).
    RATELIMIT_SUBSCRIBE = "10 per hour"
    RATELIMIT_SUBSCRIBE_EMAIL = "3 per day"
    NEWSLETTER_RATE_PER_MINUTE = 600
    NEWSLETTER_BATCH_SIZE = 100
    NEWSLETTER_MAX_FAILURES = 3
    NEWSLETTER_DELIVERY_ATTEMPTS = 3
    NEWSLETTER_CONFIRM_MAX_AGE = 3 * 24 * 60 * 60
    NEWSLETTER_UNSUBSCRIBE_MAILTO: str | None = None

    METRICS_ENABLED = True
    METRICS_TOKEN: str | None = None

    # How many proxies in front set each X-Forwarded-* header; 0 = ignore the header (default),
    # because a header nobody in front of us sets could be forged by a client.
    PROXY_FIX_X_FOR = 0
    PROXY_FIX_X_PROTO = 0
    PROXY_FIX_X_HOST = 0
    PROXY_FIX_X_PORT = 0
    PROXY_FIX_X_PREFIX = 0

    API_TITLE = "Penpress API"
    API_VERSION = "v1"
    OPENAPI_VERSION = "3.0.3"
    # flask-smorest serves the document at OPENAPI_URL_PREFIX/OPENAPI_JSON_PATH; the Swagger UI
    # page is our own (penpress.api.v1.docs), so its assets come from this server, not a CDN.
    OPENAPI_URL_PREFIX = "/api/v1"
    OPENAPI_JSON_PATH = "openapi.json"
    API_CACHE_MAX_AGE = 60  # seconds shared caches may keep anonymous GET answers of /api/v1


class DevelopmentConfig(Config):
    ENV_NAME = "development"
    LOG_LEVEL = "DEBUG"


class TestingConfig(Config):
    ENV_NAME = "testing"
    TESTING = True
    SECRET_KEY = "testing-secret-key-not-for-production-use-0123456789"  # noqa: S105
    WTF_CSRF_ENABLED = False
    RATELIMIT_ENABLED = False
    CACHE_TYPE = "NullCache"
    CACHE_NO_NULL_WARNING = True
    MAIL_BACKEND = "locmem"
    LOG_LEVEL = "WARNING"
    # Jobs run in-process at the end of the request even when a REDIS_URL is configured.
    CELERY_ALWAYS_EAGER = True
    JOBS_AFTER_RESPONSE = False


class ProductionConfig(Config):
    ENV_NAME = "production"
    SESSION_COOKIE_SECURE = True
    REMEMBER_COOKIE_SECURE = True
    PREFERRED_URL_SCHEME = "https"
    HSTS = True
    MAIL_BACKEND = "smtp"
    REQUIRE_CONFIRMED_EMAIL = True


CONFIGS: dict[str, type[Config]] = {
    "development": DevelopmentConfig,
    "testing": TestingConfig,
    "production": ProductionConfig,
}


def config_class(name: str | None) -> type[Config]:
    """The config class for ``name`` (default: ``$PENPRESS_CONFIG`` or development)."""
    name = (name or os.environ.get("PENPRESS_CONFIG") or "development").lower()
    try:
        return CONFIGS[name]
    except KeyError:
        choices = ", ".join(CONFIGS)
        raise InvalidConfiguration(f"PENPRESS_CONFIG={name!r} is not one of: {choices}") from None


def load_environment(app: Flask) -> None:
    """Apply environment variables over the defaults."""
    env = os.environ
    if env.get("DATABASE_URL"):
        app.config["SQLALCHEMY_DATABASE_URI"] = _normalise_database_url(env["DATABASE_URL"])
    for key in _ENV_STR:
        if env.get(key):
            app.config[key] = env[key]
    for key in _ENV_INT:
        if env.get(key):
            app.config[key] = int(env[key])
    for key in _ENV_BOOL:
        if env.get(key):
            app.config[key] = env[key].strip().lower() in _TRUE
    for key in _ENV_LIST:
        if key in env:
            app.config[key] = [item.strip() for item in env[key].split(",") if item.strip()]


def finalise(app: Flask) -> None:
    """Fill derived settings and refuse to start with unsafe ones."""
    config = app.config
    if not config.get("SQLALCHEMY_DATABASE_URI"):
        database = Path(app.instance_path) / "penpress.db"
        config["SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{database}"
    if config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        # SQLite connections are cheap; a pool checks nothing useful.
        config["SQLALCHEMY_ENGINE_OPTIONS"] = {}
    elif config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        options = dict(config["SQLALCHEMY_ENGINE_OPTIONS"])  # never mutate the class default
        connect_args = dict(options.get("connect_args") or {})
        connect_args.setdefault("connect_timeout", int(config["DATABASE_CONNECT_TIMEOUT"]))
        options["connect_args"] = connect_args
        config["SQLALCHEMY_ENGINE_OPTIONS"] = options
    if config.get("REDIS_URL"):
        _use_redis(config, config["REDIS_URL"])

    if int(config["SEARCH_RANK_WINDOW"]) < 1:
        raise InvalidConfiguration(
            f"SEARCH_RANK_WINDOW={config['SEARCH_RANK_WINDOW']!r} must be a positive number of "
            "posts (the newest matches a search ranks), e.g. SEARCH_RANK_WINDOW=2000"
        )
    _finalise_jobs_and_mail(app)
    _finalise_site_url(config)
    _finalise_membership(config)

    if not config.get("SECRET_KEY"):
        if config["ENV_NAME"] == "production":
            raise InvalidConfiguration(
                "SECRET_KEY is not set. Production needs a long random secret that stays the "
                "same across restarts and instances, e.g. "
                "SECRET_KEY=$(python -c 'import secrets; print(secrets.token_urlsafe(64))')"
            )
        config["SECRET_KEY"] = _instance_secret(Path(app.instance_path))
    elif config["ENV_NAME"] == "production" and len(config["SECRET_KEY"]) < 32:
        raise InvalidConfiguration(
            "SECRET_KEY is too short for production: use at least 32 random characters."
        )


def _finalise_jobs_and_mail(app: Flask) -> None:
    """Choose the job runner and mail outbox from the settings."""
    config = app.config
    if config.get("REDIS_URL"):
        config["CELERY_BROKER_URL"] = config.get("CELERY_BROKER_URL") or config["REDIS_URL"]
        config["CELERY_RESULT_BACKEND"] = config.get("CELERY_RESULT_BACKEND") or config["REDIS_URL"]
    if config.get("CELERY_ALWAYS_EAGER") is None:
        config["CELERY_ALWAYS_EAGER"] = not config.get("CELERY_BROKER_URL")
    if config.get("MAIL_BACKEND") == "file" and not config.get("MAIL_FILE_PATH"):
        config["MAIL_FILE_PATH"] = str(Path(app.instance_path) / "outbox")
    media = config.get("MEDIA_FOLDER")
    media_folder = Path(media).resolve() if media else Path(app.instance_path) / "media"
    config["MEDIA_FOLDER"] = str(media_folder)
    transfers = config.get("TRANSFER_FOLDER")
    folder = Path(transfers).resolve() if transfers else Path(app.instance_path) / "transfers"
    config["TRANSFER_FOLDER"] = str(folder)


# A local address for links when no SITE_URL is configured outside production.
DEFAULT_SITE_URL = {"development": "http://127.0.0.1:{port}", "testing": "http://localhost"}
LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "::1")


def _finalise_site_url(config: Any) -> None:
    """Every absolute URL comes from SITE_URL, so production must say what it is."""
    site_url = config.get("SITE_URL")
    if not site_url:
        if config["ENV_NAME"] == "production":
            raise InvalidConfiguration(
                "SITE_URL is not set. Production builds every link in emails, feeds and API "
                "headers from it (never from the Host header a client sends), e.g. "
                "SITE_URL=https://blog.example.com"
            )
        template = DEFAULT_SITE_URL.get(config["ENV_NAME"], DEFAULT_SITE_URL["development"])
        config["SITE_URL"] = template.format(port=os.environ.get("PORT") or "5000")
        return
    parts = urlsplit(site_url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidConfiguration(
            f"SITE_URL={site_url!r} must be an http:// or https:// address with a host name, "
            "e.g. SITE_URL=https://blog.example.com"
        )
    if config.get("TRUSTED_HOSTS") is None:
        config["TRUSTED_HOSTS"] = [parts.hostname, *LOOPBACK_HOSTS]


def _finalise_membership(config: Any) -> None:
    """Refuse to start with a registration policy or default role that does not exist."""
    for key, choices in (("REGISTRATION", REGISTRATION_POLICIES), ("DEFAULT_ROLE", ROLE_NAMES)):
        value = config.get(key)
        if value is None or value == "":
            config[key] = None
            continue
        value = str(value).strip().lower()
        if value not in choices:
            raise InvalidConfiguration(f"{key}={config[key]!r} is not one of: {', '.join(choices)}")
        config[key] = value
    if int(config["INVITE_MAX_AGE"]) <= 0:
        raise InvalidConfiguration("INVITE_MAX_AGE must be a number of seconds above 0.")


def _use_redis(config: Any, url: str) -> None:
    """Share rate limits and the cache through Redis; keep each working while Redis is down."""
    timeouts = {
        "socket_connect_timeout": config["REDIS_SOCKET_TIMEOUT"],
        "socket_timeout": config["REDIS_SOCKET_TIMEOUT"],
    }
    config.setdefault("RATELIMIT_STORAGE_URI", url)
    if config["RATELIMIT_STORAGE_URI"] == "memory://":
        config["RATELIMIT_STORAGE_URI"] = url
    if config["RATELIMIT_STORAGE_URI"].startswith("redis"):
        config.setdefault("RATELIMIT_STORAGE_OPTIONS", timeouts)
        # Limits count per process while Redis is unreachable, shared again once it is back.
        config["RATELIMIT_IN_MEMORY_FALLBACK_ENABLED"] = True
    if config["CACHE_TYPE"] in ("SimpleCache", "RedisCache"):
        # Redis unreachable reads as a cache miss instead of failing the page.
        config["CACHE_TYPE"] = "penpress.caching.ResilientRedisCache"
        config["CACHE_REDIS_URL"] = url
        # Flask-Caching passes CACHE_REDIS_DB over the URL's database number.
        config["CACHE_REDIS_DB"] = _redis_db(url)
        config.setdefault("CACHE_OPTIONS", timeouts)
        config.setdefault("CACHE_KEY_PREFIX", "penpress:")


def _redis_db(url: str) -> int:
    path = urlsplit(url).path.strip("/")
    return int(path) if path.isdigit() else 0


def _instance_secret(instance: Path) -> str:
    """A per-installation secret kept in the instance folder, so sessions survive restarts."""
    path = instance / "secret_key"
    if path.exists():
        return path.read_text().strip()
    instance.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_urlsafe(64)
    path.write_text(secret)
    path.chmod(0o600)
    return secret


def _normalise_database_url(url: str) -> str:
    """Accept the ``postgres://`` and ``postgresql://`` spellings and use psycopg 3."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url
