"""The OpenAPI description of ``/api/account``, and the rules of the whole
document about quotas (the creating routes' 413 and 429) and body sizes."""

from __future__ import annotations

from comprimemelo.services.quotas import Quota
from comprimemelo.web.api.openapi.common import (
    NULLABLE_TIME,
    RETRY_AFTER,
    SECURED,
    TOO_MANY_REQUESTS,
    UNAUTHORIZED,
    UNAVAILABLE,
    error,
    json_content,
    ref,
)
from comprimemelo.web.middleware.bodies import SMALL_BODY_BYTES

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
        "required": ["id", "username", "email", "email_verified", "quotas", "hour_resets_at"],
        "properties": {
            "id": {"type": "integer"},
            "username": {"type": "string"},
            "email": {"type": "string"},
            "email_verified": {
                "type": "boolean",
                "description": "Proven by a link mailed to it; no mail goes to an unconfirmed address",
            },
            "quotas": {
                "type": "object",
                "required": [quota.value for quota in Quota],
                "properties": {quota.value: ref("QuotaUse") for quota in Quota},
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
            "operationId": "get_account",
            "security": SECURED,
            "responses": {
                "200": json_content(ref("Account"), "The account"),
                "401": UNAUTHORIZED,
                "503": UNAVAILABLE,
            },
        },
        "delete": {
            "summary": "Delete the account and every task, file, upload, webhook and setting of it",
            "operationId": "delete_account",
            "description": "Needs the account's password again (a wrong one counts as a failed log-in). "
            "Its tokens stop working at once; stored files are deleted at once, or by the workers' next "
            "sweep if storage is down meanwhile.",
            "security": SECURED,
            "requestBody": {"required": True, "content": {"application/json": {"schema": ref("DeleteAccount")}}},
            "responses": {
                "204": {"description": "Deleted"},
                "400": error("The body is not a JSON object"),
                "401": UNAUTHORIZED,
                "403": error("Wrong password: nothing was deleted"),
                "415": error("Body is not JSON"),
                "429": TOO_MANY_REQUESTS,
                "503": UNAVAILABLE,
            },
        },
    },
    "/api/account/email-verification": {
        "post": {
            "summary": "Mail the account's address a new confirmation link",
            "operationId": "resend_email_verification",
            "security": SECURED,
            "responses": {
                "202": json_content({"type": "object", "required": ["sent", "email"], "properties": {
                    "sent": {"type": "boolean", "const": True}, "email": {"type": "string"}}}, "Queued for sending"),
                "401": UNAUTHORIZED,
                "409": error("The address is confirmed already"),
                "429": error("The address had its hour's share of mail", RETRY_AFTER),
                "503": UNAVAILABLE,
            },
        },
    },
    "/api/auth/verify-email": {
        "post": {
            "summary": "Confirm an address with the token of its link (no log-in needed)",
            "operationId": "verify_email",
            "requestBody": {"required": True, "content": {"application/json": {"schema": ref("VerifyEmail")}}},
            "responses": {
                "200": json_content({"type": "object", "required": ["id", "email", "email_verified"], "properties": {
                    "id": {"type": "integer"}, "email": {"type": "string"},
                    "email_verified": {"type": "boolean", "const": True}}}, "Confirmed"),
                "400": error("A forged or expired link, or one for an address the account no longer has "
                              "(`invalid_verification_link`)"),
                "409": error("Another account confirmed this address"),
                "415": error("Body is not JSON"),
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
    schema = ref("QuotaError")
    if existing is not None:  # the route's own error of that status, or a quota's
        schema = {"anyOf": [existing["content"]["application/json"]["schema"], schema]}
    description = f"Over the caller's {which} quota" if existing is None else (
        f"{existing['description']}; or over the caller's {which} quota")
    return {
        "description": description,
        "content": {"application/json": {"schema": schema}},
        "headers": {**existing.get("headers", {}), **OPTIONAL_RETRY_AFTER} if existing else OPTIONAL_RETRY_AFTER,
    }


def with_quota_and_size_errors(document: dict) -> dict:
    """Rules of the whole document: the quota errors of the creating routes, and
    the 413 of every route that takes a body."""
    for (path, method), which in QUOTA_OPERATIONS.items():
        responses = document["paths"][path][method]["responses"]
        responses["413"] = _quota_response("413", which, responses.get("413"))
        responses["429"] = _quota_response("429", which, responses.get("429"))
    for operations in document["paths"].values():
        for operation in operations.values():
            if isinstance(operation, dict) and "requestBody" in operation:
                operation["responses"].setdefault("413", error(BODY_TOO_LARGE))
    return document
