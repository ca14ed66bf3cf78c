"""The OpenAPI 3.1 document of the REST API, kept beside the code it describes.

Tests validate it and fuzz the running service against it
(``tests/integration/test_api_fuzz.py``): every response must have a documented
status, content type, headers and body. Prometheus' ``GET /metrics`` is
deliberately not part of it: it is for scrapers, not API clients.
"""

from __future__ import annotations

import functools

from comprimemelo import __version__
from comprimemelo.compression import ArchiveFormat
from comprimemelo.passwords import MAX_PASSWORD_LENGTH
from comprimemelo.web.api_tasks import MAX_TASK_ID, ORIGINAL_MEDIA_TYPE


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


def _touches_database(responses: dict) -> dict:
    """``responses`` plus the 503 every operation that reads the database may answer."""
    return {**responses, "503": UNAVAILABLE}


@functools.cache
def openapi_document() -> dict:
    formats = [fmt.value for fmt in ArchiveFormat]
    levels = "; ".join(
        f"{fmt.value}: {fmt.level_range[0]}-{fmt.level_range[1]} (default {fmt.default_level})"
        for fmt in ArchiveFormat
    )
    return {
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
                            "enum": ["uploaded", "processing", "processed", "failed"],
                        },
                        "size_original": {"type": "integer"},
                        "size_compressed": {"type": ["integer", "null"]},
                        "created_at": {"type": "string", "format": "date-time"},
                        "processed_at": {"type": ["string", "null"], "format": "date-time"},
                        "attempts": {"type": "integer"},
                        "error": {"type": ["string", "null"]},
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
                        "original_url": {"type": "string"},
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
                        "409": _error("Username or e-mail (any case) already registered"),
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
                    ],
                    "responses": _touches_database({
                        "200": _json({"type": "array", "items": _ref("Task")}, "The tasks"),
                        "400": _error("Bad query parameter"),
                        "401": UNAUTHORIZED,
                    }),
                },
                "post": {
                    "summary": "Upload a file and ask for it compressed",
                    "description": f"Formats are case-insensitive and may start with a dot. Levels: {levels}.",
                    "security": SECURED,
                    "requestBody": {
                        "required": True,
                        "content": {
                            "multipart/form-data": {
                                "schema": {
                                    "type": "object",
                                    "required": ["fileName", "newFormat"],
                                    "properties": {
                                        "fileName": {"type": "string", "format": "binary"},
                                        "newFormat": {"type": "string", "examples": formats},
                                        "level": {
                                            "type": "integer",
                                            "minimum": min(fmt.level_range[0] for fmt in ArchiveFormat),
                                            "maximum": max(fmt.level_range[1] for fmt in ArchiveFormat),
                                            "description": "The range depends on the format (see above)",
                                        },
                                    },
                                }
                            }
                        },
                    },
                    "responses": _touches_database({
                        "201": _json(_ref("Task"), "Accepted; `Location` names the task", LOCATION),
                        "400": _error("Missing file or format, unknown format or bad level"),
                        "401": UNAUTHORIZED,
                        "413": _error("Upload larger than the configured limit"),
                        "415": _error("Not multipart/form-data"),
                    }),
                },
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
