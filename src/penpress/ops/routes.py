"""``/healthz`` (the process answers), ``/readyz`` (it can serve) and ``/metrics``."""

from __future__ import annotations

import hmac
import ipaddress

from flask import Blueprint, Response, abort, current_app, jsonify, request

from penpress.errors import UNAVAILABLE_RETRY_AFTER
from penpress.ops import metrics
from penpress.ops.health import check_readiness

bp = Blueprint("ops", __name__)


@bp.get("/healthz")
def healthz() -> Response:
    """Liveness: answers without touching the database, so a slow database never kills it."""
    response = jsonify(status="ok")
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/readyz")
def readyz() -> Response:
    """Readiness: 200 when the database, migrations and Redis (if configured) are fine, else 503."""
    readiness = check_readiness(current_app)
    response = jsonify(
        status="ready" if readiness.ready else "unavailable", checks=readiness.checks
    )
    response.headers["Cache-Control"] = "no-store"
    if not readiness.ready:
        response.status_code = 503
        response.headers["Retry-After"] = str(UNAVAILABLE_RETRY_AFTER)
    return response


@bp.get("/metrics")
def metrics_endpoint() -> Response:
    """Prometheus text format: with METRICS_TOKEN set, for bearers of it; without, only for
    clients on loopback or private networks (404 to anyone else, and when disabled)."""
    if not current_app.config["METRICS_ENABLED"]:
        abort(404)
    token = current_app.config.get("METRICS_TOKEN")
    if not token and not _internal_client():
        abort(404)
    if token:
        given = request.headers.get("Authorization", "")
        expected = f"Bearer {token}"
        if not hmac.compare_digest(given.encode(), expected.encode()):
            return Response(
                "A valid metrics token is required.\n",
                status=401,
                mimetype="text/plain",
                headers={"WWW-Authenticate": 'Bearer realm="metrics"', "Cache-Control": "no-store"},
            )
    body, content_type = metrics.render()
    return Response(body, content_type=content_type, headers={"Cache-Control": "no-store"})


def _internal_client() -> bool:
    """The client address (as ProxyFix resolved it) is loopback or private."""
    try:
        address = ipaddress.ip_address(request.remote_addr or "")
    except ValueError:
        return False
    return address.is_loopback or address.is_private
