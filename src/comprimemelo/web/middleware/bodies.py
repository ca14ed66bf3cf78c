"""Request bodies: how large each route's may be, and how JSON objects are read.

Every request body is capped at ``SMALL_BODY_BYTES`` unless its view declares
more with ``accepts_body``: before that cap, the sign-up and log-in routes took
an 80 MB username each (and the failed-login limiter kept it for an hour).
The cap is set before any hook or the CSRF check reads the body, and a body
over it is answered 413 before it is read.
"""

from __future__ import annotations

from collections.abc import Callable

from flask import Flask, request

from comprimemelo.domain.errors import InvalidInput, UnsupportedMediaType
from comprimemelo.settings import Settings

# Forms and JSON of every route that takes no file: a few KB is plenty.
SMALL_BODY_BYTES = 16 * 1024
_LIMIT = "comprimemelo_body_limit"

BodyLimit = Callable[[Settings], int]


def accepts_body(limit: BodyLimit):
    """Let the decorated view take a body of up to ``limit(settings)`` bytes."""

    def mark(view):
        setattr(view, _LIMIT, limit)
        return view

    return mark


def init_app(app: Flask, settings: Settings) -> None:
    """Register first: later hooks (the rate limits) may read the body."""
    app.config["MAX_CONTENT_LENGTH"] = SMALL_BODY_BYTES

    @app.before_request
    def _limit_body() -> None:
        limit = getattr(app.view_functions.get(request.endpoint), _LIMIT, None)
        if limit is not None:
            request.max_content_length = limit(settings)


def json_object() -> dict:
    """The request's JSON object body.

    :raise UnsupportedMediaType: if the body is not JSON.
    :raise InvalidInput: if it is not a JSON object (malformed JSON included).
    """
    if not request.is_json:
        raise UnsupportedMediaType("send a JSON body with Content-Type: application/json")
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise InvalidInput("the body must be a JSON object", code="invalid_json")
    return data
