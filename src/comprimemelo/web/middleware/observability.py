"""Per-request plumbing: a request id, one access-log line, metrics, security headers."""

from __future__ import annotations

import logging
import os
import re
import time

from flask import Flask, Response, g, request

from comprimemelo import metrics

access_log = logging.getLogger("comprimemelo.access")

REQUEST_ID_HEADER = "X-Request-Id"
# A client-sent id is kept only if it is short and harmless in a log line.
CLIENT_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")
HSTS = "max-age=31536000; includeSubDomains"
API_CSP = "default-src 'none'; frame-ancestors 'none'"
QUIET_PATHS = frozenset({"/healthz", "/readyz"})
SECURITY_HEADERS = (
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "strict-origin-when-cross-origin"),
    ("X-Frame-Options", "DENY"),
)
JSON_HEADERS = (("Content-Security-Policy", API_CSP),)
SECURE_HEADERS = (("Strict-Transport-Security", HSTS),)


def init_app(app: Flask) -> None:
    @app.before_request
    def _start() -> None:
        g.request_id = request_id_for(request.headers.get(REQUEST_ID_HEADER, ""))
        g.started = time.perf_counter()

    @app.after_request
    def _finish(response: Response) -> Response:
        # The request's attributes are read once: each read of ``request`` or
        # ``g`` goes through a context-local proxy.
        req, ctx = request._get_current_object(), g._get_current_object()
        method, path, status = req.method, req.path, response.status_code
        request_id = getattr(ctx, "request_id", "")
        headers = response.headers
        headers[REQUEST_ID_HEADER] = request_id
        # What a view set itself wins. One pass over the names, not a setdefault
        # per header: werkzeug's scans them all each time (6% of a task list).
        present = {name.lower() for name in headers.keys()}
        for name, value in default_headers(json=response.mimetype == "application/json", secure=req.is_secure):
            if name.lower() not in present:
                headers.add(name, value)
        seconds = time.perf_counter() - getattr(ctx, "started", time.perf_counter())
        # Route templates, never raw paths: one series per endpoint, not per task id.
        route = req.url_rule.rule if req.url_rule else "unmatched"
        record(method, route, path, status, seconds, request_id)
        return response


def request_id_for(sent: str) -> str:
    """The id a request is logged and answered under: the client's, if harmless,
    else 128 random bits in hex (as ``uuid4().hex`` is, at a third of its cost)."""
    return sent if CLIENT_REQUEST_ID.match(sent) else os.urandom(16).hex()


def default_headers(*, json: bool, secure: bool) -> tuple[tuple[str, str], ...]:
    """The security headers every response carries unless its view set them."""
    defaults = SECURITY_HEADERS
    if json:
        defaults += JSON_HEADERS
    if secure:
        defaults += SECURE_HEADERS
    return defaults


# Each (method, route, status)'s counter and histogram: prometheus_client's
# ``labels`` takes a lock and builds its key on every call. Routes are
# templates and methods a fixed set, so this stays small.
_series: dict[tuple[str, str, int], tuple] = {}


def record(method: str, route: str, path: str, status: int, seconds: float, request_id: str) -> None:
    """Count the request in the metrics and write its access-log line."""
    counted = method if method in metrics.HTTP_METHODS else "other"
    series = _series.get((counted, route, status))
    if series is None:
        series = _series[counted, route, status] = (metrics.HTTP_REQUESTS.labels(counted, route, str(status)),
                                                    metrics.HTTP_SECONDS.labels(counted, route))
    series[0].inc()
    series[1].observe(seconds)
    if path not in QUIET_PATHS:
        duration_ms = round(seconds * 1000, 1)
        access_log.info(
            "%s %s %s %.1fms",
            method,
            path,
            status,
            duration_ms,
            extra={
                "request_id": request_id or None,
                "method": method,
                "path": path,
                "status": status,
                "duration_ms": duration_ms,
            },
        )
