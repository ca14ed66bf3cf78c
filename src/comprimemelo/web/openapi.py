"""The OpenAPI 3.1 document of the REST API, kept beside the code it describes.

Tests validate it and check real responses against its schemas.
"""

from __future__ import annotations

import functools

from comprimemelo import __version__
from comprimemelo.compression import ArchiveFormat


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _error(description: str) -> dict:
    return {"description": description, "content": {"application/json": {"schema": _ref("Error")}}}


def _json(schema: dict, description: str) -> dict:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


UNAUTHORIZED = _error("No, invalid, expired or revoked token")
NOT_FOUND = _error("No such task, or it belongs to someone else")
UNAVAILABLE = _error("A backend is unavailable; retry after `Retry-After` seconds")
TASK_ID = {"name": "task_id", "in": "path", "required": True, "schema": {"type": "integer"}}
SECURED = [{"bearerAuth": []}]
FILE_RESPONSE = {
    "description": "The file as an attachment",
    "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}},
}
REDIRECT = {"description": "Redirect to a short-lived signed URL (Cloud Storage)"}


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
                "Signup": {
                    "type": "object",
                    "required": ["username", "email", "password1", "password2"],
                    "properties": {
                        "username": {"type": "string", "pattern": "^[A-Za-z0-9_.-]{3,64}$"},
                        "email": {"type": "string", "format": "email", "maxLength": 254},
                        "password1": {"type": "string", "minLength": 8},
                        "password2": {"type": "string", "minLength": 8},
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
                        "username": {"type": "string", "description": "Username or e-mail"},
                        "password": {"type": "string"},
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
                    "responses": {
                        "201": _json(_ref("User"), "Created"),
                        "400": _error("Missing or invalid field, weak password, or passwords differ"),
                        "409": _error("Username or e-mail (any case) already registered"),
                        "415": _error("Body is not JSON"),
                    },
                }
            },
            "/api/auth/login": {
                "post": {
                    "summary": "Get an access token",
                    "description": "`username` may also be the e-mail address.",
                    "requestBody": {"required": True, "content": {"application/json": {"schema": _ref("Login")}}},
                    "responses": {
                        "200": _json(_ref("Token"), "Logged in"),
                        "400": _error("Missing field"),
                        "401": _error("Wrong username or password (same answer for both)"),
                        "415": _error("Body is not JSON"),
                    },
                }
            },
            "/api/auth/logout": {
                "post": {
                    "summary": "Revoke the token used for this request",
                    "security": SECURED,
                    "responses": {"204": {"description": "Revoked"}, "401": UNAUTHORIZED},
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
                    "responses": {
                        "200": _json({"type": "array", "items": _ref("Task")}, "The tasks"),
                        "400": _error("Bad query parameter"),
                        "401": UNAUTHORIZED,
                    },
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
                                        "level": {"type": "integer"},
                                    },
                                }
                            }
                        },
                    },
                    "responses": {
                        "201": _json(_ref("Task"), "Accepted; `Location` names the task"),
                        "400": _error("Missing file or format, unknown format or bad level"),
                        "401": UNAUTHORIZED,
                        "413": _error("Upload larger than the configured limit"),
                        "415": _error("Not multipart/form-data"),
                        "503": UNAVAILABLE,
                    },
                },
            },
            "/api/tasks/{task_id}": {
                "parameters": [TASK_ID],
                "get": {
                    "summary": "One task",
                    "security": SECURED,
                    "responses": {"200": _json(_ref("Task"), "The task"), "401": UNAUTHORIZED, "404": NOT_FOUND},
                },
                "delete": {
                    "summary": "Delete a task and its files",
                    "security": SECURED,
                    "responses": {
                        "204": {"description": "Deleted"},
                        "401": UNAUTHORIZED,
                        "404": NOT_FOUND,
                        "409": _error("The task is being processed"),
                    },
                },
            },
            "/api/tasks/{task_id}/original": {
                "parameters": [TASK_ID],
                "get": {
                    "summary": "Download the original file",
                    "security": SECURED,
                    "parameters": [{"name": "file", "in": "query", "schema": {"type": "integer", "minimum": 0}}],
                    "responses": {"200": FILE_RESPONSE, "302": REDIRECT, "400": _error("Bad query parameter"),
                                  "401": UNAUTHORIZED, "404": NOT_FOUND},
                },
            },
            "/api/tasks/{task_id}/compressed": {
                "parameters": [TASK_ID],
                "get": {
                    "summary": "Download the archive",
                    "security": SECURED,
                    "responses": {
                        "200": FILE_RESPONSE,
                        "302": REDIRECT,
                        "401": UNAUTHORIZED,
                        "404": NOT_FOUND,
                        "409": _error("Not processed yet"),
                    },
                },
            },
            "/api/files/{filename}": {
                "parameters": [{"name": "filename", "in": "path", "required": True, "schema": {"type": "string"}}],
                "get": {
                    "summary": "The caller's newest original or archive with this name",
                    "security": SECURED,
                    "responses": {"200": FILE_RESPONSE, "302": REDIRECT, "401": UNAUTHORIZED, "404": NOT_FOUND,
                                  "409": _error("Not processed yet")},
                },
            },
            "/healthz": {"get": {"summary": "The process is alive", "responses": {"200": {"description": "Alive"}}}},
            "/readyz": {
                "get": {
                    "summary": "Database, storage and queue are reachable",
                    "responses": {"200": {"description": "Ready"}, "503": {"description": "Not ready"}},
                }
            },
        },
    }
