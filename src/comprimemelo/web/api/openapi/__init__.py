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
TAGS = {
    "auth": "Sign up, log in, log out",
    "tasks": "Upload files to compress, follow their tasks, download the original or the archive",
    "uploads": "Resumable uploads of big files, in chunks, made into a task when complete",
    "notifications": "E-mail and webhooks when a task finishes",
    "account": "The account: its use of the quotas, its e-mail address's verification, its deletion",
    "system": "Liveness and readiness probes",
}
SCHEMA_REF = "#/components/schemas/{name}"


@functools.cache
def openapi_document() -> dict:
    _, generated = msgspec.json.schema_components(schemas.REQUEST_BODIES, ref_template=SCHEMA_REF)
    components: dict = {}
    paths: dict = {}
    for area in AREAS:
        components.update(getattr(area, "SCHEMAS", {}))
        paths.update(tagged(area.PATHS, area_name(area)))
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
        "tags": [{"name": name, "description": description} for name, description in TAGS.items()],
        "paths": paths,
        "webhooks": notifications.WEBHOOKS,
    }
    return account.with_quota_and_size_errors(document)


def area_name(area) -> str:
    return area.__name__.rsplit(".", 1)[-1]


def tagged(paths: dict, tag: str) -> dict:
    """``paths`` with each operation under its area's tag (a generated client's module)."""
    return {path: {method: {"tags": [tag], **operation} if isinstance(operation, dict) and "responses" in operation
                   else operation for method, operation in item.items()}
            for path, item in paths.items()}


__all__ = ["openapi_document"]
