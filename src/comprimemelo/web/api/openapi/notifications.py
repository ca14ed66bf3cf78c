"""The OpenAPI description of ``/api/notifications``, of the webhook events
(``WEBHOOKS``: OpenAPI 3.1's top-level ``webhooks``) and of the ``webhookUrl``
field that task creation takes."""

from __future__ import annotations

from comprimemelo.notifications import signing
from comprimemelo.notifications.targets import MAX_URL_LENGTH
from comprimemelo.web.api.openapi.common import (
    NOT_FOUND,
    NULLABLE_TIME,
    SECURED,
    TASK_ID,
    UNAUTHORIZED,
    UNAVAILABLE,
    error,
    json_content,
    ref,
)
from comprimemelo.web.api.schemas import WEBHOOK_URL_RULE

# The multipart field to add to POST /api/tasks' request body properties.
TASK_WEBHOOK_FIELD = {
    "webhookUrl": {
        "type": "string",
        "maxLength": MAX_URL_LENGTH,
        "description": "A webhook for this task only, signed with the caller's webhook secret "
        f"(create it first: `POST /api/notifications/webhook-secret`); {WEBHOOK_URL_RULE}",
    }
}
TASK_WEBHOOK_400 = "or a refused `webhookUrl` (`invalid_webhook_url`, `webhook_secret_required`)"

SCHEMAS = {
    "NotificationSettings": {
        "type": "object",
        "required": [
            "email", "webhook_url", "webhook_secret_set", "webhook_disabled",
            "webhook_disabled_at", "webhook_disabled_reason",
        ],
        "properties": {
            "email": {"type": "boolean", "description": "E-mail the account's address when a task finishes"},
            "webhook_url": {"type": ["string", "null"]},
            "webhook_secret_set": {"type": "boolean"},
            "webhook_secret": {
                "type": "string",
                "description": "Only in the answer that created it (the first webhook): keep it, it is not shown again",
            },
            "webhook_disabled": {
                "type": "boolean",
                "description": "Switched off after repeated `410 Gone`; setting `webhook_url` again turns it back on",
            },
            "webhook_disabled_at": NULLABLE_TIME,
            "webhook_disabled_reason": {"type": ["string", "null"]},
        },
    },
    "WebhookSecret": {
        "type": "object",
        "required": ["webhook_secret"],
        "properties": {
            "webhook_secret": {
                "type": "string",
                "pattern": f"^{signing.SECRET_PREFIX}",
                "description": f"`{signing.SECRET_PREFIX}` + base64 of {signing.SECRET_BYTES} random bytes "
                "(Standard Webhooks): give it as it is to the `standardwebhooks` or Svix library",
            }
        },
    },
    "TaskNotifications": {
        "type": "object",
        "required": ["webhook", "events"],
        "properties": {
            "webhook": {
                "type": ["object", "null"],
                "description": "The task's own webhook (`webhookUrl` on upload), if any",
                "properties": {
                    "url": {"type": "string"},
                    "disabled": {"type": "boolean"},
                    "disabled_at": NULLABLE_TIME,
                    "disabled_reason": {"type": ["string", "null"]},
                },
            },
            "events": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["id", "type", "channel", "scope", "target", "state", "attempts"],
                    "properties": {
                        "id": {"type": "string", "description": "The `webhook-id` of a webhook"},
                        "type": {"type": "string", "enum": ["task.processed", "task.failed"]},
                        "channel": {"type": "string", "enum": ["email", "webhook"]},
                        "scope": {"type": "string", "enum": ["email", "user", "task"]},
                        "target": {"type": "string"},
                        "state": {"type": "string", "enum": ["pending", "delivered", "failed", "discarded"]},
                        "attempts": {"type": "integer", "minimum": 0},
                        "last_error": {"type": ["string", "null"]},
                        "next_attempt_at": NULLABLE_TIME,
                        "delivered_at": NULLABLE_TIME,
                        "created_at": {"type": "string", "format": "date-time"},
                    },
                },
            },
        },
    },
    "TaskEvent": {
        "type": "object",
        "required": ["id", "type", "created_at", "data"],
        "properties": {
            "id": {"type": "string"},
            "type": {"type": "string", "enum": ["task.processed", "task.failed"]},
            "created_at": {"type": "string", "format": "date-time"},
            "data": {
                "type": "object",
                "required": ["task"],
                "properties": {
                    "task": {
                        "type": "object",
                        "properties": {
                            "id": {"type": "integer"},
                            "filename": {"type": "string"},
                            "new_format": {"type": "string"},
                            "status": {"type": "string", "enum": ["processed", "failed"]},
                            "size_original": {"type": "integer"},
                            "size_compressed": {"type": ["integer", "null"]},
                            "error": {"type": ["string", "null"]},
                            "processed_at": NULLABLE_TIME,
                            "url": {"type": "string"},
                            "compressed_url": {"type": ["string", "null"]},
                        },
                    }
                },
            },
        },
    },
}

PATHS = {
    "/api/notifications": {
        "get": {
            "summary": "The caller's notification settings",
            "operationId": "get_notification_settings",
            "security": SECURED,
            "responses": {
                "200": json_content(ref("NotificationSettings"), "The settings (all off until set)"),
                "401": UNAUTHORIZED,
                "503": UNAVAILABLE,
            },
        },
        "put": {
            "summary": "Switch e-mail on or off, set or remove the webhook",
            "operationId": "update_notification_settings",
            "description": "Fields left out are unchanged. The first webhook gets a signing secret, "
            "returned once as `webhook_secret`.",
            "security": SECURED,
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": ref("NotificationsChange")}},
            },
            "responses": {
                "200": json_content(ref("NotificationSettings"), "The settings now"),
                "400": error("Unknown field, wrong type, or a refused URL (`invalid_webhook_url`)"),
                "401": UNAUTHORIZED,
                "415": error("Body is not JSON"),
                "503": UNAVAILABLE,
            },
        },
    },
    "/api/notifications/webhook-secret": {
        "post": {
            "summary": "Create or rotate the webhook signing secret",
            "operationId": "rotate_webhook_secret",
            "description": "Shown only in this answer. The previous secret stops signing at once.",
            "security": SECURED,
            "responses": {
                "200": json_content(ref("WebhookSecret"), "The new secret"),
                "401": UNAUTHORIZED,
                "503": UNAVAILABLE,
            },
        }
    },
    "/api/tasks/{task_id}/notifications": {
        "parameters": [TASK_ID],
        "get": {
            "summary": "What was sent about a task, and its own webhook",
            "operationId": "list_task_notifications",
            "security": SECURED,
            "responses": {
                "200": json_content(ref("TaskNotifications"), "The task's webhook and events"),
                "401": UNAUTHORIZED,
                "404": NOT_FOUND,
                "503": UNAVAILABLE,
            },
        },
    },
}

_STANDARD_SIGNATURE_DESCRIPTION = (
    "Standard Webhooks (https://www.standardwebhooks.com): `v1,<base64 HMAC-SHA256 of "
    "\"<webhook-id>.<webhook-timestamp>.<raw body>\">`, keyed with the base64-decoded part of the "
    "`whsec_` secret; verify with the `standardwebhooks` or Svix library. Several space-separated "
    "values may appear: any match is valid. Refuse timestamps more than "
    f"{signing.REPLAY_TOLERANCE_SECONDS} s away (see docs/notifications.md)"
)
_SIGNATURE_DESCRIPTION = (
    "Deprecated (sent for one more release; use `webhook-signature`): "
    "`t=<unix seconds>,v1=<hex HMAC-SHA256 of \"<t>.<raw body>\" keyed with the whole secret string>`"
)


def _header(name: str, description: str | None = None, *, deprecated: bool = False, **schema) -> dict:
    parameter = {"name": name, "in": "header", "required": True, "schema": {"type": "string", **schema}}
    if description:
        parameter["description"] = description
    if deprecated:
        parameter["deprecated"] = True
    return parameter


WEBHOOKS = {
    "taskFinished": {
        "post": {
            "summary": "A task was processed or failed",
            "operationId": "task_finished",
            "description": "Signed the Standard Webhooks way. Retried with exponential backoff on network "
            "errors, 5xx, 429 and 410; any other 4xx or a redirect ends the delivery. Repeated 410 "
            "disables the webhook.",
            "parameters": [
                _header(signing.STANDARD_ID_HEADER, "The event id, the same on every retry: deduplicate on it"),
                _header(signing.STANDARD_TIMESTAMP_HEADER, "Unix seconds of this attempt", pattern="^[0-9]+$"),
                _header(signing.STANDARD_SIGNATURE_HEADER, _STANDARD_SIGNATURE_DESCRIPTION),
                _header(signing.SIGNATURE_HEADER, _SIGNATURE_DESCRIPTION, deprecated=True),
                _header(signing.EVENT_ID_HEADER, "Deprecated: the same as `webhook-id`", deprecated=True),
                _header(signing.EVENT_TYPE_HEADER, enum=["task.processed", "task.failed"]),
            ],
            "requestBody": {"required": True, "content": {"application/json": {"schema": ref("TaskEvent")}}},
            "responses": {"2XX": {"description": "Received"}},
        }
    }
}
