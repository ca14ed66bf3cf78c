"""Health, readiness, metrics, the OpenAPI document and its docs page."""

from __future__ import annotations

import ipaddress
import logging

from flask import Blueprint, Response, abort, current_app, request
from prometheus_client import generate_latest

from comprimemelo import db, metrics
from comprimemelo.web.api.openapi import openapi_document
from comprimemelo.web.context import backends

bp = Blueprint("system", __name__)
HTTP_METHODS = ("get", "post", "put", "patch", "delete")
log = logging.getLogger(__name__)

DOCS_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>comprimemelo API</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem}
code,pre{background:#f4f4f6;border-radius:4px;padding:.1rem .3rem}pre{padding:1rem;overflow:auto}
h2{margin-top:2rem;border-bottom:1px solid #ddd}.m{font-weight:700;text-transform:uppercase}</style>
</head><body><h1>comprimemelo REST API</h1>
<p>Machine-readable: <a href="/api/openapi.json">/api/openapi.json</a> (OpenAPI 3.1).
Authenticate with <code>POST /api/auth/login</code>, then send
<code>Authorization: Bearer &lt;access_token&gt;</code>.</p>
{body}</body></html>"""


@bp.get("/healthz")
def healthz():
    return {"status": "ok"}


@bp.get("/readyz")
def readyz():
    app = backends()
    checks = {}
    for name, check in (
        ("database", lambda: db.ping(app.engine)),
        ("storage", app.storage.check),
        ("queue", app.queue.check),
    ):
        try:
            check()
            checks[name] = "ok"
        except Exception as error:  # any failure means "not ready", never a 500
            log.warning("readiness check %s failed: %s", name, error)
            checks[name] = "unavailable"
    ready = all(value == "ok" for value in checks.values())
    return {"status": "ok" if ready else "unavailable", "checks": checks}, 200 if ready else 503


@bp.get("/metrics")
def prometheus_metrics():
    """Prometheus text format, for scrapers on this machine only (the Ops Agent,
    or you on a laptop): anything that came through a proxy gets a 404."""
    if not _from_this_machine():
        abort(404)
    body = generate_latest(current_app.extensions[metrics.EXTENSION])
    return Response(body, content_type=metrics.CONTENT_TYPE)


def _from_this_machine() -> bool:
    """The TCP peer (before any X-Forwarded-For rewriting) is a loopback address."""
    peer = request.environ.get("werkzeug.proxy_fix.orig", {}).get("REMOTE_ADDR") or request.remote_addr
    try:
        return ipaddress.ip_address(peer or "").is_loopback
    except ValueError:
        return False


@bp.get("/api/openapi.json")
def openapi():
    return openapi_document()


@bp.get("/api/docs")
def docs():
    from html import escape

    sections = []
    for path, operations in openapi_document()["paths"].items():
        for method, operation in operations.items():
            if method not in HTTP_METHODS:
                continue
            codes = ", ".join(sorted(operation["responses"]))
            sections.append(
                f"<h2><span class=m>{method}</span> <code>{escape(path)}</code></h2>"
                f"<p>{escape(operation.get('summary', ''))}</p>"
                f"<p>{escape(operation.get('description', ''))}</p><p>Responses: {codes}</p>"
            )
    return Response(DOCS_PAGE.replace("{body}", "\n".join(sections)), mimetype="text/html")
