"""The notification outbox: events recorded when a task finishes, claimed and
settled by senders.

Recording is idempotent (one row per task, event and scope, under a unique
constraint). Claiming moves ``next_attempt_at`` forward with a conditional
update, so many senders (one per worker process, on any VM) share the table
and a sender that dies mid-delivery only delays its events by the claim time.
"""

from __future__ import annotations

import datetime as dt
import enum
import logging

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from comprimemelo.domain.models import NotificationSettings, OutboxEvent, Task, TaskWebhook, User, utcnow
from comprimemelo.notifications import events
from comprimemelo.settings import Settings

log = logging.getLogger(__name__)


class State(str, enum.Enum):
    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"
    # Never sent: its webhook was disabled or changed before it was due.
    DISCARDED = "discarded"


class Channel(str, enum.Enum):
    EMAIL = "email"
    WEBHOOK = "webhook"


class Scope(str, enum.Enum):
    EMAIL = "email"
    USER_WEBHOOK = "user"
    TASK_WEBHOOK = "task"


MAIL_WINDOW = dt.timedelta(hours=1)
RECORD_TRIES = 3
SCOPE_CHANNEL = {Scope.EMAIL: Channel.EMAIL, Scope.USER_WEBHOOK: Channel.WEBHOOK, Scope.TASK_WEBHOOK: Channel.WEBHOOK}


def record_task_finished(session: Session, task_id: int, status: str, settings: Settings) -> int:
    """Write the events for ``task_id`` having become ``status``; returns how many.

    Nothing is written for a status that is not an end state, a deleted task,
    or a user with nothing switched on. Recording twice writes nothing more.
    """
    event_type = events.EVENT_TYPES.get(status)
    task = session.get(Task, task_id)
    if event_type is None or task is None or task.status != status:
        return 0
    targets: dict[Scope, str] = {}
    prefs = session.get(NotificationSettings, task.owner_id)
    if prefs is not None and prefs.email_enabled:
        owner = session.get(User, task.owner_id)
        # Mail goes only to an address its holder proved (comprimemelo.services.verification).
        if owner is not None and owner.email_verified_at is not None and "@" in owner.email_lower:
            targets[Scope.EMAIL] = owner.email
    if prefs is not None and prefs.webhook_url and prefs.webhook_disabled_at is None:
        targets[Scope.USER_WEBHOOK] = prefs.webhook_url
    task_webhook = session.get(TaskWebhook, task_id)
    if task_webhook is not None and task_webhook.disabled_at is None:
        targets[Scope.TASK_WEBHOOK] = task_webhook.url
    written = 0
    for _ in range(RECORD_TRIES):
        try:
            written = _insert_missing(session, task, event_type, targets, settings)
            session.commit()
            return written
        except IntegrityError:
            # Another process recorded some of them first: add only what is still missing.
            session.rollback()
            task = session.get(Task, task_id)
            if task is None:
                return 0
    return written


def _insert_missing(session: Session, task: Task, event_type: str, targets: dict, settings: Settings) -> int:
    recorded = set(
        session.scalars(
            sa.select(OutboxEvent.scope).where(OutboxEvent.task_id == task.id, OutboxEvent.event_type == event_type)
        )
    )
    now = utcnow()
    written = 0
    for scope, target in targets.items():
        if scope.value in recorded:
            continue
        event_id = events.new_event_id()
        payload = events.encode(events.task_event(event_id, event_type, task, settings))
        session.add(
            OutboxEvent(
                event_id=event_id, event_type=event_type, task_id=task.id, user_id=task.owner_id,
                channel=SCOPE_CHANNEL[scope].value, scope=scope.value, target=target, payload=payload,
                state=State.PENDING.value, attempts=0, next_attempt_at=now, created_at=now,
            )
        )
        written += 1
    session.flush()
    return written


def record_account_mail(session: Session, user: User, event_type: str, data: dict, settings: Settings) -> bool:
    """Queue an account mail to ``user``'s address (in the caller's transaction);
    False, and nothing queued, if that address had ``account_mail_per_hour`` already."""
    since = utcnow() - MAIL_WINDOW
    recent = session.scalar(
        sa.select(sa.func.count()).select_from(OutboxEvent).where(
            OutboxEvent.task_id.is_(None), sa.func.lower(OutboxEvent.target) == user.email.lower(),
            OutboxEvent.created_at > since,
        )
    )
    if recent >= settings.account_mail_per_hour:
        log.info("account mail to user %s not sent: its address had %d this hour", user.id, recent)
        return False
    event_id = events.new_event_id()
    payload = events.encode(events.account_event(event_id, event_type, user, data))
    now = utcnow()
    session.add(OutboxEvent(
        event_id=event_id, event_type=event_type, task_id=None, user_id=user.id, channel=Channel.EMAIL.value,
        scope=Scope.EMAIL.value, target=user.email, payload=payload, state=State.PENDING.value, attempts=0,
        next_attempt_at=now, created_at=now,
    ))
    session.flush()
    return True


def task_mail_sent_recently(session: Session, user_id: int, *, since: dt.datetime) -> int:
    """Task mail delivered to the user since ``since`` (the per-user mail limit)."""
    return session.scalar(
        sa.select(sa.func.count()).select_from(OutboxEvent).where(
            OutboxEvent.user_id == user_id, OutboxEvent.channel == Channel.EMAIL.value,
            OutboxEvent.task_id.is_not(None), OutboxEvent.state == State.DELIVERED.value,
            OutboxEvent.delivered_at > since,
        )
    )


def claim_due(session: Session, *, limit: int, claim_seconds: float) -> list[OutboxEvent]:
    """Up to ``limit`` pending events whose time has come, now hidden from other
    senders for ``claim_seconds`` (they come back if this sender dies)."""
    now = utcnow()
    due = session.execute(
        sa.select(OutboxEvent.id, OutboxEvent.next_attempt_at)
        .where(OutboxEvent.state == State.PENDING.value, OutboxEvent.next_attempt_at <= now)
        .order_by(OutboxEvent.next_attempt_at)
        .limit(limit)
    ).all()
    until = now + dt.timedelta(seconds=claim_seconds)
    claimed = []
    for event_id, seen in due:
        result = session.execute(
            sa.update(OutboxEvent)
            .where(
                OutboxEvent.id == event_id,
                OutboxEvent.state == State.PENDING.value,
                OutboxEvent.next_attempt_at == seen,
            )
            .values(next_attempt_at=until)
        )
        if result.rowcount == 1:
            claimed.append(event_id)
    session.commit()
    if not claimed:
        return []
    return list(session.scalars(sa.select(OutboxEvent).where(OutboxEvent.id.in_(claimed)).order_by(OutboxEvent.id)))


def settle(
    session: Session, event_id: int, state: State, *, error: str | None = None, retry_in: float | None = None
) -> None:
    """Record one attempt: delivered, failed for good, discarded, or pending again in ``retry_in`` s."""
    now = utcnow()
    values: dict = {"attempts": OutboxEvent.attempts + (0 if state is State.DISCARDED else 1), "last_error": error}
    if state is State.PENDING:
        values["next_attempt_at"] = now + dt.timedelta(seconds=retry_in or 0)
    else:
        values["state"] = state.value
    if state is State.DELIVERED:
        values["delivered_at"] = now
    session.execute(
        sa.update(OutboxEvent)
        .where(OutboxEvent.id == event_id, OutboxEvent.state == State.PENDING.value)
        .values(**values)
    )
    session.commit()


def webhook_answered(session: Session, event: OutboxEvent, *, gone: bool, disable_after: int) -> bool:
    """Count consecutive ``410 Gone`` for the event's webhook (any other answer
    resets the count); at ``disable_after`` disable it and discard its pending
    events. True if it was disabled now."""
    if event.scope == Scope.USER_WEBHOOK.value:
        model, key, url_column = NotificationSettings, NotificationSettings.user_id, NotificationSettings.webhook_url
        count, disabled_at, reason = "webhook_gone_count", "webhook_disabled_at", "webhook_disabled_reason"
        owner = event.user_id
        same_webhook = sa.and_(OutboxEvent.user_id == event.user_id, OutboxEvent.scope == event.scope)
    else:
        model, key, url_column = TaskWebhook, TaskWebhook.task_id, TaskWebhook.url
        count, disabled_at, reason = "gone_count", "disabled_at", "disabled_reason"
        owner = event.task_id
        same_webhook = sa.and_(OutboxEvent.task_id == event.task_id, OutboxEvent.scope == event.scope)
    this_webhook = sa.and_(key == owner, url_column == event.target, getattr(model, disabled_at).is_(None))
    if not gone:
        session.execute(sa.update(model).where(this_webhook).values({count: 0}))
        session.commit()
        return False
    session.execute(sa.update(model).where(this_webhook).values({count: getattr(model, count) + 1}))
    seen = session.scalar(sa.select(getattr(model, count)).where(this_webhook))
    disabled = False
    if seen is not None and seen >= disable_after:
        now = utcnow()
        note = f"disabled after {seen} consecutive 410 Gone answers"
        session.execute(sa.update(model).where(this_webhook).values({disabled_at: now, reason: note}))
        session.execute(
            sa.update(OutboxEvent)
            .where(same_webhook, OutboxEvent.state == State.PENDING.value, OutboxEvent.id != event.id)
            .values(state=State.DISCARDED.value, last_error=f"webhook {note}")
        )
        disabled = True
        log.warning("webhook of %s %s %s", "user" if event.scope == Scope.USER_WEBHOOK.value else "task", owner, note)
    session.commit()
    return disabled


def webhook_still_wanted(session: Session, event: OutboxEvent) -> tuple[str | None, str | None]:
    """``(secret, None)`` if the event's webhook is still on, at the same URL;
    ``(None, why not)`` otherwise. The secret is the owner's current one."""
    prefs = session.get(NotificationSettings, event.user_id)
    secret = prefs.webhook_secret if prefs else None
    if event.scope == Scope.USER_WEBHOOK.value:
        if prefs is None or prefs.webhook_url != event.target:
            return None, "the webhook was changed or removed before delivery"
        if prefs.webhook_disabled_at is not None:
            return None, "the webhook is disabled"
    else:
        hook = session.get(TaskWebhook, event.task_id)
        if hook is None or hook.disabled_at is not None:
            return None, "the task's webhook is disabled"
    if not secret:
        return None, "no webhook signing secret"
    return secret, None


def unrecorded_finished_tasks(session: Session, *, since: dt.datetime, until: dt.datetime, limit: int) -> list[tuple[int, str]]:
    """Tasks that finished in ``[since, until]``, whose owner or task asked for
    notifications, yet have no event: the worker died between marking the task
    finished and recording its events. ``(task id, status)`` pairs."""
    wants_user = sa.exists().where(
        NotificationSettings.user_id == Task.owner_id,
        NotificationSettings.updated_at <= Task.processed_at,
        sa.or_(
            NotificationSettings.email_enabled.is_(True),
            sa.and_(NotificationSettings.webhook_url.is_not(None), NotificationSettings.webhook_disabled_at.is_(None)),
        ),
    )
    wants_task = sa.exists().where(TaskWebhook.task_id == Task.id, TaskWebhook.disabled_at.is_(None))
    has_event = sa.exists().where(OutboxEvent.task_id == Task.id)
    rows = session.execute(
        sa.select(Task.id, Task.status)
        .where(
            Task.status.in_(list(events.EVENT_TYPES)),
            Task.processed_at.between(since, until),
            sa.or_(wants_user, wants_task),
            ~has_event,
        )
        .limit(limit)
    ).all()
    return [(row[0], row[1]) for row in rows]


def prune(session: Session, *, before: dt.datetime) -> int:
    """Delete settled events older than ``before``."""
    result = session.execute(
        sa.delete(OutboxEvent).where(OutboxEvent.state != State.PENDING.value, OutboxEvent.created_at < before)
    )
    session.commit()
    return result.rowcount or 0
