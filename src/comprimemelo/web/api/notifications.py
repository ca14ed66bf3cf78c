"""``/api/notifications``: the caller's e-mail and webhook settings, the
webhook signing secret, and what was sent about each task."""

from __future__ import annotations

import msgspec
from flask import Blueprint

from comprimemelo.domain.errors import NotFound
from comprimemelo.domain.models import NotificationSettings
from comprimemelo.domain.timestamps import iso_utc
from comprimemelo.notifications import preferences
from comprimemelo.services import tasks as task_service
from comprimemelo.web.api import schemas
from comprimemelo.web.api.tasks import MAX_TASK_ID
from comprimemelo.web.auth import current_user_id, login_required
from comprimemelo.web.context import current_settings, db_session

bp = Blueprint("api_notifications", __name__, url_prefix="/api")

def settings_json(prefs: NotificationSettings, new_secret: str | None = None) -> dict:
    body = {
        "email": bool(prefs.email_enabled),
        "webhook_url": prefs.webhook_url,
        "webhook_secret_set": bool(prefs.webhook_secret),
        "webhook_disabled": prefs.webhook_disabled_at is not None,
        "webhook_disabled_at": iso_utc(prefs.webhook_disabled_at),
        "webhook_disabled_reason": prefs.webhook_disabled_reason,
    }
    if new_secret:
        body["webhook_secret"] = new_secret
    return body


@bp.get("/notifications")
@login_required
def get_settings():
    return settings_json(preferences.get(db_session(), current_user_id()))


@bp.put("/notifications")
@login_required
def put_settings():
    """Change ``email`` and/or ``webhook_url`` (null removes it; setting it re-enables it)."""
    body = schemas.parse(schemas.NotificationsChange)
    change = preferences.update(
        db_session(),
        current_user_id(),
        current_settings(),
        email=preferences.UNCHANGED if body.email is msgspec.UNSET else body.email,
        webhook_url=preferences.UNCHANGED if body.webhook_url is msgspec.UNSET else body.webhook_url,
    )
    return settings_json(change.prefs, change.new_secret)


@bp.post("/notifications/webhook-secret")
@login_required
def rotate_secret():
    """A new signing secret, shown this once; the previous one stops signing at once."""
    return {"webhook_secret": preferences.rotate_secret(db_session(), current_user_id())}


@bp.get("/tasks/<int:task_id>/notifications")
@login_required
def task_notifications(task_id: int):
    if task_id > MAX_TASK_ID:
        raise NotFound(f"task {task_id} not found")
    session = db_session()
    task_service.get_task(session, current_user_id(), task_id)
    hook, found = preferences.task_notifications(session, task_id)
    return {
        "webhook": None if hook is None else {
            "url": hook.url,
            "disabled": hook.disabled_at is not None,
            "disabled_at": iso_utc(hook.disabled_at),
            "disabled_reason": hook.disabled_reason,
        },
        "events": [
            {
                "id": event.event_id,
                "type": event.event_type,
                "channel": event.channel,
                "scope": event.scope,
                "target": event.target,
                "state": event.state,
                "attempts": event.attempts,
                "last_error": event.last_error,
                "next_attempt_at": iso_utc(event.next_attempt_at) if event.state == "pending" else None,
                "delivered_at": iso_utc(event.delivered_at),
                "created_at": iso_utc(event.created_at),
            }
            for event in found
        ],
    }
