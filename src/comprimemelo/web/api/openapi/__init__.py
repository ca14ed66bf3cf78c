"""The OpenAPI 3.1 document of the REST API, assembled from one module per
area (``auth``, ``tasks``, ``uploads``, ``notifications``, ``account``,
``system``) and the request bodies' schemas, generated from the very types the
routes validate with (``web/api/schemas.py``), each with an example
(``examples``).

Tests validate it and fuzz the running service against it
(``tests/integration/test_api_fuzz.py``): every response must have a documented
status, content type, headers and body. Prometheus' ``GET /metrics`` is
deliberately not part of it: it is for scrapers, not API clients.
"""

from __future__ import annotations

import functools

import msgspec

from comprimemelo import __version__
from comprimemelo.web.api import schemas
from comprimemelo.web.api.openapi import account, auth, examples, notifications, system, tasks, uploads

AREAS = (auth, tasks, uploads, notifications, account, system)
SCHEMA_REF = "#/components/schemas/{name}"


@functools.cache
def openapi_document() -> dict:
    _, generated = msgspec.json.schema_components(schemas.REQUEST_BODIES, ref_template=SCHEMA_REF)
    components: dict = {}
    paths: dict = {}
    for area in AREAS:
        components.update(getattr(area, "SCHEMAS", {}))
        paths.update(area.PATHS)
    document = {
        "openapi": "3.1.0",
        "info": {
            "title": "comprimemelo",
            "version": __version__,
            "description": "Upload files and get them back compressed.",
        },
        "components": {
            "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}},
            "schemas": examples.with_examples({**components, **generated}),
        },
        "paths": paths,
        "webhooks": notifications.WEBHOOKS,
    }
    return account.with_quota_and_size_errors(document)


__all__ = ["openapi_document"]
