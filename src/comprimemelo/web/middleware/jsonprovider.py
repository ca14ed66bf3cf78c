"""JSON serialised and parsed by orjson.

Encoding a 20-task list with the standard library took a tenth of the API's
busiest request. Responses are what Flask's own provider writes, keys sorted,
with its ``default`` for other types (dates as HTTP dates, decimals, UUIDs);
templates' ``tojson`` stays Flask's.

Request bodies are parsed by orjson too, for safety more than speed: it
refuses what the standard library lets through into our code and database,
each as a ``ValueError`` that Flask answers 400 (or ``get_json(silent=True)``
turns into ``None``): nesting deeper than 1024 (the standard parser's
``RecursionError`` was a 500), lone surrogates (PostgreSQL refuses them in
text), ``NaN`` and ``Infinity``. Integers beyond 64 bits arrive as floats, which
every integer field refuses.
"""

from __future__ import annotations

from typing import Any

import orjson
from flask import Response
from flask.json.provider import DefaultJSONProvider

OPTIONS = orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS | orjson.OPT_PASSTHROUGH_DATETIME


class SafeJsonProvider(DefaultJSONProvider):
    """Flask's provider, parsing request bodies with orjson (always: it is a
    safety rule, not a tuning)."""

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        """:raise ValueError: (``orjson.JSONDecodeError``) on anything but plain JSON."""
        return orjson.loads(s)


class OrjsonProvider(SafeJsonProvider):
    """Responses encoded by orjson too (``tuning.FLASK_ORJSON_RESPONSES``): it
    relies on ``DefaultJSONProvider._prepare_response_obj``, a private method."""

    def response(self, *args: Any, **kwargs: Any) -> Response:
        if (self.compact is None and self._app.debug) or self.compact is False:
            return super().response(*args, **kwargs)  # indented, for people
        obj = self._prepare_response_obj(args, kwargs)
        body = orjson.dumps(obj, default=self.default, option=OPTIONS) + b"\n"
        return self._app.response_class(body, mimetype=self.mimetype)
