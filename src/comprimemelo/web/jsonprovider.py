"""JSON responses serialised by orjson.

Encoding a 20-task list with the standard library took a tenth of the API's
busiest request. Only responses change: ``dumps``/``loads`` (templates'
``tojson``, request bodies) stay Flask's, and the output is what Flask's own
provider writes, keys sorted, with its ``default`` for other types (dates
as HTTP dates, decimals, UUIDs).
"""

from __future__ import annotations

from typing import Any

import orjson
from flask import Response
from flask.json.provider import DefaultJSONProvider

OPTIONS = orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS | orjson.OPT_PASSTHROUGH_DATETIME


class OrjsonProvider(DefaultJSONProvider):
    def response(self, *args: Any, **kwargs: Any) -> Response:
        if (self.compact is None and self._app.debug) or self.compact is False:
            return super().response(*args, **kwargs)  # indented, for people
        obj = self._prepare_response_obj(args, kwargs)
        body = orjson.dumps(obj, default=self.default, option=OPTIONS) + b"\n"
        return self._app.response_class(body, mimetype=self.mimetype)
