"""The OpenAPI description of the system endpoints, and the error shape."""

from __future__ import annotations

from comprimemelo.web.api.openapi.common import json_content, ref

SCHEMAS = {
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
}

PATHS = {
    "/healthz": {
        "get": {
            "summary": "The process is alive",
            "operationId": "check_liveness",
            "responses": {"200": json_content(ref("Health"), "Alive")},
        }
    },
    "/readyz": {
        "get": {
            "summary": "Database, storage and queue are reachable",
            "operationId": "check_readiness",
            "responses": {
                "200": json_content(ref("Readiness"), "Ready"),
                "503": json_content(ref("Readiness"), "Not ready: the checks say which backend is down"),
            },
        }
    },
}
