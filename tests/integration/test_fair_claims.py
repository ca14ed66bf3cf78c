"""Fairness between users: a worker claims the fairest claimable task, not its
message's, so one user's flood does not hold back another user's task for
longer than one task per worker slot. On the real database (SQLite and
PostgreSQL) and the real worker loop; Pub/Sub has its own in test_pubsub_queue."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from comprimemelo.domain.models import Task, utcnow
from comprimemelo.services import leases
from comprimemelo.services.leases import ClaimOutcome
from comprimemelo.worker import Worker
from tests.integration.test_worker import all_finished, run_until

FLOOD = 12
LEASE_SECONDS = 60
MAX_ATTEMPTS = 3


def claim_next(session, worker: str = "w", **options):
    return leases.claim_next(
        session, worker, lease_seconds=LEASE_SECONDS, max_attempts=options.pop("max_attempts", MAX_ATTEMPTS),
        **options,
    )


def owner_of(session, task_id: int) -> int:
    return session.get(Task, task_id, populate_existing=True).owner_id


def tasks_started_before(session, task_id: int) -> list[Task]:
    started = session.get(Task, task_id, populate_existing=True).started_at
    return [task for task in session.scalars(sa.select(Task)) if task.id != task_id and task.started_at < started]


@pytest.mark.parametrize("concurrency", [1, 2])
def test_a_single_task_waits_for_at_most_one_flood_task_per_slot(make_user, services, concurrency):
    flooder, other = make_user("flooder"), make_user("other")
    flood = [flooder.upload(f"f{i}.txt", b"flood " * 2000, "tar.gz").json["id"] for i in range(FLOOD)]
    single = other.upload("single.txt", b"mine " * 2000, "tar.gz").json["id"]
    worker = Worker(services.settings.replace(worker_concurrency=concurrency), services.sessions,
                    services.storage, services.queue)
    run_until(worker, services, all_finished, timeout=120)
    with services.sessions() as session:
        statuses = {task.id: task.status for task in session.scalars(sa.select(Task))}
        assert set(statuses.values()) == {"processed"}, statuses
        earlier = tasks_started_before(session, single)
    # Published last, behind the whole flood, it still starts as soon as a slot frees.
    assert {task.id for task in earlier} <= set(flood)
    assert len(earlier) <= concurrency, [task.id for task in earlier]


def test_two_floods_take_turns_at_one_slot(make_user, services):
    first, second = make_user("first"), make_user("second")
    for user in (first, first, first, second, second, second):
        user.upload("x.txt", b"x")
    order = []
    with services.sessions() as session:
        while (claim := claim_next(session)).outcome is ClaimOutcome.CLAIMED:
            order.append(owner_of(session, claim.task_id))
            assert leases.complete(session, claim.task_id, "w", key="k", size=1)
    assert order == [first.id, second.id] * 3


def test_the_owner_with_fewer_tasks_running_goes_first(make_user, services):
    busy, idle = make_user("busy"), make_user("idle")
    for user in (busy, busy, busy, idle, idle):
        user.upload("x.txt", b"x")
    with services.sessions() as session:
        taken = [claim_next(session).task_id for _ in range(3)]
        assert [owner_of(session, task_id) for task_id in taken] == [busy.id, idle.id, busy.id]
        # ``idle``'s task ends: it has none running, ``busy`` two, though ``busy`` was served longer ago.
        assert leases.complete(session, taken[1], "w", key="k", size=1)
        assert owner_of(session, claim_next(session).task_id) == idle.id


def test_a_retried_task_is_claimed_by_no_one_before_its_backoff_ends(make_user, services):
    task_id = make_user().upload("x.txt", b"x").json["id"]
    with services.sessions() as session:
        assert claim_next(session).task_id == task_id
        assert leases.release(session, task_id, "w", error="boom", retry_after=60)
        assert claim_next(session).outcome is ClaimOutcome.IDLE
        assert leases.claim(session, task_id, "w2", lease_seconds=60, max_attempts=3) is ClaimOutcome.BUSY
        session.execute(sa.update(Task).values(not_before=utcnow() - dt.timedelta(seconds=1)))
        session.commit()
        again = claim_next(session)
    assert again.outcome is ClaimOutcome.CLAIMED and again.task_id == task_id


def test_a_task_whose_worker_died_is_claimed_again_or_failed_once_out_of_attempts(make_user, services):
    user = make_user()
    dead, fresh = (user.upload(f"{name}.txt", b"x").json["id"] for name in ("dead", "fresh"))
    with services.sessions() as session:
        assert claim_next(session, "dead-worker").task_id == dead
        session.execute(sa.update(Task).where(Task.id == dead).values(lease_expires_at=utcnow() - dt.timedelta(seconds=1)))
        session.commit()
        # Abandoned before ``fresh`` was ever claimed: the owner's oldest work comes first.
        taken = claim_next(session, "taker")
        assert taken.task_id == dead and session.get(Task, dead, populate_existing=True).attempts == 2
        session.execute(sa.update(Task).where(Task.id == dead).values(lease_expires_at=utcnow() - dt.timedelta(seconds=1)))
        session.commit()
        last = claim_next(session, "third", max_attempts=2)
        failed = session.get(Task, dead, populate_existing=True)
    assert last.exhausted == (dead,) and failed.status == "failed" and "gave up after 2 attempts" in failed.error
    assert last.task_id == fresh  # the pick went on to the next task


def test_a_message_whose_task_was_taken_claims_another_waiting_task(make_user, services):
    from tests.integration.test_worker import RecordingDelivery

    user = make_user()
    first, second = (user.upload(f"{name}.txt", b"data " * 100).json["id"] for name in ("a", "b"))
    with services.sessions() as session:
        assert leases.claim(session, first, "elsewhere", lease_seconds=60, max_attempts=3) is ClaimOutcome.CLAIMED
    delivery = RecordingDelivery(first, "zip")
    Worker(services.settings, services.sessions, services.storage, services.queue).handle(delivery)
    with services.sessions() as session:
        assert session.get(Task, second).status == "processed"
        assert session.get(Task, first).status == "processing"
    assert delivery.outcome == "ack"


def test_the_fair_pick_reads_tasks_only_through_indexes(services):
    """Cheap whatever the backlog: no full scan of ``tasks`` (PostgreSQL with
    sequential scans off still scans a table that no index serves)."""
    with services.engine.connect() as connection:
        statement = leases._FAIR_PICK.params(now=utcnow())
        sql = str(statement.compile(dialect=connection.dialect, compile_kwargs={"literal_binds": True}))
        if connection.dialect.name == "sqlite":
            plan = [row[-1] for row in connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}")]
            scans = [step for step in plan if step.startswith("SCAN tasks")]
        else:
            connection.exec_driver_sql("SET enable_seqscan = off")
            plan = [row[0] for row in connection.exec_driver_sql(f"EXPLAIN {sql}")]
            scans = [step for step in plan if "Seq Scan on tasks" in step]
    assert any("ix_tasks_status_owner_id_id" in step for step in plan), plan
    assert scans == [], plan
