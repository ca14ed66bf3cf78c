"""The OpenAPI 3.1 document of the REST API, kept beside the code it describes.

Tests validate it and fuzz the running service against it
(``tests/integration/test_api_fuzz.py``): every response must have a documented
status, content type, headers and body. Prometheus' ``GET /metrics`` is
deliberately not part of it: it is for scrapers, not API clients.
"""

from __future__ import annotations

import functools

from comprimemelo import __version__
from comprimemelo.compression import ArchiveFormat, Preset
from comprimemelo.compression.encryption import MAX_PASSWORD_CHARS
from comprimemelo.services.passwords import MAX_PASSWORD_LENGTH
from comprimemelo.services.uploads import UploadState
from comprimemelo.web.api.idempotency import HEADER as IDEMPOTENCY_HEADER
from comprimemelo.web.api.idempotency import REPLAYED_HEADER
from comprimemelo.web.api.tasks import MAX_TASK_ID, ORIGINAL_MEDIA_TYPE


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _error(description: str, headers: dict | None = None) -> dict:
    response = {"description": description, "content": {"application/json": {"schema": _ref("Error")}}}
    if headers:
        response["headers"] = headers
    return response


def _json(schema: dict, description: str, headers: dict | None = None) -> dict:
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
UNAUTHORIZED = _error("No, invalid, expired or revoked token")
NOT_FOUND = _error("No such task, or it belongs to someone else")
UNAVAILABLE = _error("A backend is unavailable; retry after `Retry-After` seconds", RETRY_AFTER)
TOO_MANY_REQUESTS = _error(
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
ARCHIVE_RESPONSE = {
    "description": "The archive as an attachment, with its format's media type",
    "content": {fmt.media_type: BINARY for fmt in ArchiveFormat},
}
ANY_FILE_RESPONSE = {
    "description": "The original or the archive as an attachment",
    "content": {**ORIGINAL_RESPONSE["content"], **ARCHIVE_RESPONSE["content"]},
}
REDIRECT = {"description": "Redirect to a short-lived signed URL (Cloud Storage)"}
EXPIRED = _error("The task expired: its retention ended and its files were deleted")
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


def _touches_database(responses: dict) -> dict:
    """``responses`` plus the 503 every operation that reads the database may answer."""
    return {**responses, "503": UNAVAILABLE}


@functools.cache
def openapi_document() -> dict:
    formats = [fmt.value for fmt in ArchiveFormat]
    presets = [preset.value for preset in Preset]
    levels = "; ".join(
        f"{fmt.value}: {fmt.level_range[0]}-{fmt.level_range[1]} (default {fmt.default_level}; "
        + ", ".join(f"{preset.value} = {fmt.preset_level(preset)}" for preset in Preset)
        + ")"
        for fmt in ArchiveFormat
    )
    document = {
        "openapi": "3.1.0",
        "info": {
            "title": "comprimemelo",
            "version": __version__,
            "description": "Upload files and get them back compressed.",
        },
        "components": {
            "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}},
            "schemas": {
                "Error": {
                    "type": "object",
                    "required": ["error"],
                    "properties": {
                        "error": {
                            "type": "object",
                            "required": ["code", "message"],
                            "properties": {"code": {"type": "string"}, "message": {"type": "string"}},
                        }
                    },
                },
                "Health": {
                    "type": "object",
                    "required": ["status"],
                    "properties": {"status": {"type": "string", "const": "ok"}},
                },
                "Readiness": {
                    "type": "object",
                    "required": ["status", "checks"],
                    "properties": {
                        "status": {"type": "string", "enum": ["ok", "unavailable"]},
                        "checks": {
                            "type": "object",
                            "additionalProperties": {"type": "string", "enum": ["ok", "unavailable"]},
                        },
                    },
                },
                "Signup": {
                    "type": "object",
                    "required": ["username", "email", "password1", "password2"],
                    "properties": {
                        "username": {"type": "string", "pattern": "^[A-Za-z0-9_.-]{3,64}$"},
                        "email": {"type": "string", "format": "email", "maxLength": 254},
                        "password1": {
                            "type": "string",
                            "minLength": 8,
                            "maxLength": MAX_PASSWORD_LENGTH,
                            "description": "Not one of the most common passwords; the minimum length is "
                            "configurable (8 by default)",
                        },
                        "password2": {
                            "type": "string",
                            "minLength": 8,
                            "maxLength": MAX_PASSWORD_LENGTH,
                            "description": "The same as `password1`",
                        },
                    },
                },
                "User": {
                    "type": "object",
                    "required": ["id", "username", "email"],
                    "properties": {
                        "id": {"type": "integer"},
                        "username": {"type": "string"},
                        "email": {"type": "string"},
                    },
                },
                "Login": {
                    "type": "object",
                    "required": ["username", "password"],
                    "properties": {
                        "username": {"type": "string", "minLength": 1, "description": "Username or e-mail"},
                        "password": {"type": "string", "minLength": 1},
                    },
                },
                "Token": {
                    "type": "object",
                    "required": ["access_token", "token_type", "expires_in"],
                    "properties": {
                        "access_token": {"type": "string"},
                        "token_type": {"type": "string", "const": "Bearer"},
                        "expires_in": {"type": "integer"},
                    },
                },
                "NewUpload": {
                    "type": "object",
                    "required": ["fileName", "size"],
                    "properties": {
                        "fileName": {"type": "string", "minLength": 1},
                        "size": {"type": "integer", "minimum": 0, "description": "The file's length in bytes"},
                        "contentType": {"type": "string", "description": "A media type such as `application/pdf`"},
                    },
                },
                "Upload": {
                    "type": "object",
                    "required": [
                        "id", "fileName", "size", "contentType", "offset", "state", "uploadUrl", "method",
                        "chunkBytes", "expiresAt", "taskId",
                    ],
                    "properties": {
                        "id": {"type": "string"},
                        "fileName": {"type": "string"},
                        "size": {"type": "integer"},
                        "contentType": {"type": "string"},
                        "offset": {"type": "integer", "description": "Bytes received so far"},
                        "state": {"type": "string", "enum": [state.value for state in UploadState]},
                        "uploadUrl": {"type": "string"},
                        "method": {"type": "string", "const": "PUT"},
                        "chunkBytes": {"type": "integer", "description": "The chunk size to send"},
                        "expiresAt": {"type": ["string", "null"], "format": "date-time"},
                        "taskId": {"type": ["integer", "null"]},
                    },
                },
                "CompleteUpload": {
                    "type": "object",
                    "required": ["newFormat"],
                    "properties": {
                        "newFormat": {"type": "string", "examples": formats},
                        "level": {"type": ["integer", "string"], "description": "As for `POST /api/tasks`"},
                        "retentionHours": {"type": "integer", "minimum": 1, "description": "As for `POST /api/tasks`"},
                        "password": {
                            "type": "string",
                            "maxLength": MAX_PASSWORD_CHARS,
                            "description": "As for `POST /api/tasks`: zip and 7z only; never stored or logged",
                        },
                        "uploads": {
                            "type": "array",
                            "items": {"type": "string"},
                            "description": "More upload ids to put in the same archive",
                        },
                    },
                },
                "Task": {
                    "type": "object",
                    "required": [
                        "id", "filename", "new_format", "status", "size_original",
                        "size_compressed", "created_at", "processed_at", "error",
                        "original_url", "compressed_url",
                    ],
                    "properties": {
                        "id": {"type": "integer"},
                        "filename": {"type": "string"},
                        "new_format": {"type": "string", "enum": formats},
                        "level": {"type": ["integer", "null"]},
                        "status": {
                            "type": "string",
                            "enum": ["uploaded", "processing", "processed", "failed", "expired"],
                        },
                        "size_original": {"type": "integer"},
                        "size_compressed": {"type": ["integer", "null"]},
                        "created_at": {"type": "string", "format": "date-time"},
                        "processed_at": {"type": ["string", "null"], "format": "date-time"},
                        "attempts": {"type": "integer"},
                        "error": {"type": ["string", "null"]},
                        "progress": {
                            "type": ["integer", "null"],
                            "minimum": 0,
                            "maximum": 100,
                            "description": "Percent of the input compressed, while processing; 100 once processed",
                        },
                        "encrypted": {"type": "boolean", "description": "The archive has a password"},
                        "expires_at": {
                            "type": ["string", "null"],
                            "format": "date-time",
                            "description": "When the files are deleted and the task becomes `expired`",
                        },
                        "files": {
                            "type": "array",
                            "items": {
                                "type": "object",
                                "properties": {
                                    "filename": {"type": "string"},
                                    "size": {"type": "integer"},
                                },
                            },
                        },
                        "original_url": {"type": ["string", "null"]},
                        "compressed_url": {"type": ["string", "null"]},
                    },
                },
            },
        },
        "paths": {
            "/api/auth/signup": {
                "post": {
                    "summary": "Create an account",
                    "requestBody": {"required": True, "content": {"application/json": {"schema": _ref("Signup")}}},
                    "responses": _touches_database({
                        "201": _json(_ref("User"), "Created"),
                        "400": _error("Missing or invalid field, weak password, or passwords differ"),
                        "409": _error("Username taken (whether an e-mail address is in use is never told: "
                                      "the address gets a confirmation link, or a notice if another account "
                                      "confirmed it)"),
                        "415": _error("Body is not JSON"),
                        "429": TOO_MANY_REQUESTS,
                    }),
                }
            },
            "/api/auth/login": {
                "post": {
                    "summary": "Get an access token",
                    "description": "`username` may also be the e-mail address.",
                    "requestBody": {"required": True, "content": {"application/json": {"schema": _ref("Login")}}},
                    "responses": _touches_database({
                        "200": _json(_ref("Token"), "Logged in"),
                        "400": _error("Missing field"),
                        "401": _error("Wrong username or password (same answer for both)"),
                        "415": _error("Body is not JSON"),
                        "429": TOO_MANY_REQUESTS,
                    }),
                }
            },
            "/api/auth/logout": {
                "post": {
                    "summary": "Revoke the token used for this request",
                    "security": SECURED,
                    "responses": _touches_database({"204": {"description": "Revoked"}, "401": UNAUTHORIZED}),
                }
            },
            "/api/tasks": {
                "get": {
                    "summary": "List the caller's tasks",
                    "security": SECURED,
                    "parameters": [
                        {"name": "max", "in": "query", "schema": {"type": "integer", "minimum": 1},
                         "description": "At most this many tasks (capped at 1000)"},
                        {"name": "order", "in": "query", "schema": {"type": "integer", "enum": [0, 1]},
                         "description": "0: ascending by id (default), 1: descending"},
                        {"name": "If-None-Match", "in": "header", "schema": {"type": "string"},
                         "description": "The `ETag` of a list already held: 304 while it still holds"},
                    ],
                    "responses": _touches_database({
                        "200": _json({"type": "array", "items": _ref("Task")}, "The tasks", LIST_ETAG),
                        "304": {"description": "The list is unchanged since the `ETag` sent", "headers": LIST_ETAG},
                        "400": _error("Bad query parameter"),
                        "401": UNAUTHORIZED,
                    }),
                },
                "post": {
                    "summary": "Upload one or more files and ask for one archive of them",
                    "description": "Repeat `fileName` to put several files in one archive; their names are "
                    "sanitised and duplicates become `name (1).ext`. Formats are case-insensitive and may "
                    f"start with a dot. Levels, or presets ({', '.join(presets)}): {levels}.",
                    "security": SECURED,
                    "parameters": [IDEMPOTENCY_KEY],
                    "requestBody": {
                        "required": True,
                        "content": {
                            "multipart/form-data": {
                                "schema": {
                                    "type": "object",
                                    "required": ["fileName", "newFormat"],
                                    "properties": {
                                        "fileName": {
                                            "type": "array",
                                            "items": {"type": "string", "format": "binary"},
                                            "minItems": 1,
                                            "description": "One part per file (limits on count and total size)",
                                        },
                                        "newFormat": {"type": "string", "examples": formats},
                                        "level": {
                                            "oneOf": [
                                                {
                                                    "type": "integer",
                                                    "minimum": min(fmt.level_range[0] for fmt in ArchiveFormat),
                                                    "maximum": max(fmt.level_range[1] for fmt in ArchiveFormat),
                                                },
                                                {"type": "string", "enum": presets},
                                            ],
                                            "description": "A level in the format's range, or a preset (see above)",
                                        },
                                        "password": {
                                            "type": "string",
                                            "maxLength": MAX_PASSWORD_CHARS,
                                            "description": "zip and 7z only: encrypt the archive with AES-256 "
                                            "(7z also hides the file names). No control or invisible characters (Unicode "
                                            "category C, U+2028, U+2029): `400 invalid_password`. Never stored or logged.",
                                        },
                                        "retentionHours": {
                                            "type": "integer",
                                            "minimum": 1,
                                            "description": "Keep the files this long (default and maximum "
                                            "are the deployment's); then the task is `expired`",
                                        },
                                    },
                                    "encoding": {"fileName": {"style": "form", "explode": True}},
                                }
                            }
                        },
                    },
                    "responses": _touches_database({
                        "201": _json(_ref("Task"), "Accepted; `Location` names the task", {**LOCATION, **REPLAYED}),
                        "400": _error("Missing file or format, unknown format, bad level, password, "
                                      "retention or Idempotency-Key, or too many files"),
                        "401": UNAUTHORIZED,
                        "409": _error("A request with this Idempotency-Key is still running", RETRY_AFTER),
                        "413": _error("Upload larger than the configured limit"),
                        "415": _error("Not multipart/form-data"),
                        "422": _error("This Idempotency-Key was used for a different request"),
                    }),
                },
            },
            "/api/formats": {
                "get": {
                    "summary": "The archive formats, their level ranges, presets and encryption",
                    "responses": {
                        "200": _json(
                            {
                                "type": "array",
                                "items": {
                                    "type": "object",
                                    "required": ["format", "extension", "media_type", "levels", "presets", "encryption"],
                                    "properties": {
                                        "format": {"type": "string", "enum": formats},
                                        "extension": {"type": "string"},
                                        "media_type": {"type": "string"},
                                        "levels": {
                                            "type": "object",
                                            "required": ["min", "max", "default"],
                                            "properties": {
                                                "min": {"type": "integer"},
                                                "max": {"type": "integer"},
                                                "default": {"type": "integer"},
                                            },
                                        },
                                        "presets": {
                                            "type": "object",
                                            "required": presets,
                                            "additionalProperties": {"type": "integer"},
                                        },
                                        "encryption": {"type": ["string", "null"], "enum": ["aes-256", None]},
                                    },
                                },
                            },
                            "Every format",
                        )
                    },
                }
            },
            "/api/tasks/{task_id}": {
                "parameters": [TASK_ID],
                "get": {
                    "summary": "One task",
                    "security": SECURED,
                    "responses": _touches_database(
                        {"200": _json(_ref("Task"), "The task"), "401": UNAUTHORIZED, "404": NOT_FOUND}
                    ),
                },
                "delete": {
                    "summary": "Delete a task and its files",
                    "security": SECURED,
                    "responses": _touches_database({
                        "204": {"description": "Deleted"},
                        "401": UNAUTHORIZED,
                        "404": NOT_FOUND,
                        "409": _error("The task is being processed"),
                    }),
                },
            },
            "/api/tasks/{task_id}/original": {
                "parameters": [TASK_ID],
                "get": {
                    "summary": "Download the original file",
                    "security": SECURED,
                    "parameters": [{"name": "file", "in": "query", "schema": {"type": "integer", "minimum": 0}}],
                    "responses": _touches_database({
                        "200": ORIGINAL_RESPONSE,
                        "302": REDIRECT,
                        "400": _error("Bad query parameter"),
                        "401": UNAUTHORIZED,
                        "404": NOT_FOUND,
                        "410": EXPIRED,
                    }),
                },
            },
            "/api/tasks/{task_id}/compressed": {
                "parameters": [TASK_ID],
                "get": {
                    "summary": "Download the archive",
                    "security": SECURED,
                    "responses": _touches_database({
                        "200": ARCHIVE_RESPONSE,
                        "302": REDIRECT,
                        "401": UNAUTHORIZED,
                        "404": NOT_FOUND,
                        "409": _error("Not processed yet"),
                        "410": EXPIRED,
                    }),
                },
            },
            "/api/files/{filename}": {
                "parameters": [{
                    "name": "filename",
                    "in": "path",
                    "required": True,
                    "description": "An original's name, or an archive's (the original's name plus the format)",
                    "schema": {"type": "string", "examples": ["report.pdf", "report.pdf.zip"]},
                }],
                "get": {
                    "summary": "The caller's newest original or archive with this name",
                    "security": SECURED,
                    "responses": _touches_database({
                        "200": ANY_FILE_RESPONSE,
                        "302": REDIRECT,
                        "401": UNAUTHORIZED,
                        "404": NOT_FOUND,
                        "409": _error("Not processed yet"),
                        "410": EXPIRED,
                    }),
                },
            },
            "/api/uploads": {
                "post": {
                    "summary": "Open a resumable upload of one big file",
                    "description": "Answers where to send the bytes (`uploadUrl`, method `PUT`): Cloud Storage's "
                    "resumable session URI, or `PUT /api/uploads/{upload_id}` in embedded mode. Then "
                    "`POST /api/uploads/{upload_id}/complete` makes a task of it.",
                    "security": SECURED,
                    "parameters": [IDEMPOTENCY_KEY],
                    "requestBody": {
                        "required": True,
                        "content": {"application/json": {"schema": _ref("NewUpload")}},
                    },
                    "responses": _touches_database({
                        "201": _json(_ref("Upload"), "Opened; `Location` names the upload", {**LOCATION, **REPLAYED}),
                        "400": _error("Missing or malformed fileName, size, contentType or Idempotency-Key"),
                        "401": UNAUTHORIZED,
                        "409": _error("A request with this Idempotency-Key is still running", RETRY_AFTER),
                        "413": _error("Larger than the deployment's limit for resumable uploads"),
                        "415": _error("Body is not JSON"),
                        "422": _error("This Idempotency-Key was used for a different request"),
                    }),
                }
            },
            "/api/uploads/{upload_id}": {
                "parameters": [UPLOAD_ID],
                "get": {
                    "summary": "An upload and how many bytes it holds",
                    "security": SECURED,
                    "responses": _touches_database({
                        "200": _json(_ref("Upload"), "The upload", UPLOAD_RANGE),
                        "401": UNAUTHORIZED,
                        "404": _error("No such upload, it expired, or it is someone else's"),
                    }),
                },
                "delete": {
                    "summary": "Cancel an upload and delete its bytes",
                    "security": SECURED,
                    "responses": _touches_database({
                        "204": {"description": "Cancelled"},
                        "401": UNAUTHORIZED,
                        "404": _error("No such upload, or it is someone else's"),
                        "409": _error("Already an input of a task (delete the task instead)"),
                    }),
                },
                "put": {
                    "summary": "Send a chunk, or ask the offset (embedded mode)",
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
                    "responses": _touches_database({
                        "200": _json(_ref("Upload"), "Every byte arrived"),
                        "308": _json(_ref("Upload"), "More bytes expected; `Range` says which arrived",
                                     UPLOAD_RANGE),
                        "400": _error("Malformed or out-of-range Content-Range, or a wrong Content-Length"),
                        "404": _error("No such upload, it expired, or it is someone else's"),
                        "409": _error("The chunk does not start where the stored bytes end (`offset` and "
                                      "`Range` say where), the upload is complete, or its bytes go to "
                                      "Cloud Storage", UPLOAD_RANGE),
                        "413": _error("Chunk larger than the configured request limit"),
                    }),
                },
            },
            "/api/uploads/{upload_id}/complete": {
                "parameters": [UPLOAD_ID],
                "post": {
                    "summary": "Make a task of this upload and any others named in `uploads` (one archive)",
                    "security": SECURED,
                    "parameters": [IDEMPOTENCY_KEY],
                    "requestBody": {
                        "required": True,
                        "content": {"application/json": {"schema": _ref("CompleteUpload")}},
                    },
                    "responses": _touches_database({
                        "201": _json(_ref("Task"), "Accepted; `Location` names the task", {**LOCATION, **REPLAYED}),
                        "400": _error("Unknown format, bad level, password, retention or Idempotency-Key, "
                                      "repeated or too many uploads"),
                        "401": UNAUTHORIZED,
                        "404": _error("An upload is unknown, expired or someone else's"),
                        "409": _error("An upload is incomplete (`offset` says how far it got), already "
                                      "submitted, or a request with this Idempotency-Key is still running",
                                      {**UPLOAD_RANGE, **{name: {**h, "required": False} for name, h in RETRY_AFTER.items()}}),
                        "413": _error("The uploads together exceed the per-task limit"),
                        "415": _error("Body is not JSON"),
                        "422": _error("This Idempotency-Key was used for a different request"),
                    }),
                },
            },
            "/healthz": {
                "get": {
                    "summary": "The process is alive",
                    "responses": {"200": _json(_ref("Health"), "Alive")},
                }
            },
            "/readyz": {
                "get": {
                    "summary": "Database, storage and queue are reachable",
                    "responses": {
                        "200": _json(_ref("Readiness"), "Ready"),
                        "503": _json(_ref("Readiness"), "Not ready: the checks say which backend is down"),
                    },
                }
            },
        },
    }
    from comprimemelo.web.api.openapi import account

    return account.merge(_with_notifications(document))


def _with_notifications(document: dict) -> dict:
    """Merge in the notification settings, the webhook event (OpenAPI 3.1
    ``webhooks``) and the ``webhookUrl`` field of task creation."""
    from comprimemelo.web.api.openapi import notifications

    document["paths"].update(notifications.PATHS)
    document["components"]["schemas"].update(notifications.SCHEMAS)
    document["webhooks"] = notifications.WEBHOOKS
    upload = document["paths"]["/api/tasks"]["post"]
    upload["requestBody"]["content"]["multipart/form-data"]["schema"]["properties"].update(
        notifications.TASK_WEBHOOK_FIELD
    )
    upload["responses"]["400"]["description"] += f", {notifications.TASK_WEBHOOK_400}"
    return document
