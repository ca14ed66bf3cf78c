"""The worker loop on the real database, storage and queue."""

from __future__ import annotations

import threading
import time

import pytest

from comprimemelo.domain.models import Task
from comprimemelo.services import leases
from comprimemelo.services.leases import ClaimOutcome
from comprimemelo.storage.local import LocalStorage
from comprimemelo.worker import Worker, retry_delay
from tests.archives import read_members


def run_until(worker: Worker, services, predicate, timeout: float = 30) -> None:
    stop = threading.Event()
    thread = threading.Thread(target=worker.run, args=(stop,), daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            with services.sessions() as session:
                if predicate(session):
                    return
            time.sleep(0.05)
        raise AssertionError("condition not reached in time")
    finally:
        stop.set()
        thread.join(30)


def all_finished(session) -> bool:
    return all(task.status in ("processed", "failed") for task in session.query(Task))


@pytest.mark.parametrize("fmt", ["zip", "7z", "tar.gz", "tar.bz2", "tar.xz", "tar.zst"])
def test_worker_compresses_each_format(make_user, services, fmt):
    user = make_user()
    task = user.upload("data.txt", b"some text to compress " * 500, fmt).json
    worker = Worker(services.settings, services.sessions, services.storage, services.queue)
    worker.drain()
    with services.sessions() as session:
        done = session.get(Task, task["id"])
        assert done.status == "processed" and done.attempts == 1 and done.error is None
        with services.storage.open(done.compressed_key) as handle:
            data = handle.read()
    assert len(data) == done.size_compressed
    assert read_members(data, fmt) == {"data.txt": b"some text to compress " * 500}


def test_missing_original_fails_after_bounded_attempts_with_a_readable_error(make_user, services, monkeypatch):
    monkeypatch.setattr("comprimemelo.worker.failures.RETRY_BASE_SECONDS", 0.05)
    user = make_user()
    task = user.upload("gone.txt", b"x").json
    with services.sessions() as session:
        services.storage.delete(session.get(Task, task["id"]).files[0].storage_key)
    settings = services.settings.replace(max_attempts=3)
    worker = Worker(settings, services.sessions, services.storage, services.queue)
    worker.drain()
    with services.sessions() as session:
        failed = session.get(Task, task["id"])
    assert failed.status == "failed"
    assert failed.attempts == 3
    assert "original file is missing" in failed.error
    assert services.queue.backlog() == 0  # no endless redelivery


def test_worker_keeps_serving_other_tasks_after_a_poison_task(make_user, services, monkeypatch):
    monkeypatch.setattr("comprimemelo.worker.failures.RETRY_BASE_SECONDS", 0.05)
    user = make_user()
    poison = user.upload("poison.txt", b"x").json
    good = user.upload("good.txt", b"fine").json
    with services.sessions() as session:
        services.storage.delete(session.get(Task, poison["id"]).files[0].storage_key)
    worker = Worker(services.settings.replace(max_attempts=2), services.sessions, services.storage, services.queue)
    worker.drain()
    with services.sessions() as session:
        assert session.get(Task, poison["id"]).status == "failed"
        assert session.get(Task, good["id"]).status == "processed"


def test_a_task_with_an_expired_lease_is_taken_over(make_user, services):
    user = make_user()
    task = user.upload("a.txt", b"abc").json
    with services.sessions() as session:
        assert leases.claim(session, task["id"], "dead", lease_seconds=60, max_attempts=3) is ClaimOutcome.CLAIMED
        assert leases.claim(session, task["id"], "other", lease_seconds=60, max_attempts=3) is ClaimOutcome.BUSY
        session.get(Task, task["id"]).lease_expires_at = session.get(Task, task["id"]).created_at
        session.commit()
        assert leases.claim(session, task["id"], "other", lease_seconds=60, max_attempts=3) is ClaimOutcome.CLAIMED
        # The dead worker's late result is refused.
        assert not leases.complete(session, task["id"], "dead", key="k", size=1)
        assert leases.complete(session, task["id"], "other", key="k2", size=1)
        assert leases.claim(session, task["id"], "third", lease_seconds=60, max_attempts=3) is ClaimOutcome.FINISHED


class RecordingDelivery:
    """A delivery of the queue port that records what the worker did with it."""

    def __init__(self, task_id: int, fmt: str) -> None:
        from comprimemelo.queue import TaskMessage

        self.message = TaskMessage(task_id=task_id, format=fmt)
        self.delivery_attempt = 1
        self.outcome = None

    def ack(self) -> None:
        self.outcome = "ack"

    def nack(self, delay_seconds: float = 0) -> None:
        self.outcome = "nack"

    def extend(self, seconds: float) -> None:
        pass


def test_duplicate_deliveries_at_once_yield_one_result(make_user, services):
    user = make_user()
    task = user.upload("a.txt", b"abc" * 100_000, "tar.bz2").json
    worker = Worker(services.settings, services.sessions, services.storage, services.queue)
    deliveries = [RecordingDelivery(task["id"], "tar.bz2") for _ in range(4)]
    threads = [threading.Thread(target=worker.handle, args=(d,)) for d in deliveries]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert [d.outcome for d in deliveries] == ["ack"] * 4
    archives = [p for p in services.storage.root.rglob("*") if p.is_file() and "archive" in p.parts]
    assert len(archives) == 1
    with services.sessions() as session:
        done = session.get(Task, task["id"])
        assert done.status == "processed" and done.attempts == 1
    late = RecordingDelivery(task["id"], "tar.bz2")
    worker.handle(late)
    assert late.outcome == "ack"
    assert len([p for p in services.storage.root.rglob("*") if p.is_file() and "archive" in p.parts]) == 1


def test_a_lost_publish_is_recovered_by_the_sweep(make_user, services):
    user = make_user()
    task = user.upload("a.txt", b"abc").json
    services.queue._lease_available(10)  # the message is lost
    with services.sessions() as session:
        session.execute(Task.__table__.update().values(published_at=None))
        session.commit()
    settings = services.settings.replace(republish_after_seconds=0)
    worker = Worker(settings, services.sessions, services.storage, services.queue)
    worker.sweeps.run()  # publishes the task again
    worker.drain()
    with services.sessions() as session:
        assert session.get(Task, task["id"]).status == "processed"


def test_retry_delay_grows_and_is_capped():
    delays = [retry_delay(attempt) for attempt in range(1, 12)]
    assert delays == sorted(delays)
    assert delays[0] < delays[1] and delays[-1] == delays[-2]


class SlowLocalStorage(LocalStorage):
    """The real local storage, whose downloads take ``delay`` seconds: a task
    that outlives a lease on any machine, however fast its compression."""

    def __init__(self, root, delay: float) -> None:
        super().__init__(root)
        self.delay = delay

    def get_file(self, key, path) -> None:
        time.sleep(self.delay)
        super().get_file(key, path)


def test_a_live_worker_keeps_its_lease_on_a_task_longer_than_the_lease(make_user, services, tmp_path):
    settings = services.settings.replace(lease_seconds=5)
    user = make_user()
    task = user.upload("slow.bin", b"x" * 1024, "tar.xz").json
    from comprimemelo.queue.local import LocalQueue

    # Message and task leases both 5 s, a task of over two leases: without
    # renewal the second worker takes it over.
    storage = SlowLocalStorage(services.storage.root, delay=2.5 * settings.lease_seconds)
    first, second = (
        Worker(
            settings.replace(worker_concurrency=1),
            services.sessions,
            storage,
            LocalQueue(services.engine, lease_seconds=settings.lease_seconds),
        )
        for _ in range(2)
    )
    stop = threading.Event()
    threads = [threading.Thread(target=w.run, args=(stop,), daemon=True) for w in (first, second)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    try:
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            with services.sessions() as session:
                if session.get(Task, task["id"]).status in ("processed", "failed"):
                    break
            time.sleep(0.2)
    finally:
        stop.set()
        for thread in threads:
            thread.join(60)
    with services.sessions() as session:
        done = session.get(Task, task["id"])
    assert done.status == "processed"
    assert time.monotonic() - started > settings.lease_seconds  # the task did outlive one lease
    assert done.attempts == 1  # ...and was never taken over
    archives = [p for p in services.storage.root.rglob("*") if p.is_file() and "archive" in p.parts]
    assert len(archives) == 1
