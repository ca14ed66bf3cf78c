"""A worker SIGKILLed in the middle of a batch: every task still ends
``processed`` exactly once, with a correct archive, on the embedded queue and on
Pub/Sub. (``tests/e2e`` covers a single task; here several are in flight.)"""

from __future__ import annotations

import os
import time
from collections import Counter

import pytest
import sqlalchemy as sa

from tests.archives import read_members
from tests.faults.conftest import LEASE_SECONDS, processed_log_lines, wait_for, worker_id
from tests.processes import Client
from tests.stack import production_stack

BATCH = 8
CONCURRENCY = "4"
# Random bytes at xz -6: half a second of CPU per task, so several are in flight.
TASK_BYTES = 1024 * 1024
FORMAT = "tar.xz"
pytestmark = pytest.mark.e2e


def make_sources(folder, count=BATCH):
    sources = []
    for index in range(count):
        path = folder / f"batch-{index}.bin"
        path.write_bytes(os.urandom(TASK_BYTES))
        sources.append(path)
    return sources


def holding(rows: dict[int, dict], owner: str) -> set[int]:
    return {task_id for task_id, row in rows.items() if row["status"] == "processing" and row["lease_owner"] == owner}


def assert_each_processed_once(client: Client, ids: dict, victim_tasks: set[int], rows, workers) -> None:
    """Every task processed, with the right content, by one completion; the
    killed worker's tasks took exactly one more attempt."""
    finished = client.wait_finished(ids, timeout=180)
    for task_id, source in ids.items():
        task = finished[task_id]
        assert task["status"] == "processed", task
        assert read_members(client.download(task["compressed_url"]), FORMAT) == {source.name: source.read_bytes()}
        # One attempt per worker that held it: the killed one and its successor.
        assert task["attempts"] == (2 if task_id in victim_tasks else 1), task
    assert processed_log_lines(workers) == {task_id: 1 for task_id in ids}, "each task completed exactly once"
    assert all(row["lease_owner"] is None for row in rows().values())


def test_worker_killed_mid_batch_embedded_queue(deployment, tmp_path):
    stack = deployment()
    stack.start_web()
    client = stack.client("batch")
    sources = make_sources(tmp_path)
    ids = {client.upload(source, FORMAT, name=source.name)["id"]: source for source in sources}
    victim = stack.start_worker(worker_concurrency=CONCURRENCY)
    survivor = stack.start_worker(worker_concurrency=CONCURRENCY)
    victim_id, survivor_id = worker_id(victim), worker_id(survivor)

    def both_busy():
        rows = stack.rows()
        held = holding(rows, victim_id)
        return held if len(held) >= 2 and holding(rows, survivor_id) else None

    victim_tasks = wait_for(both_busy, 60, "both workers to hold tasks", interval=0.05)
    victim.kill()
    victim_tasks = holding(stack.rows(), victim_id)
    assert len(victim_tasks) >= 2

    assert_each_processed_once(client, ids, victim_tasks, stack.rows, stack.workers)
    archives = Counter(path.relative_to(stack.files_dir).parts[1] for path in stack.local_files("archive"))
    assert sorted(archives.values()) == [1] * BATCH, "exactly one archive object per task"


@pytest.mark.postgres
def test_worker_killed_mid_batch_pubsub(postgres_url, gcs_emulator_host, pubsub_emulator_host, tmp_path):
    # The emulator sometimes takes minutes to redeliver a dead client's messages
    # (seen on a heavily loaded machine); the worker's sweep is the backstop then.
    with production_stack(
        database_url=postgres_url, gcs_host=gcs_emulator_host, pubsub_host=pubsub_emulator_host,
        lease_seconds=LEASE_SECONDS, worker_concurrency=CONCURRENCY, web_workers="1",
        republish_after_seconds="10",
    ) as stack:
        engine = sa.create_engine(postgres_url, poolclass=sa.pool.NullPool)

        def rows():
            with engine.connect() as connection:
                result = connection.execute(sa.text("SELECT id, status, lease_owner FROM tasks"))
                return {row.id: dict(row._mapping) for row in result}

        workers = {worker_id(worker): worker for worker in stack.workers}
        client = Client(stack.base_url)
        client.signup_and_login("pubsub-batch")
        sources = make_sources(tmp_path)
        ids = {client.upload(source, FORMAT, name=source.name)["id"]: source for source in sources}

        # The streaming pull may hand most messages to one worker: kill the busiest.
        def busiest():
            current = rows()
            owner = max(workers, key=lambda candidate: len(holding(current, candidate)))
            return owner if len(holding(current, owner)) >= 2 else None

        victim_id = wait_for(busiest, 60, "a worker to hold several tasks", interval=0.05)
        victim = workers[victim_id]
        victim.kill()
        victim_tasks = holding(rows(), victim_id)
        assert len(victim_tasks) >= 2

        assert_each_processed_once(client, ids, victim_tasks, rows, stack.workers)
        archives = Counter(
            blob.name.split("/archive/")[0] for blob in stack.bucket().list_blobs() if "/archive/" in blob.name
        )
        assert sorted(archives.values()) == [1] * BATCH, "exactly one archive object per task"
        engine.dispose()


def test_killed_worker_task_whose_message_is_lost_too_is_recovered_by_the_sweep(deployment, tmp_path):
    """The task is left ``processing`` by a dead worker and its message is gone
    (acked as a duplicate while the lease still looked live): the next worker's
    sweep publishes it again once the lease has long lapsed."""
    republish_after = 1
    stack = deployment(republish_after_seconds=str(republish_after))
    stack.start_web()
    client = stack.client("lostmessage")
    source = tmp_path / "orphaned.bin"
    source.write_bytes(os.urandom(2 * TASK_BYTES))
    task_id = client.upload(source, FORMAT)["id"]
    first = stack.start_worker()
    first_id = worker_id(first)
    wait_for(lambda: stack.rows()[task_id]["lease_owner"] == first_id, 30, "the worker to take the task")
    first.kill()
    killed_at = time.monotonic()
    with stack.engine().begin() as connection:
        assert connection.execute(sa.text("DELETE FROM queue_messages")).rowcount == 1

    # Past the lease and the republish delay, a new worker's start-up sweep must find it.
    time.sleep(max(0.0, killed_at + int(LEASE_SECONDS) + republish_after + 1 - time.monotonic()))
    assert stack.rows()[task_id]["status"] == "processing"
    stack.start_worker()
    done = client.wait_finished([task_id], timeout=60)[task_id]
    assert done["status"] == "processed" and done["attempts"] == 2, done
    assert read_members(client.download(done["compressed_url"]), FORMAT) == {source.name: source.read_bytes()}
