"""What each user asked for: e-mail on or off, a webhook and its signing
secret; and the webhook of a single task (``webhookUrl`` on upload)."""

from __future__ import annotations

import dataclasses

import sqlalchemy as sa
from sqlalchemy.orm import Session

from comprimemelo.domain.errors import InvalidInput
from comprimemelo.domain.models import NotificationSettings, OutboxEvent, Task, TaskWebhook, utcnow
from comprimemelo.notifications import signing
from comprimemelo.notifications.targets import validate_webhook_url
from comprimemelo.settings import Settings

# Sentinel for "field not sent", as opposed to null (remove the webhook).
UNCHANGED = object()


@dataclasses.dataclass(frozen=True)
class Change:
    """The result of an update: the settings, and the secret if it was just made."""

    prefs: NotificationSettings
    new_secret: str | None = None


def get(session: Session, user_id: int) -> NotificationSettings:
    """The user's settings; defaults (all off) if never set. Not added to the session."""
    return session.get(NotificationSettings, user_id) or NotificationSettings(
        user_id=user_id, email_enabled=False, webhook_url=None, webhook_secret=None, webhook_gone_count=0
    )


def _stored(session: Session, user_id: int) -> NotificationSettings:
    prefs = session.get(NotificationSettings, user_id)
    if prefs is None:
        prefs = NotificationSettings(user_id=user_id, email_enabled=False, webhook_gone_count=0)
        session.add(prefs)
    return prefs


def update(session: Session, user_id: int, settings: Settings, *, email=UNCHANGED, webhook_url=UNCHANGED) -> Change:
    """Switch e-mail on or off and set (re-enabling it) or remove the webhook.

    The first webhook gets a signing secret, returned once in ``Change.new_secret``.

    :raise InvalidInput: if a value has the wrong type or the URL is refused.
    """
    if email is not UNCHANGED and not isinstance(email, bool):
        raise InvalidInput("'email' must be true or false", code="invalid_field")
    if webhook_url is not UNCHANGED and webhook_url is not None:
        if not isinstance(webhook_url, str):
            raise InvalidInput("'webhook_url' must be a URL string or null", code="invalid_field")
        validate_webhook_url(webhook_url, settings)
    prefs = _stored(session, user_id)
    new_secret = None
    if email is not UNCHANGED:
        prefs.email_enabled = email
    if webhook_url is not UNCHANGED:
        prefs.webhook_url = webhook_url
        prefs.webhook_gone_count = 0
        prefs.webhook_disabled_at = None
        prefs.webhook_disabled_reason = None
        if webhook_url and not prefs.webhook_secret:
            prefs.webhook_secret = new_secret = signing.new_secret()
    prefs.updated_at = utcnow()
    session.commit()
    return Change(prefs, new_secret)


def rotate_secret(session: Session, user_id: int) -> str:
    """A new signing secret for every webhook of the user; the old one stops at once."""
    prefs = _stored(session, user_id)
    prefs.webhook_secret = secret = signing.new_secret()
    prefs.updated_at = utcnow()
    session.commit()
    return secret


def validate_task_webhook(session: Session, user_id: int, url: str | None, settings: Settings) -> str | None:
    """The ``webhookUrl`` of an upload, checked before the task is created; None if absent.

    :raise InvalidInput: if the URL is refused, or the user has no signing
        secret yet (events must be verifiable).
    """
    if url is None or url == "":
        return None
    validate_webhook_url(url, settings)
    prefs = session.get(NotificationSettings, user_id)
    if prefs is None or not prefs.webhook_secret:
        raise InvalidInput(
            "create your webhook signing secret first: POST /api/notifications/webhook-secret",
            code="webhook_secret_required",
        )
    return url


def attach_task_webhook(session: Session, task: Task, url: str | None) -> None:
    """Give ``task`` its own webhook (a URL from ``validate_task_webhook``; None: nothing).

    Joins the caller's transaction and does not commit: call it before the
    task is committed (``tasks.create_task(before_commit=...)``), so no worker
    can finish the task before its webhook exists.
    """
    if url:
        session.add(TaskWebhook(task_id=task.id, url=url, gone_count=0))
        session.flush()


def task_notifications(session: Session, task_id: int) -> tuple[TaskWebhook | None, list[OutboxEvent]]:
    """The task's own webhook and every event recorded for it, oldest first."""
    hook = session.get(TaskWebhook, task_id)
    found = list(
        session.scalars(sa.select(OutboxEvent).where(OutboxEvent.task_id == task_id).order_by(OutboxEvent.id))
    )
    return hook, found
