"""Operations: proxy headers, health and readiness checks, Prometheus metrics."""

from __future__ import annotations

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from penpress import ratelimits
from penpress.extensions import csrf
from penpress.ops import metrics
from penpress.ops.routes import bp

_PROXY_HEADERS = ("for", "proto", "host", "port", "prefix")


def init_app(app: Flask) -> None:
    """Trust proxy headers as configured, serve /healthz, /readyz and /metrics, count tasks."""
    apply_proxy_fix(app)
    ratelimits.exempt(bp)  # probes and scrapes must never be rate limited
    csrf.exempt(bp)
    app.register_blueprint(bp)
    metrics.init_app(app)


def apply_proxy_fix(app: Flask) -> None:
    """Wrap the app in ProxyFix only when PROXY_FIX_X_* say how many proxies set each header."""
    config = app.config
    counts = {f"x_{name}": int(config[f"PROXY_FIX_X_{name.upper()}"]) for name in _PROXY_HEADERS}
    if any(counts.values()):
        app.wsgi_app = ProxyFix(app.wsgi_app, **counts)  # type: ignore[method-assign]
