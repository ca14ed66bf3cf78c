"""Worker-side task state changes, each one atomic conditional update.

A worker owns a task while ``lease_owner`` is its id; once ``lease_expires_at``
has passed, another worker may take it over (``claim``), which changes the
owner. Every change below checks the owner in its ``WHERE`` clause, so on
SQLite and PostgreSQL alike two workers never both hold a task, and a worker
whose lease lapsed cannot overwrite the result of the one that took over. A
lapsed lease that nobody took over (say the database was down for longer than
a lease) is still the worker's own: it may renew it and complete the task,
which would otherwise be stranded in ``processing``.
"""

from __future__ import annotations

import datetime as dt
import enum

import sqlalchemy as sa
from sqlalchemy.orm import Session

from comprimemelo.models import Task, utcnow
from comprimemelo.statuses import TaskStatus

MAX_ERROR_LENGTH = 2000


class ClaimOutcome(str, enum.Enum):
    CLAIMED = "claimed"  # this worker now holds the task
    FINISHED = "finished"  # already processed or failed: nothing to do
    BUSY = "busy"  # a live worker holds it
    GONE = "gone"  # deleted
    EXHAUSTED = "exhausted"  # out of attempts: now marked failed


def _claimable(now: dt.datetime):
    return sa.or_(
        Task.status == TaskStatus.UPLOADED.value,
        sa.and_(Task.status == TaskStatus.PROCESSING.value, Task.lease_expires_at < now),
    )


def _held_by(task_id: int, worker: str):
    return sa.and_(
        Task.id == task_id,
        Task.status == TaskStatus.PROCESSING.value,
        Task.lease_owner == worker,
    )


def claim(
    session: Session, task_id: int, worker: str, *, lease_seconds: float, max_attempts: int
) -> ClaimOutcome:
    now = utcnow()
    claimed = session.execute(
        sa.update(Task)
        .where(Task.id == task_id, Task.attempts < max_attempts, _claimable(now))
        .values(
            status=TaskStatus.PROCESSING.value,
            lease_owner=worker,
            lease_expires_at=now + dt.timedelta(seconds=lease_seconds),
            attempts=Task.attempts + 1,
            started_at=now,
            progress=0,
        )
        .execution_options(synchronize_session=False)
    ).rowcount
    session.commit()
    if claimed:
        return ClaimOutcome.CLAIMED
    task = session.get(Task, task_id, populate_existing=True)
    if task is None:
        return ClaimOutcome.GONE
    if TaskStatus(task.status).finished:
        return ClaimOutcome.FINISHED
    exhausted = session.execute(
        sa.update(Task)
        .where(Task.id == task_id, Task.attempts >= max_attempts, _claimable(now))
        .values(
            status=TaskStatus.FAILED.value,
            error=_truncate(
                f"gave up after {task.attempts} attempts: {task.error or 'the worker stopped'}"
            ),
            lease_owner=None,
            lease_expires_at=None,
            processed_at=now,
        )
        .execution_options(synchronize_session=False)
    ).rowcount
    session.commit()
    return ClaimOutcome.EXHAUSTED if exhausted else ClaimOutcome.BUSY


def renew(session: Session, task_id: int, worker: str, *, lease_seconds: float) -> bool:
    """Extend the lease; ``False`` means another worker took the task over (or it
    was deleted or finished) and the work must be abandoned."""
    now = utcnow()
    renewed = session.execute(
        sa.update(Task)
        .where(_held_by(task_id, worker))
        .values(lease_expires_at=now + dt.timedelta(seconds=lease_seconds))
        .execution_options(synchronize_session=False)
    ).rowcount
    session.commit()
    return bool(renewed)


def report_progress(session: Session, task_id: int, worker: str, percent: int) -> bool:
    """Record how far the holder of the lease has got; ``False`` if it no longer holds it."""
    updated = session.execute(
        sa.update(Task)
        .where(_held_by(task_id, worker))
        .values(progress=max(0, min(100, percent)))
        .execution_options(synchronize_session=False)
    ).rowcount
    session.commit()
    return bool(updated)


def complete(session: Session, task_id: int, worker: str, *, key: str, size: int) -> bool:
    """Record the archive; ``False`` if another worker took the task over (the
    caller deletes ``key``)."""
    now = utcnow()
    done = session.execute(
        sa.update(Task)
        .where(_held_by(task_id, worker))
        .values(
            status=TaskStatus.PROCESSED.value,
            compressed_key=key,
            size_compressed=size,
            processed_at=now,
            error=None,
            lease_owner=None,
            lease_expires_at=None,
        )
        .execution_options(synchronize_session=False)
    ).rowcount
    session.commit()
    return bool(done)


def release(
    session: Session, task_id: int, worker: str, *, error: str, refund_attempt: bool = False
) -> bool:
    """Give the task back so it can be retried. ``refund_attempt`` is for a
    worker that stops (scale-in, rolling update): that is not the task's fault."""
    return _finish_attempt(
        session, task_id, worker, TaskStatus.UPLOADED, error, refund_attempt=refund_attempt
    )


def fail(session: Session, task_id: int, worker: str, *, error: str) -> bool:
    """Mark the task failed for good."""
    return _finish_attempt(session, task_id, worker, TaskStatus.FAILED, error)


def _finish_attempt(
    session: Session,
    task_id: int,
    worker: str,
    status: TaskStatus,
    error: str,
    *,
    refund_attempt: bool = False,
) -> bool:
    values = dict(
        status=status.value, error=_truncate(error), lease_owner=None, lease_expires_at=None
    )
    if refund_attempt:
        values["attempts"] = Task.attempts - 1
    if status.finished:
        values["processed_at"] = utcnow()
    changed = session.execute(
        sa.update(Task)
        .where(Task.id == task_id, Task.lease_owner == worker)
        .values(**values)
        .execution_options(synchronize_session=False)
    ).rowcount
    session.commit()
    return bool(changed)


def _truncate(text: str) -> str:
    return text if len(text) <= MAX_ERROR_LENGTH else text[: MAX_ERROR_LENGTH - 1] + "…"
