"""One example of every schema of the document, as the service would send or
take it: documentation readers and generated clients' docs show them, and
schemathesis sends the request ones as they are. A test validates each against
its schema (``tests/unit/test_openapi_examples.py``), so none can drift.
"""

from __future__ import annotations

PASSWORD = "correct horse battery staple"
CREATED_AT = "2026-12-06T10:15:00Z"
PROCESSED_AT = "2026-12-06T10:15:04Z"
EXPIRES_AT = "2026-12-13T10:15:04Z"

TASK = {
    "id": 42,
    "filename": "report.pdf",
    "new_format": "tar.zst",
    "level": 3,
    "status": "processed",
    "size_original": 1048576,
    "size_compressed": 734003,
    "created_at": CREATED_AT,
    "processed_at": PROCESSED_AT,
    "attempts": 1,
    "error": None,
    "progress": 100,
    "encrypted": False,
    "expires_at": EXPIRES_AT,
    "files": [{"filename": "report.pdf", "size": 1048576}],
    "original_url": "/api/tasks/42/original",
    "compressed_url": "/api/tasks/42/compressed",
}

QUOTA_USE = {"used": 3, "limit": 100}

SCHEMA_EXAMPLES: dict[str, dict] = {
    "User": {"id": 7, "username": "alice", "email": "alice@example.com"},
    "Token": {"access_token": "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiI3In0.c2lnbmF0dXJl", "token_type": "Bearer",
              "expires_in": 3600},
    "Task": TASK,
    "NotificationSettings": {
        "email": True,
        "webhook_url": "https://hooks.example.com/comprimemelo",
        "webhook_secret_set": True,
        "webhook_disabled": False,
        "webhook_disabled_at": None,
        "webhook_disabled_reason": None,
    },
    "WebhookSecret": {"webhook_secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"},
    "TaskEvent": {
        "id": "msg_2Zb5hF3x1yKp",
        "type": "task.processed",
        "created_at": PROCESSED_AT,
        "data": {"task": {
            "id": 42, "filename": "report.pdf", "new_format": "tar.zst", "status": "processed",
            "size_original": 1048576, "size_compressed": 734003, "error": None, "processed_at": PROCESSED_AT,
            "url": "https://compress.example.com/api/tasks/42",
            "compressed_url": "https://compress.example.com/api/tasks/42/compressed",
        }},
    },
    "TaskNotifications": {
        "webhook": None,
        "events": [{
            "id": "msg_2Zb5hF3x1yKp", "type": "task.processed", "channel": "email", "scope": "email",
            "target": "alice@example.com", "state": "delivered", "attempts": 1, "last_error": None,
            "next_attempt_at": None, "delivered_at": PROCESSED_AT, "created_at": PROCESSED_AT,
        }],
    },
    "QuotaUse": QUOTA_USE,
    "QuotaError": {"error": {
        "code": "quota_exceeded", "message": "live_tasks: 100 of 100 in use", "quota": "live_tasks",
        "limit": 100, "used": 100, "frees_at": None,
    }},
    "Account": {
        "id": 7, "username": "alice", "email": "alice@example.com", "email_verified": True,
        "quotas": {
            "storage_bytes": {"used": 1782579, "limit": 10737418240},
            "live_tasks": {"used": 1, "limit": 100},
            "open_uploads": {"used": 0, "limit": 20},
            "tasks_per_hour": {"used": 3, "limit": 600},
        },
        "hour_resets_at": "2026-12-06T11:02:00Z",
    },
    "Error": {"error": {"code": "not_found", "message": "task 42 not found"}},
    "Health": {"status": "ok"},
    "Readiness": {"status": "ok", "checks": {"database": "ok", "storage": "ok", "queue": "ok"}},
    "Signup": {"username": "alice", "email": "alice@example.com", "password1": PASSWORD, "password2": PASSWORD},
    "Login": {"username": "alice", "password": PASSWORD},
    "VerifyEmail": {"token": "eyJ1IjogNywgImUiOiAiYWxpY2VAZXhhbXBsZS5jb20ifQ.c2lnbmF0dXJl"},
    "DeleteAccount": {"password": PASSWORD},
    "NotificationsChange": {"email": True, "webhook_url": "https://hooks.example.com/comprimemelo"},
    "Upload": {
        "id": "u_9bT2kQx7", "file_name": "video.mkv", "size": 4294967296, "content_type": "video/x-matroska",
        "offset": 16777216, "state": "open", "upload_url": "/api/uploads/u_9bT2kQx7", "method": "PUT",
        "chunk_bytes": 8388608, "expires_at": "2026-12-07T10:15:00Z", "task_id": None,
    },
    "NewUpload": {"file_name": "video.mkv", "size": 4294967296, "content_type": "video/x-matroska"},
    "CompleteUpload": {"new_format": "tar.zst", "level": "balanced", "retention_hours": 24, "uploads": []},
}


def with_examples(schemas: dict) -> dict:
    """``schemas`` with each one's example under JSON Schema's ``examples``."""
    return {name: {**schema, "examples": [SCHEMA_EXAMPLES[name]]} if name in SCHEMA_EXAMPLES else schema
            for name, schema in schemas.items()}
