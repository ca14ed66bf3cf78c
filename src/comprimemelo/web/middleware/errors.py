"""The single error shape: ``{"error": {"code": ..., "message": ...}}``.

Every exception that reaches Flask is translated here and nowhere else. Backend
outages become 503 with ``Retry-After``; anything unexpected is logged with its
stack and answered with a bare 500 that reveals nothing.
"""

from __future__ import annotations

import logging
import re

from flask import Flask, has_request_context, jsonify, request
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from werkzeug.exceptions import HTTPException

from comprimemelo.domain.errors import ComprimemeloError, Unavailable
from comprimemelo.queue import QueueError
from comprimemelo.storage import StorageError

log = logging.getLogger(__name__)


def error_response(status: int, code: str, message: str, headers: dict | None = None, details: dict | None = None):
    """The JSON error shape for API paths (``details`` joining ``code`` and
    ``message``); the web UI's HTML page for the others."""
    from comprimemelo.web.ui import pages

    if has_request_context() and not pages.is_api_path(request.path):
        try:
            response = pages.render_error_page(status, code, message)
        except Exception:  # the page itself failed: fall back to the JSON shape
            log.exception("could not render the error page for %s", request.path)
            response = jsonify(error={**(details or {}), "code": code, "message": message})
    else:
        response = jsonify(error={**(details or {}), "code": code, "message": message})
    response.status_code = status
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def _snake(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")


def init_app(app: Flask) -> None:
    @app.errorhandler(ComprimemeloError)
    def _domain(error: ComprimemeloError):
        headers = {}
        if getattr(error, "retry_after", None):
            headers["Retry-After"] = str(error.retry_after)
        return error_response(error.status, error.code, error.message, headers, error.details())

    @app.errorhandler(HTTPException)
    def _http(error: HTTPException):
        if error.code == 413:
            message = f"request body too large: the limit is {request.max_content_length} bytes"
        else:
            message = error.description or error.name
        response = error_response(error.code or 500, _snake(error.name), message)
        if error.code == 405 and error.response is None:
            response.headers["Allow"] = ", ".join(error.valid_methods or [])
        return response

    @app.errorhandler(DBAPIError)
    def _database_error(error: DBAPIError):
        # Only a lost or refused connection is an outage a retry can outlive;
        # anything else the driver raises is a bug of ours, not the client's.
        if isinstance(error, (OperationalError, InterfaceError)) or error.connection_invalidated:
            log.warning("database unavailable on %s %s: %s", request.method, request.path, error)
            return _unavailable("the database is unavailable; try again shortly")
        log.exception("database error on %s %s", request.method, request.path)
        return error_response(500, "internal_error", "internal server error")

    @app.errorhandler(StorageError)
    def _storage_down(error: StorageError):
        log.warning("storage unavailable on %s %s: %s", request.method, request.path, error)
        return _unavailable("storage is unavailable; try again shortly")

    @app.errorhandler(QueueError)
    def _queue_down(error: QueueError):
        log.warning("queue unavailable on %s %s: %s", request.method, request.path, error)
        return _unavailable("the task queue is unavailable; try again shortly")

    @app.errorhandler(Exception)
    def _unexpected(error: Exception):
        log.exception("unhandled error on %s %s", request.method, request.path)
        return error_response(500, "internal_error", "internal server error")


def _unavailable(message: str):
    return error_response(
        503, Unavailable.code, message, {"Retry-After": str(Unavailable.retry_after)}
    )
