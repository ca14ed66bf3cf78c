"""The OpenAPI description of ``/api/account`` and of the quota errors, merged
into ``openapi.openapi_document`` (as ``openapi_notifications`` is)."""

from __future__ import annotations

from comprimemelo.quotas import Quota
from comprimemelo.web.bodies import SMALL_BODY_BYTES
from comprimemelo.web.openapi import RETRY_AFTER, SECURED, UNAUTHORIZED, UNAVAILABLE, _json, _ref

NULLABLE_TIME = {"type": ["string", "null"], "format": "date-time"}
OPTIONAL_RETRY_AFTER = {name: {**header, "required": False} for name, header in RETRY_AFTER.items()}

SCHEMAS = {
    "QuotaError": {
        "type": "object",
        "required": ["error"],
        "properties": {
            "error": {
                "type": "object",
                "required": ["code", "message", "quota", "limit", "used", "frees_at"],
                "properties": {
                    "code": {"type": "string", "const": "quota_exceeded"},
                    "message": {"type": "string"},
                    "quota": {"type": "string", "enum": [quota.value for quota in Quota]},
                    "limit": {"type": "integer"},
                    "used": {"type": "integer"},
                    "frees_at": {**NULLABLE_TIME, "description": "When room frees, where that is known "
                                 "(the next file to expire, the hour's end); `Retry-After` then says it in seconds"},
                },
            }
        },
    },
    "QuotaUse": {
        "type": "object",
        "required": ["used", "limit"],
        "properties": {"used": {"type": "integer"}, "limit": {"type": "integer", "description": "0: no limit"}},
    },
    "Account": {
        "type": "object",
        "required": ["id", "username", "email", "quotas", "hour_resets_at"],
        "properties": {
            "id": {"type": "integer"},
            "username": {"type": "string"},
            "email": {"type": "string"},
            "quotas": {
                "type": "object",
                "required": [quota.value for quota in Quota],
                "properties": {quota.value: _ref("QuotaUse") for quota in Quota},
                "description": "`storage_bytes`: originals, archives and unfinished uploads kept; "
                "`live_tasks`: queued or processing; `open_uploads`: upload sessions not yet a task's; "
                "`tasks_per_hour`: tasks made in the hour that began with the first of them",
            },
            "hour_resets_at": NULLABLE_TIME,
        },
    },
}

PATHS = {
    "/api/account": {
        "get": {
            "summary": "The caller's account and its use of each quota",
            "security": SECURED,
            "responses": {
                "200": _json(_ref("Account"), "The account"),
                "401": UNAUTHORIZED,
                "503": UNAVAILABLE,
            },
        },
    },
}

# Operations that create a task or an upload session, and the quotas they take.
QUOTA_OPERATIONS = {
    ("/api/tasks", "post"): "storage, live tasks or tasks per hour",
    ("/api/uploads", "post"): "storage (the declared size counts) or open uploads",
    ("/api/uploads/{upload_id}/complete", "post"): "live tasks or tasks per hour",
}
BODY_TOO_LARGE = f"Body over the route's limit ({SMALL_BODY_BYTES} bytes unless the route takes files)"


def _quota_response(status: str, which: str, existing: dict | None) -> dict:
    schema = _ref("QuotaError")
    if existing is not None:  # the route's own error of that status, or a quota's
        schema = {"anyOf": [existing["content"]["application/json"]["schema"], schema]}
    description = f"Over the caller's {which} quota" if existing is None else (
        f"{existing['description']}; or over the caller's {which} quota")
    return {
        "description": description,
        "content": {"application/json": {"schema": schema}},
        "headers": {**existing.get("headers", {}), **OPTIONAL_RETRY_AFTER} if existing else OPTIONAL_RETRY_AFTER,
    }


def merge(document: dict) -> dict:
    """Add the account routes and schemas, the quota errors of the creating
    routes, and the 413 of every route that takes a body."""
    from comprimemelo.web.openapi import _error

    document["paths"].update(PATHS)
    document["components"]["schemas"].update(SCHEMAS)
    for (path, method), which in QUOTA_OPERATIONS.items():
        responses = document["paths"][path][method]["responses"]
        responses["413"] = _quota_response("413", which, responses.get("413"))
        responses["429"] = _quota_response("429", which, responses.get("429"))
    for operations in document["paths"].values():
        for operation in operations.values():
            if isinstance(operation, dict) and "requestBody" in operation:
                operation["responses"].setdefault("413", _error(BODY_TOO_LARGE))
    return document
