"""The OpenAPI description of ``/api/tasks``, ``/api/formats`` and ``/api/files``."""

from __future__ import annotations

from comprimemelo.compression import ArchiveFormat
from comprimemelo.compression.encryption import MAX_PASSWORD_CHARS
from comprimemelo.web.api.openapi.common import (
    ANY_FILE_RESPONSE,
    ARCHIVE_RESPONSE,
    EXPIRED,
    FORMATS,
    IDEMPOTENCY_KEY,
    LEVELS,
    LIST_ETAG,
    LOCATION,
    NOT_FOUND,
    ORIGINAL_RESPONSE,
    PRESETS,
    REDIRECT,
    REPLAYED,
    RETRY_AFTER,
    SECURED,
    TASK_ID,
    UNAUTHORIZED,
    error,
    json_content,
    ref,
    touches_database,
)
from comprimemelo.web.api.openapi.notifications import TASK_WEBHOOK_400, TASK_WEBHOOK_FIELD
from comprimemelo.web.tasklists import MAX_SEARCH_CHARS, STATUSES

SCHEMAS = {
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
            "new_format": {"type": "string", "enum": FORMATS},
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
}

LIST_PAGE_HEADERS = {
    **LIST_ETAG,
    "Link": {
        "description": 'RFC 8288 `<URL>; rel="next"` while more tasks follow this page: the same query, '
        "continued after its last task (stable while tasks are added or deleted)",
        "schema": {"type": "string"},
    },
}

PATHS = {
    "/api/tasks": {
        "get": {
            "summary": "List the caller's tasks",
            "operationId": "list_tasks",
            "security": SECURED,
            "parameters": [
                {"name": "max", "in": "query", "schema": {"type": "integer", "minimum": 1},
                 "description": "At most this many tasks (capped at 1000)"},
                {"name": "order", "in": "query", "schema": {"type": "integer", "enum": [0, 1]},
                 "description": "0: ascending by id (default), 1: descending"},
                {"name": "status", "in": "query", "schema": {"type": "string", "enum": list(STATUSES)},
                 "description": "Only tasks in this status"},
                {"name": "format", "in": "query", "schema": {"type": "string", "examples": FORMATS},
                 "description": "Only tasks of this archive format (case-insensitive, may start with a dot)"},
                {"name": "search", "in": "query",
                 "schema": {"type": "string", "maxLength": MAX_SEARCH_CHARS},
                 "description": "Only tasks with a file whose name contains this, case-insensitively "
                 "(`%` and `_` are letters, not wildcards; no control characters)"},
                {"name": "cursor", "in": "query", "schema": {"type": "string"},
                 "description": "Where the page starts: take it from the `Link: <...>; rel=\"next\"` URL of "
                 "the page before (same `order`), never build it. A cursor this service did not give is "
                 "`400 invalid_query`"},
                {"name": "If-None-Match", "in": "header", "schema": {"type": "string"},
                 "description": "The `ETag` of a list already held: 304 while it still holds"},
            ],
            "responses": touches_database({
                "200": json_content({"type": "array", "items": ref("Task")}, "The tasks", LIST_PAGE_HEADERS),
                "304": {"description": "The list is unchanged since the `ETag` sent", "headers": LIST_ETAG},
                "400": error("Bad query parameter"),
                "401": UNAUTHORIZED,
            }),
        },
        "post": {
            "summary": "Upload one or more files and ask for one archive of them",
            "operationId": "create_task",
            "description": "Repeat `fileName` to put several files in one archive; their names are "
            "sanitised and duplicates become `name (1).ext`. Formats are case-insensitive and may "
            f"start with a dot. Levels, or presets ({', '.join(PRESETS)}): {LEVELS}.",
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
                                "newFormat": {"type": "string", "examples": FORMATS},
                                "level": {
                                    "oneOf": [
                                        {
                                            "type": "integer",
                                            "minimum": min(fmt.level_range[0] for fmt in ArchiveFormat),
                                            "maximum": max(fmt.level_range[1] for fmt in ArchiveFormat),
                                        },
                                        {"type": "string", "enum": PRESETS},
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
                                    **TASK_WEBHOOK_FIELD,
                            },
                            "encoding": {"fileName": {"style": "form", "explode": True}},
                        }
                    }
                },
            },
            "responses": touches_database({
                "201": json_content(ref("Task"), "Accepted; `Location` names the task", {**LOCATION, **REPLAYED}),
                "400": error("Missing file or format, unknown format, bad level, password, "
                              f"retention or Idempotency-Key, or too many files, {TASK_WEBHOOK_400}"),
                "401": UNAUTHORIZED,
                "409": error("A request with this Idempotency-Key is still running", RETRY_AFTER),
                "413": error("Upload larger than the configured limit"),
                "415": error("Not multipart/form-data"),
                "422": error("This Idempotency-Key was used for a different request"),
            }),
        },
    },
    "/api/formats": {
        "get": {
            "summary": "The archive formats, their level ranges, presets and encryption",
            "operationId": "list_formats",
            "responses": {
                "200": json_content(
                    {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "required": ["format", "extension", "media_type", "levels", "presets", "encryption"],
                            "properties": {
                                "format": {"type": "string", "enum": FORMATS},
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
                                    "required": PRESETS,
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
            "operationId": "get_task",
            "security": SECURED,
            "responses": touches_database(
                {"200": json_content(ref("Task"), "The task"), "401": UNAUTHORIZED, "404": NOT_FOUND}
            ),
        },
        "delete": {
            "summary": "Delete a task and its files",
            "operationId": "delete_task",
            "security": SECURED,
            "responses": touches_database({
                "204": {"description": "Deleted"},
                "401": UNAUTHORIZED,
                "404": NOT_FOUND,
                "409": error("The task is being processed"),
            }),
        },
    },
    "/api/tasks/{task_id}/original": {
        "parameters": [TASK_ID],
        "get": {
            "summary": "Download the original file",
            "operationId": "download_original",
            "security": SECURED,
            "parameters": [{"name": "file", "in": "query", "schema": {"type": "integer", "minimum": 0}}],
            "responses": touches_database({
                "200": ORIGINAL_RESPONSE,
                "302": REDIRECT,
                "400": error("Bad query parameter"),
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
            "operationId": "download_compressed",
            "security": SECURED,
            "responses": touches_database({
                "200": ARCHIVE_RESPONSE,
                "302": REDIRECT,
                "401": UNAUTHORIZED,
                "404": NOT_FOUND,
                "409": error("Not processed yet"),
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
            "operationId": "get_file_by_name",
            "security": SECURED,
            "responses": touches_database({
                "200": ANY_FILE_RESPONSE,
                "302": REDIRECT,
                "401": UNAUTHORIZED,
                "404": NOT_FOUND,
                "409": error("Not processed yet"),
                "410": EXPIRED,
            }),
        },
    },
}
