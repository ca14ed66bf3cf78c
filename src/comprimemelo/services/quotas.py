"""Per-user quotas: bytes kept, live tasks, open upload sessions, tasks per hour.

Usage lives on the user's row: the database's triggers keep the first three
(migration 0009), the hourly count is written here. Taking a quota is one
conditional ``UPDATE`` of that row, in the transaction that creates the task
or the upload session, whose conditions read only that row's columns. That is
what makes it race-free: on PostgreSQL a concurrent request waits for the
row's lock and then checks the row as the first left it (its new task
already counted by the trigger); SQLite has one writer at a time. So two
uploads cannot both pass the last byte.

A limit of 0 is no limit. An archive is counted when the worker makes it and
may take its owner past the storage quota: new uploads are then refused until
files expire or are deleted.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import math

import sqlalchemy as sa
from sqlalchemy.orm import Session

from comprimemelo.domain.errors import ComprimemeloError, Conflict
from comprimemelo.domain.models import Task, User, utcnow
from comprimemelo.settings import Settings
from comprimemelo.domain.statuses import TaskStatus
from comprimemelo.domain.timestamps import iso_utc

WINDOW = dt.timedelta(hours=1)
# A refused take whose re-read finds room (usage freed meanwhile) is tried again.
TAKE_TRIES = 3


class Quota(str, enum.Enum):
    STORAGE_BYTES = "storage_bytes"
    LIVE_TASKS = "live_tasks"
    OPEN_UPLOADS = "open_uploads"
    TASKS_PER_HOUR = "tasks_per_hour"


@dataclasses.dataclass(frozen=True)
class Limits:
    storage_bytes: int
    live_tasks: int
    open_uploads: int
    tasks_per_hour: int

    @classmethod
    def of(cls, settings: Settings) -> Limits:
        return cls(settings.quota_storage_bytes, settings.quota_live_tasks, settings.quota_open_uploads,
                   settings.quota_tasks_per_hour)


@dataclasses.dataclass(frozen=True)
class Usage:
    storage_bytes: int
    live_tasks: int
    open_uploads: int
    tasks_this_hour: int
    # When the hourly count starts again (None: no task in the last hour).
    window_ends_at: dt.datetime | None

    def of(self, quota: Quota) -> int:
        return self.tasks_this_hour if quota is Quota.TASKS_PER_HOUR else getattr(self, quota.value)


class QuotaExceeded(ComprimemeloError):
    """Over a quota: 413 for bytes, 429 for the counts. Says which, how much,
    and when it frees where that is known (``Retry-After`` then)."""

    code = "quota_exceeded"

    def __init__(self, quota: Quota, limit: int, used: int, frees_at: dt.datetime | None, message: str) -> None:
        super().__init__(message)
        self.status = 413 if quota is Quota.STORAGE_BYTES else 429
        self.quota, self.limit, self.used, self.frees_at = quota, limit, used, frees_at
        self.retry_after = max(1, math.ceil((frees_at - utcnow()).total_seconds())) if frees_at else None

    def details(self) -> dict:
        return {"quota": self.quota.value, "limit": self.limit, "used": self.used, "frees_at": iso_utc(self.frees_at)}


_USAGE_COLUMNS = (User.stored_bytes, User.live_tasks, User.open_uploads, User.tasks_in_window,
                  User.quota_window_started_at)


def usage(session: Session, owner_id: int, now: dt.datetime | None = None) -> Usage:
    row = session.execute(sa.select(*_USAGE_COLUMNS).where(User.id == owner_id)).one()
    return _usage(row, now or utcnow())


def _usage(row, now: dt.datetime) -> Usage:
    stored, live, open_uploads, in_window, started = row
    current = started is not None and started > now - WINDOW
    return Usage(stored, live, open_uploads, in_window if current else 0, started + WINDOW if current else None)


def check_task(session: Session, owner_id: int, limits: Limits, new_bytes: int) -> None:
    """A first look, before bytes are stored: refuse what would be refused anyway.

    :raise QuotaExceeded: if a task of ``new_bytes`` more is over a quota now.
    """
    _refuse(session, owner_id, limits, usage(session, owner_id), new_bytes, new_task=True)


def check_upload(session: Session, owner_id: int, limits: Limits, size: int) -> None:
    """A first look, before the backend opens a session: refuse what would be refused.

    :raise QuotaExceeded: if an upload of ``size`` bytes is over a quota now.
    """
    _refuse(session, owner_id, limits, usage(session, owner_id), size, new_task=False)


def take_task(session: Session, owner_id: int, limits: Limits, new_bytes: int) -> None:
    """Count a new task (and ``new_bytes`` it adds) in ``session``'s transaction,
    before the task is inserted; binding and race-free (see the module).

    :raise QuotaExceeded: naming the first quota it would exceed.
    """
    for _ in range(TAKE_TRIES):
        now = utcnow()
        expired = sa.or_(User.quota_window_started_at.is_(None), User.quota_window_started_at <= now - WINDOW)
        taken = session.execute(
            sa.update(User)
            .where(User.id == owner_id, *_room(limits, new_bytes, new_task=True, expired=expired))
            .values(
                tasks_in_window=sa.case((expired, 1), else_=User.tasks_in_window + 1),
                quota_window_started_at=sa.case((expired, now), else_=User.quota_window_started_at),
            )
            .execution_options(synchronize_session=False)
        ).rowcount
        if taken:
            return
        _refuse(session, owner_id, limits, usage(session, owner_id, now), new_bytes, new_task=True)
    raise Conflict("your usage changed while this was checked; try again", code="quota_busy")


def take_upload(session: Session, owner_id: int, limits: Limits, size: int) -> None:
    """Room for an upload session of ``size`` bytes, in the transaction that
    inserts it (the trigger then counts it); binding and race-free.

    :raise QuotaExceeded: if it would exceed the bytes or open-uploads quota.
    """
    for _ in range(TAKE_TRIES):
        taken = session.execute(
            sa.update(User)
            .where(User.id == owner_id, *_room(limits, size, new_task=False))
            .values(open_uploads=User.open_uploads)  # takes the row's lock, changes nothing
            .execution_options(synchronize_session=False)
        ).rowcount
        if taken:
            return
        _refuse(session, owner_id, limits, usage(session, owner_id), size, new_task=False)
    raise Conflict("your usage changed while this was checked; try again", code="quota_busy")


def _room(limits: Limits, new_bytes: int, *, new_task: bool, expired=None) -> list:
    conditions = []
    if limits.storage_bytes and new_bytes:
        conditions.append(User.stored_bytes + new_bytes <= limits.storage_bytes)
    if new_task:
        if limits.live_tasks:
            conditions.append(User.live_tasks < limits.live_tasks)
        if limits.tasks_per_hour:
            conditions.append(sa.or_(expired, User.tasks_in_window < limits.tasks_per_hour))
    elif limits.open_uploads:
        conditions.append(User.open_uploads < limits.open_uploads)
    return conditions


def _refuse(session: Session, owner_id: int, limits: Limits, used: Usage, new_bytes: int, *, new_task: bool) -> None:
    if limits.storage_bytes and new_bytes and used.storage_bytes + new_bytes > limits.storage_bytes:
        raise QuotaExceeded(
            Quota.STORAGE_BYTES, limits.storage_bytes, used.storage_bytes, _next_expiry(session, owner_id),
            f"storage quota: {used.storage_bytes} of {limits.storage_bytes} bytes are in use and this needs "
            f"{new_bytes} more; delete tasks, or wait for files to expire",
        )
    if new_task and limits.live_tasks and used.live_tasks >= limits.live_tasks:
        raise QuotaExceeded(
            Quota.LIVE_TASKS, limits.live_tasks, used.live_tasks, None,
            f"live-tasks quota: {used.live_tasks} of your tasks are queued or processing (at most "
            f"{limits.live_tasks}); one more frees when one finishes",
        )
    if new_task and limits.tasks_per_hour and used.tasks_this_hour >= limits.tasks_per_hour:
        raise QuotaExceeded(
            Quota.TASKS_PER_HOUR, limits.tasks_per_hour, used.tasks_this_hour, used.window_ends_at,
            f"tasks-per-hour quota: {used.tasks_this_hour} of {limits.tasks_per_hour} this hour; "
            f"more from {iso_utc(used.window_ends_at)}",
        )
    if not new_task and limits.open_uploads and used.open_uploads >= limits.open_uploads:
        raise QuotaExceeded(
            Quota.OPEN_UPLOADS, limits.open_uploads, used.open_uploads, None,
            f"open-uploads quota: {used.open_uploads} of {limits.open_uploads} upload sessions are open; "
            "complete or cancel one first",
        )


def _next_expiry(session: Session, owner_id: int) -> dt.datetime | None:
    """When the owner's next files are deleted by retention (bytes free then)."""
    return session.scalar(
        sa.select(sa.func.min(Task.expires_at)).where(
            Task.owner_id == owner_id, Task.status != TaskStatus.EXPIRED.value, Task.expires_at.is_not(None)
        )
    )
