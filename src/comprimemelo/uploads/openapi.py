"""The OpenAPI path items and schemas of ``/api/uploads``, merged into the API's
document by ``comprimemelo.web.openapi`` (``PATHS``, ``SCHEMAS``)."""

from __future__ import annotations

from comprimemelo.uploads import ID_BYTES, UploadState


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


SECURED = [{"bearerAuth": []}]
RANGE = {
    "Range": {
        "description": "The bytes stored so far, `bytes=0-LAST`; absent when none are",
        "schema": {"type": "string", "pattern": r"^bytes=0-\d+$"},
    }
}
RETRY_AFTER = {
    "Retry-After": {
        "description": "Seconds to wait before trying again",
        "required": True,
        "schema": {"type": "integer", "minimum": 0},
    }
}
UNAUTHORIZED = _error("No, invalid, expired or revoked token")
NOT_FOUND = _error("No such upload, or it belongs to someone else")
UNAVAILABLE = _error("A backend is unavailable; retry after `Retry-After` seconds", RETRY_AFTER)
OFFSET_CONFLICT = _json(_ref("OffsetError"), "Not where the stored bytes end: `offset` says where", RANGE)
UPLOAD_ID = {
    "name": "upload_id",
    "in": "path",
    "required": True,
    "schema": {"type": "string", "maxLength": 2 * ID_BYTES},
    "description": "The session's id (random; in embedded mode it also authorises chunks)",
}

SCHEMAS = {
    "UploadSession": {
        "type": "object",
        "required": ["id", "fileName", "size", "contentType", "offset", "state", "uploadUrl", "method",
                     "chunkBytes", "expiresAt", "taskId"],
        "properties": {
            "id": {"type": "string"},
            "fileName": {"type": "string", "description": "The sanitised name the file will have"},
            "size": {"type": "integer", "minimum": 0},
            "contentType": {"type": "string"},
            "offset": {"type": "integer", "minimum": 0, "description": "Bytes stored so far"},
            "state": {"type": "string", "enum": [state.value for state in UploadState]},
            "uploadUrl": {
                "type": "string",
                "description": "Where to PUT the chunks: Cloud Storage's resumable session URI (send no "
                "Authorization header there), or this app's `PUT /api/uploads/{upload_id}`",
            },
            "method": {"type": "string", "const": "PUT"},
            "chunkBytes": {
                "type": "integer",
                "minimum": 1,
                "description": "Suggested chunk size; every chunk but the last must be a multiple of 256 KiB "
                "on Cloud Storage",
            },
            "expiresAt": {"type": "string", "format": "date-time",
                          "description": "An idle session is removed with its bytes after this"},
            "taskId": {"type": ["integer", "null"], "description": "The task it became, once submitted"},
        },
    },
    "OffsetError": {
        "type": "object",
        "required": ["error"],
        "properties": {
            "error": {
                "type": "object",
                "required": ["code", "message", "offset"],
                "properties": {
                    "code": {"type": "string"},
                    "message": {"type": "string"},
                    "offset": {"type": "integer", "minimum": 0},
                },
            }
        },
    },
}

PATHS = {
    "/api/uploads": {
        "post": {
            "summary": "Open a resumable upload for a big file",
            "description": "Send the bytes to `uploadUrl` in chunks (`PUT` with `Content-Range: bytes "
            "FIRST-LAST/SIZE`; `308` until the last one), then `POST /api/uploads/{upload_id}/complete`. "
            "After an interruption, ask the offset (`GET /api/uploads/{upload_id}`, or `PUT` with "
            "`Content-Range: bytes */SIZE`) and continue from it.",
            "security": SECURED,
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": {
                    "type": "object",
                    "required": ["fileName", "size"],
                    "properties": {
                        "fileName": {"type": "string", "minLength": 1, "maxLength": 4096},
                        "size": {"type": "integer", "minimum": 0, "description": "Exact length in bytes"},
                        "contentType": {"type": "string", "maxLength": 255},
                    },
                }}},
            },
            "responses": {
                "201": _json(_ref("UploadSession"), "Opened", {
                    "Location": {"description": "The session's URL", "required": True,
                                 "schema": {"type": "string"}},
                }),
                "400": _error("Missing or malformed field"),
                "401": UNAUTHORIZED,
                "413": _error("Larger than the resumable upload limit"),
                "415": _error("Not JSON"),
                "503": UNAVAILABLE,
            },
        }
    },
    "/api/uploads/{upload_id}": {
        "parameters": [UPLOAD_ID],
        "get": {
            "summary": "The session, with the bytes stored so far (asked of storage)",
            "security": SECURED,
            "responses": {
                "200": _json(_ref("UploadSession"), "The session", RANGE),
                "401": UNAUTHORIZED,
                "404": NOT_FOUND,
                "503": UNAVAILABLE,
            },
        },
        "put": {
            "summary": "Embedded mode: one chunk, or ask the offset",
            "description": "`Content-Range: bytes FIRST-LAST/SIZE` with exactly that many bytes, starting "
            "at the current offset; `bytes */SIZE` with no body asks the offset. Needs no credentials: "
            "the id is the capability (credentials of another user get `404`). On Cloud Storage, chunks go "
            "to `uploadUrl` instead (`409 upload_elsewhere` here).",
            "parameters": [{
                "name": "Content-Range",
                "in": "header",
                "required": True,
                "schema": {"type": "string", "examples": ["bytes 0-8388607/20000000", "bytes */20000000"]},
            }],
            "requestBody": {"required": False,
                            "content": {"application/octet-stream": {"schema": {"type": "string",
                                                                                "format": "binary"}}}},
            "responses": {
                "200": _json(_ref("UploadSession"), "Every byte is stored"),
                "308": _json(_ref("UploadSession"), "Stored; more to come (`Range` says how much)", RANGE),
                "400": _error("Malformed `Content-Range`, a chunk outside the file, a wrong "
                              "`Content-Length`, or a body cut short"),
                "401": UNAUTHORIZED,
                "404": NOT_FOUND,
                "409": OFFSET_CONFLICT,
                "413": _error("The chunk is larger than one request may be"),
                "503": UNAVAILABLE,
            },
        },
        "delete": {
            "summary": "Cancel the upload and drop its bytes",
            "security": SECURED,
            "responses": {
                "204": {"description": "Cancelled"},
                "401": UNAUTHORIZED,
                "404": NOT_FOUND,
                "409": _error("Already an input of a task"),
                "503": UNAVAILABLE,
            },
        },
    },
    "/api/uploads/{upload_id}/complete": {
        "parameters": [UPLOAD_ID],
        "post": {
            "summary": "Make a task of this finished upload (and of any in `uploads`, one archive)",
            "security": SECURED,
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": {
                    "type": "object",
                    "required": ["newFormat"],
                    "properties": {
                        "newFormat": {"type": "string"},
                        "level": {"oneOf": [{"type": "integer"}, {"type": "string"}],
                                  "description": "As for `POST /api/tasks`"},
                        "retentionHours": {"type": "integer", "minimum": 1,
                                           "description": "As for `POST /api/tasks`"},
                        "uploads": {"type": "array", "items": {"type": "string"},
                                    "description": "More finished uploads of the caller, in archive order"},
                    },
                }}},
            },
            "responses": {
                "201": _json(_ref("Task"), "Created and queued", {
                    "Location": {"description": "The URL of the new task", "required": True,
                                 "schema": {"type": "string"}},
                }),
                "400": _error("Bad format, level, retention or list; a repeated upload; too many files"),
                "401": UNAUTHORIZED,
                "404": NOT_FOUND,
                "409": _json({"oneOf": [_ref("OffsetError"), _ref("Error")]},
                             "Not every byte arrived yet (`offset`), or already submitted"),
                "413": _error("The files together exceed the task size limit"),
                "415": _error("Not JSON"),
                "503": UNAVAILABLE,
            },
        },
    },
}
