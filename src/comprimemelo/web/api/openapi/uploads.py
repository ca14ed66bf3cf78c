"""The OpenAPI description of ``/api/uploads``: resumable uploads."""

from __future__ import annotations

from comprimemelo.services.uploads import UploadState
from comprimemelo.web.api.openapi.common import (
    IDEMPOTENCY_KEY,
    LOCATION,
    REPLAYED,
    RETRY_AFTER,
    SECURED,
    UNAUTHORIZED,
    UPLOAD_ID,
    UPLOAD_RANGE,
    error,
    json_content,
    ref,
    touches_database,
)

SCHEMAS = {
    "Upload": {
        "type": "object",
        "required": [
            "id", "file_name", "size", "content_type", "offset", "state", "upload_url", "method",
            "chunk_bytes", "expires_at", "task_id",
        ],
        "properties": {
            "id": {"type": "string"},
            "file_name": {"type": "string"},
            "size": {"type": "integer"},
            "content_type": {"type": "string", "description": "`application/octet-stream` when none was given"},
            "offset": {"type": "integer", "description": "Bytes received so far"},
            "state": {"type": "string", "enum": [state.value for state in UploadState]},
            "upload_url": {"type": "string"},
            "method": {"type": "string", "const": "PUT"},
            "chunk_bytes": {"type": "integer", "description": "The chunk size to send"},
            "expires_at": {"type": ["string", "null"], "format": "date-time"},
            "task_id": {"type": ["integer", "null"]},
        },
    },
}

PATHS = {
    "/api/uploads": {
        "post": {
            "summary": "Open a resumable upload of one big file",
            "operationId": "create_upload",
            "description": "Answers where to send the bytes (`upload_url`, method `PUT`): Cloud Storage's "
            "resumable session URI, or `PUT /api/uploads/{upload_id}` in embedded mode. Then "
            "`POST /api/uploads/{upload_id}/complete` makes a task of it.",
            "security": SECURED,
            "parameters": [IDEMPOTENCY_KEY],
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": ref("NewUpload")}},
            },
            "responses": touches_database({
                "201": json_content(ref("Upload"), "Opened; `Location` names the upload", {**LOCATION, **REPLAYED}),
                "400": error("Missing or malformed file_name, size, content_type or Idempotency-Key"),
                "401": UNAUTHORIZED,
                "409": error("A request with this Idempotency-Key is still running", RETRY_AFTER),
                "413": error("Larger than the deployment's limit for resumable uploads"),
                "415": error("Body is not JSON"),
                "422": error("This Idempotency-Key was used for a different request"),
            }),
        }
    },
    "/api/uploads/{upload_id}": {
        "parameters": [UPLOAD_ID],
        "get": {
            "summary": "An upload and how many bytes it holds",
            "operationId": "get_upload",
            "security": SECURED,
            "responses": touches_database({
                "200": json_content(ref("Upload"), "The upload", UPLOAD_RANGE),
                "401": UNAUTHORIZED,
                "404": error("No such upload, it expired, or it is someone else's"),
            }),
        },
        "delete": {
            "summary": "Cancel an upload and delete its bytes",
            "operationId": "cancel_upload",
            "security": SECURED,
            "responses": touches_database({
                "204": {"description": "Cancelled"},
                "401": UNAUTHORIZED,
                "404": error("No such upload, or it is someone else's"),
                "409": error("Already an input of a task (delete the task instead)"),
            }),
        },
        "put": {
            "summary": "Send a chunk, or ask the offset (embedded mode)",
            "operationId": "send_upload_chunk",
            "description": "`Content-Range: bytes FIRST-LAST/SIZE` with the chunk, or `bytes */SIZE` with "
            "an empty body to ask how many bytes arrived. The upload id is the capability: no "
            "credentials are needed, and another user's get 404.",
            "security": [],
            "parameters": [{
                "name": "Content-Range",
                "in": "header",
                "required": True,
                "schema": {"type": "string", "examples": ["bytes 0-1048575/4194304", "bytes */4194304"]},
            }],
            "requestBody": {
                "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}},
            },
            "responses": touches_database({
                "200": json_content(ref("Upload"), "Every byte arrived"),
                "308": json_content(ref("Upload"), "More bytes expected; `Range` says which arrived",
                             UPLOAD_RANGE),
                "400": error("Malformed or out-of-range Content-Range, or a wrong Content-Length"),
                "404": error("No such upload, it expired, or it is someone else's"),
                "409": error("The chunk does not start where the stored bytes end (`offset` and "
                              "`Range` say where), the upload is complete, or its bytes go to "
                              "Cloud Storage", UPLOAD_RANGE),
                "413": error("Chunk larger than the configured request limit"),
            }),
        },
    },
    "/api/uploads/{upload_id}/complete": {
        "parameters": [UPLOAD_ID],
        "post": {
            "summary": "Make a task of this upload and any others named in `uploads` (one archive)",
            "operationId": "complete_upload",
            "security": SECURED,
            "parameters": [IDEMPOTENCY_KEY],
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": ref("CompleteUpload")}},
            },
            "responses": touches_database({
                "201": json_content(ref("Task"), "Accepted; `Location` names the task", {**LOCATION, **REPLAYED}),
                "400": error("Unknown format, bad level, password, retention or Idempotency-Key, "
                              "repeated or too many uploads"),
                "401": UNAUTHORIZED,
                "404": error("An upload is unknown, expired or someone else's"),
                "409": error("An upload is incomplete (`offset` says how far it got), already "
                              "submitted, or a request with this Idempotency-Key is still running",
                              {**UPLOAD_RANGE, **{name: {**h, "required": False} for name, h in RETRY_AFTER.items()}}),
                "413": error("The uploads together exceed the per-task limit"),
                "415": error("Body is not JSON"),
                "422": error("This Idempotency-Key was used for a different request"),
            }),
        },
    },
}
