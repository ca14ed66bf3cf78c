"""Worker-side task state changes, each one atomic conditional update.

A worker owns a task while ``lease_owner`` is its id; once ``lease_expires_at``
has passed, another worker may take it over (``claim``), which changes the
owner. Every change below checks the owner in its ``WHERE`` clause, so on
SQLite and PostgreSQL alike two workers never both hold a task, and a worker
whose lease lapsed cannot overwrite the result of the one that took over. A
lapsed lease that nobody took over (say the database was down for longer than
a lease) is still the worker's own: it may renew it and complete the task,
which would otherwise be stranded in ``processing``.

Which task a worker claims is decided here, not by the queue: a queue message
only says that a task is waiting, and ``claim_next`` takes the fairest
claimable one (see its docstring), so one user's flood cannot hold back
another user's task for longer than the tasks already running.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum

import sqlalchemy as sa
from sqlalchemy.orm import Session, aliased

from comprimemelo.domain.models import Task, utcnow
from comprimemelo.domain.statuses import TaskStatus

MAX_ERROR_LENGTH = 2000
# Fair picks a worker may lose to other workers (each loss means another worker
# took a task) before it claims its message's own task instead.
MAX_PICK_ROUNDS = 4

_UPLOADED = TaskStatus.UPLOADED.value
_PROCESSING = TaskStatus.PROCESSING.value


class ClaimOutcome(str, enum.Enum):
    CLAIMED = "claimed"  # this worker now holds the task
    FINISHED = "finished"  # already processed or failed: nothing to do
    BUSY = "busy"  # a live worker holds it (``claim_next``: others won every pick)
    GONE = "gone"  # deleted
    EXHAUSTED = "exhausted"  # out of attempts: now marked failed
    IDLE = "idle"  # ``claim_next``: nothing is claimable


@dataclasses.dataclass(frozen=True)
class NextClaim:
    """What ``claim_next`` did: ``task_id`` is the task now held when ``CLAIMED``;
    ``exhausted`` the tasks it found out of attempts and marked failed on the way."""

    outcome: ClaimOutcome
    task_id: int | None = None
    exhausted: tuple[int, ...] = ()


def _waiting(now):
    """An ``uploaded`` task whose retry backoff, if any, is over."""
    return sa.and_(
        Task.status == _UPLOADED, sa.or_(Task.not_before.is_(None), Task.not_before <= now)
    )


def _abandoned(now):
    """``processing`` under a lease that ran out: its worker died or lost touch."""
    return sa.and_(Task.status == _PROCESSING, Task.lease_expires_at < now)


def _claimable(now):
    return sa.or_(_waiting(now), _abandoned(now))


def _fair_pick_statement() -> sa.Select:
    """The id of the fairest claimable task, or no row; bind ``now``.

    Each owner with claimable tasks offers its oldest (a task whose worker died
    before an ``uploaded`` one, which is older anyway). Offers are ranked by,
    in order: fewest tasks of the owner running (a live lease), longest since
    one of the owner's tasks was last claimed (never comes first), oldest task.

    Cheap with any backlog: each owner's oldest waiting task is found by a
    loose index scan (a recursive CTE that seeks, in
    ``ix_tasks_status_owner_id_id``, the first waiting task of the next owner),
    the rest per owner by index seeks, so the cost grows with the number of
    owners waiting, not of tasks (see ``capacity/reports/fairness``).
    """
    now = sa.bindparam("now", type_=Task.lease_expires_at.type)

    def first_waiting(after=None) -> sa.Select:
        query = sa.select(Task.id).where(_waiting(now))
        if after is not None:
            query = query.where(Task.owner_id > after)
        # The index's own order: no plan can walk the primary key and filter instead.
        return query.order_by(Task.owner_id, Task.id).limit(1)

    waiting = (
        sa.select(Task.owner_id, Task.id.label("task_id"))
        .where(Task.id == first_waiting().scalar_subquery())
        .cte("waiting", recursive=True)
    )
    following = aliased(Task)
    waiting = waiting.union_all(
        sa.select(following.owner_id, following.id).select_from(waiting).join(
            following,
            following.id == first_waiting(after=waiting.c.owner_id).correlate(waiting).scalar_subquery(),
        )
    )
    offers = sa.union_all(
        sa.select(waiting.c.owner_id, waiting.c.task_id),
        sa.select(Task.owner_id, sa.func.min(Task.id)).where(_abandoned(now)).group_by(Task.owner_id),
    ).subquery("offers")
    running = (
        sa.select(sa.func.count(Task.id))
        .where(Task.status == _PROCESSING, Task.owner_id == offers.c.owner_id, Task.lease_expires_at >= now)
        .correlate(offers).scalar_subquery()
    )
    last_claimed = (
        sa.select(sa.func.max(Task.started_at)).where(Task.owner_id == offers.c.owner_id)
        .correlate(offers).scalar_subquery()
    )
    ranked = sa.select(
        offers.c.task_id, running.label("running"), last_claimed.label("last_claimed")
    ).subquery("ranked")
    return (
        sa.select(ranked.c.task_id)
        .order_by(ranked.c.running, ranked.c.last_claimed.asc().nulls_first(), ranked.c.task_id)
        .limit(1)
    )


# Built once: it is run at every claim.
_FAIR_PICK = _fair_pick_statement()


def _held_by(task_id: int, worker: str):
    return sa.and_(
        Task.id == task_id,
        Task.status == TaskStatus.PROCESSING.value,
        Task.lease_owner == worker,
    )


def claim_next(
    session: Session,
    worker: str,
    *,
    lease_seconds: float,
    max_attempts: int,
    fallback_task_id: int | None = None,
) -> NextClaim:
    """Claim the fairest claimable task (see ``_fair_pick_statement``) for ``worker``.

    The pick and the claim are two statements; the claim is the same atomic
    conditional update as ``claim``'s, so a task another worker took meanwhile
    only costs another pick. After ``MAX_PICK_ROUNDS`` lost picks (many workers
    woken at once all pick the same task) it claims ``fallback_task_id`` (the
    message's own task), which no other message names; ``BUSY`` if that fails
    too: claimable tasks remain, so the caller must give its message back.
    A picked task out of attempts is marked failed (``exhausted``) and the pick
    goes on: that is no lost round.
    """
    exhausted: list[int] = []
    lost = 0
    while lost < MAX_PICK_ROUNDS:
        now = utcnow()
        task_id = session.execute(_FAIR_PICK, {"now": now}).scalar()
        session.commit()
        if task_id is None:
            return NextClaim(ClaimOutcome.IDLE, exhausted=tuple(exhausted))
        if _take(session, task_id, worker, now, lease_seconds=lease_seconds, max_attempts=max_attempts):
            return NextClaim(ClaimOutcome.CLAIMED, task_id, tuple(exhausted))
        if _fail_exhausted(session, task_id, now, max_attempts=max_attempts):
            exhausted.append(task_id)
        else:
            lost += 1
    if fallback_task_id is not None:
        outcome = claim(
            session, fallback_task_id, worker, lease_seconds=lease_seconds, max_attempts=max_attempts
        )
        if outcome is ClaimOutcome.CLAIMED:
            return NextClaim(outcome, fallback_task_id, tuple(exhausted))
        if outcome is ClaimOutcome.EXHAUSTED:
            exhausted.append(fallback_task_id)
    return NextClaim(ClaimOutcome.BUSY, exhausted=tuple(exhausted))


def claim(
    session: Session, task_id: int, worker: str, *, lease_seconds: float, max_attempts: int
) -> ClaimOutcome:
    """Claim this very task for ``worker`` (a retry's backoff is respected)."""
    now = utcnow()
    if _take(session, task_id, worker, now, lease_seconds=lease_seconds, max_attempts=max_attempts):
        return ClaimOutcome.CLAIMED
    task = session.get(Task, task_id, populate_existing=True)
    if task is None:
        return ClaimOutcome.GONE
    if TaskStatus(task.status).finished:
        return ClaimOutcome.FINISHED
    if _fail_exhausted(session, task_id, now, max_attempts=max_attempts):
        return ClaimOutcome.EXHAUSTED
    return ClaimOutcome.BUSY


def _take(
    session: Session, task_id: int, worker: str, now: dt.datetime, *, lease_seconds: float, max_attempts: int
) -> bool:
    claimed = session.execute(
        sa.update(Task)
        .where(Task.id == task_id, Task.attempts < max_attempts, _claimable(now))
        .values(
            status=_PROCESSING,
            lease_owner=worker,
            lease_expires_at=now + dt.timedelta(seconds=lease_seconds),
            attempts=Task.attempts + 1,
            started_at=now,
            progress=0,
            not_before=None,
        )
        .execution_options(synchronize_session=False)
    ).rowcount
    session.commit()
    return bool(claimed)


def _fail_exhausted(session: Session, task_id: int, now: dt.datetime, *, max_attempts: int) -> bool:
    """Mark the task failed if it is claimable but out of attempts."""
    task = session.get(Task, task_id, populate_existing=True)
    if task is None or task.attempts < max_attempts:
        return False
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
            sealed_password=None,
        )
        .execution_options(synchronize_session=False)
    ).rowcount
    session.commit()
    return bool(exhausted)


def adopt_sealed_password(session: Session, task_id: int, sealed_password: str) -> None:
    """Keep on the task the sealed password a message published before
    migration 0007 carries (the message alone held it then): whichever worker
    claims the task finds it there."""
    session.execute(
        sa.update(Task)
        .where(
            Task.id == task_id,
            Task.encrypted.is_(True),
            Task.sealed_password.is_(None),
            Task.status.in_((_UPLOADED, _PROCESSING)),
        )
        .values(sealed_password=sealed_password)
        .execution_options(synchronize_session=False)
    )
    session.commit()


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
            sealed_password=None,
        )
        .execution_options(synchronize_session=False)
    ).rowcount
    session.commit()
    return bool(done)


def release(
    session: Session,
    task_id: int,
    worker: str,
    *,
    error: str,
    refund_attempt: bool = False,
    retry_after: float = 0,
) -> bool:
    """Give the task back so it can be retried, by no one before ``retry_after``
    seconds (the backoff). ``refund_attempt`` is for a worker that stops
    (scale-in, rolling update): that is not the task's fault."""
    return _finish_attempt(
        session, task_id, worker, TaskStatus.UPLOADED, error,
        refund_attempt=refund_attempt, retry_after=retry_after,
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
    retry_after: float = 0,
) -> bool:
    now = utcnow()
    values = dict(
        status=status.value, error=_truncate(error), lease_owner=None, lease_expires_at=None
    )
    if refund_attempt:
        values["attempts"] = Task.attempts - 1
    if retry_after > 0:
        values["not_before"] = now + dt.timedelta(seconds=retry_after)
    if status.finished:
        values["processed_at"] = now
        values["sealed_password"] = None
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
