"""What the parts of the OpenAPI document share: references, error and JSON
responses, the headers and parameters several routes take, the formats."""

from __future__ import annotations

from comprimemelo.compression import ArchiveFormat, Preset
from comprimemelo.web.api.idempotency import HEADER as IDEMPOTENCY_HEADER
from comprimemelo.web.api.idempotency import REPLAYED_HEADER
from comprimemelo.web.api.tasks import MAX_TASK_ID, ORIGINAL_MEDIA_TYPE

FORMATS = [fmt.value for fmt in ArchiveFormat]
PRESETS = [preset.value for preset in Preset]
LEVELS = "; ".join(
    f"{fmt.value}: {fmt.level_range[0]}-{fmt.level_range[1]} (default {fmt.default_level}; "
    + ", ".join(f"{preset.value} = {fmt.preset_level(preset)}" for preset in Preset)
    + ")"
    for fmt in ArchiveFormat
)
NULLABLE_TIME = {"type": ["string", "null"], "format": "date-time"}


def ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def error(description: str, headers: dict | None = None) -> dict:
    response = {"description": description, "content": {"application/json": {"schema": ref("Error")}}}
    if headers:
        response["headers"] = headers
    return response


def json_content(schema: dict, description: str, headers: dict | None = None) -> dict:
    response = {"description": description, "content": {"application/json": {"schema": schema}}}
    if headers:
        response["headers"] = headers
    return response


RETRY_AFTER = {
    "Retry-After": {
        "description": "Seconds to wait before trying again",
        "required": True,
        "schema": {"type": "integer", "minimum": 0},
    }
}
LOCATION = {
    "Location": {"description": "The URL of the new task", "required": True, "schema": {"type": "string"}}
}
UNAUTHORIZED = error("No, invalid, expired or revoked token")
NOT_FOUND = error("No such task, or it belongs to someone else")
UNAVAILABLE = error("A backend is unavailable; retry after `Retry-After` seconds", RETRY_AFTER)
TOO_MANY_REQUESTS = error(
    "Too many attempts from this address or for this account; retry after `Retry-After` seconds",
    RETRY_AFTER,
)
# Larger task ids answer 404 like any unknown task (see MAX_TASK_ID).
TASK_ID = {
    "name": "task_id",
    "in": "path",
    "required": True,
    "schema": {"type": "integer", "minimum": 1, "maximum": MAX_TASK_ID},
}
SECURED = [{"bearerAuth": []}]
BINARY = {"schema": {"type": "string", "format": "binary"}}
ORIGINAL_RESPONSE = {"description": "The original file as an attachment", "content": {ORIGINAL_MEDIA_TYPE: BINARY}}
# The format's own media type, or application/octet-stream to a client whose
# Accept asks only for that: generators (openapi-python-client) omit a response
# whose media types they do not know, so it is listed first.
ARCHIVE_RESPONSE = {
    "description": "The archive as an attachment, with its format's media type (bytes to a generic client)",
    "content": {ORIGINAL_MEDIA_TYPE: BINARY, **{fmt.media_type: BINARY for fmt in ArchiveFormat}},
}
ANY_FILE_RESPONSE = {
    "description": "The original or the archive as an attachment",
    "content": {**ORIGINAL_RESPONSE["content"], **ARCHIVE_RESPONSE["content"]},
}
REDIRECT = {"description": "Redirect to a short-lived signed URL (Cloud Storage)"}
EXPIRED = error("The task expired: its retention ended and its files were deleted")
LIST_ETAG = {
    "ETag": {
        "description": "Names this list's bytes; send it back in `If-None-Match` to poll without a body",
        "schema": {"type": "string"},
    },
}
IDEMPOTENCY_KEY = {
    "name": IDEMPOTENCY_HEADER,
    "in": "header",
    "required": False,
    "description": "Any unique string (1-255 printable ASCII characters, e.g. a UUID). A retry with the "
    "same key and the same request returns the first response (with `Idempotent-Replayed: true`) and "
    "never creates a second task; keys are kept for 24 hours, per user.",
    "schema": {"type": "string", "pattern": "^[\\x21-\\x7e]{1,255}$"},
}
REPLAYED = {
    REPLAYED_HEADER: {
        "description": "Present (`true`) when this is the stored response of an earlier request with the same key",
        "schema": {"type": "string", "const": "true"},
    }
}


UPLOAD_ID = {"name": "upload_id", "in": "path", "required": True, "schema": {"type": "string"}}
UPLOAD_RANGE = {
    "Range": {
        "description": "`bytes=0-LAST`: the bytes stored so far (absent while none are)",
        "schema": {"type": "string", "pattern": "^bytes=0-[0-9]+$"},
    }
}


def touches_database(responses: dict) -> dict:
    """``responses`` plus the 503 every operation that reads the database may answer."""
    return {**responses, "503": UNAVAILABLE}
