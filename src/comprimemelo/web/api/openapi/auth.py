"""The OpenAPI description of ``/api/auth``: sign up, log in, log out."""

from __future__ import annotations

from comprimemelo.web.api.openapi.common import (
    SECURED,
    TOO_MANY_REQUESTS,
    UNAUTHORIZED,
    error,
    json_content,
    ref,
    touches_database,
)

SCHEMAS = {
    "User": {
        "type": "object",
        "required": ["id", "username", "email"],
        "properties": {
            "id": {"type": "integer"},
            "username": {"type": "string"},
            "email": {"type": "string"},
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
}

PATHS = {
    "/api/auth/signup": {
        "post": {
            "summary": "Create an account",
            "operationId": "sign_up",
            "requestBody": {"required": True, "content": {"application/json": {"schema": ref("Signup")}}},
            "responses": touches_database({
                "201": json_content(ref("User"), "Created"),
                "400": error("Missing or invalid field, weak password, or passwords differ"),
                "409": error("Username taken (whether an e-mail address is in use is never told: "
                              "the address gets a confirmation link, or a notice if another account "
                              "confirmed it)"),
                "415": error("Body is not JSON"),
                "429": TOO_MANY_REQUESTS,
            }),
        }
    },
    "/api/auth/login": {
        "post": {
            "summary": "Get an access token",
            "operationId": "log_in",
            "description": "`username` may also be the e-mail address.",
            "requestBody": {"required": True, "content": {"application/json": {"schema": ref("Login")}}},
            "responses": touches_database({
                "200": json_content(ref("Token"), "Logged in"),
                "400": error("Missing field"),
                "401": error("Wrong username or password (same answer for both)"),
                "415": error("Body is not JSON"),
                "429": TOO_MANY_REQUESTS,
            }),
        }
    },
    "/api/auth/logout": {
        "post": {
            "summary": "Revoke the token used for this request",
            "operationId": "log_out",
            "security": SECURED,
            "responses": touches_database({"204": {"description": "Revoked"}, "401": UNAUTHORIZED}),
        }
    },
}
