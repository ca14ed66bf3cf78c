"""``PubSubQueue`` against Google's Pub/Sub emulator, and the worker on it."""

from __future__ import annotations

import contextlib
import socket
import threading
import time

import pytest
from google.cloud import pubsub_v1

from comprimemelo import db
from comprimemelo.bootstrap import open_backends, open_queue
from comprimemelo.domain.models import Task
from comprimemelo.queue import QueueError, TaskMessage
from comprimemelo.queue.pubsub import PubSubAddress, PubSubQueue, ensure_topology
from comprimemelo.settings import Settings

WAIT_SECONDS = 30


@pytest.fixture
def topology(pubsub_names) -> dict[str, str]:
    ensure_topology(**pubsub_names)
    names = dict(pubsub_names)
    names["url"] = f"pubsub://{names['project']}/{names['topic']}/{names['subscription']}"
    return names


def queue_settings(topology, **changes) -> Settings:
    values = dict(
        queue_url=topology["url"],
        dead_letter_subscription=topology["dead_letter_subscription"],
        worker_concurrency=2,
        lease_seconds=10,
        publish_timeout_seconds=5.0,
    )
    values.update(changes)
    return Settings(**values)


@pytest.fixture
def open_queues(topology):
    opened: list[PubSubQueue] = []

    def make(subscribe: bool, **changes) -> PubSubQueue:
        settings = queue_settings(topology, **changes)
        opened.append(PubSubQueue.from_url(settings.queue_url, settings=settings, subscribe=subscribe))
        return opened[-1]

    yield make
    for queue in opened:
        queue.close()


def receive_until(queue: PubSubQueue, count: int, timeout: float = WAIT_SECONDS) -> list:
    deadline = time.monotonic() + timeout
    received = []
    while len(received) < count and time.monotonic() < deadline:
        received += queue.receive(count - len(received), timeout=0.5)
    assert len(received) == count, f"received {len(received)} of {count}"
    return received


def test_published_messages_are_received_once_and_acked(open_queues):
    publisher, worker = open_queues(False), open_queues(True)
    publisher.check()
    for task_id in (1, 2, 3):
        publisher.publish(TaskMessage(task_id=task_id, format="zip"))
    deliveries = []
    for _ in range(3):  # flow control: at most worker_concurrency (2) held at once
        (delivery,) = receive_until(worker, 1)
        delivery.extend(30)
        delivery.ack()
        deliveries.append(delivery)
    assert sorted(d.message.task_id for d in deliveries) == [1, 2, 3]
    assert {d.delivery_attempt for d in deliveries} == {1}
    assert worker.receive(3, timeout=3) == []


def test_nack_redelivers_now_or_after_the_delay_with_the_attempt_counted(open_queues):
    publisher, worker = open_queues(False), open_queues(True)
    publisher.publish(TaskMessage(task_id=7, format="7z"))
    (first,) = receive_until(worker, 1)
    first.nack()
    (second,) = receive_until(worker, 1)
    assert second.message == first.message and second.delivery_attempt == 2
    delay = 4
    nacked_at = time.monotonic()
    second.nack(delay)
    (third,) = receive_until(worker, 1)
    assert time.monotonic() - nacked_at >= delay - 0.5
    assert third.delivery_attempt == 3
    third.ack()


def test_malformed_messages_are_dropped_never_delivered(open_queues, topology):
    publisher, worker = open_queues(False), open_queues(True)
    raw = pubsub_v1.PublisherClient()
    topic = PubSubAddress.parse(topology["url"]).topic_path
    raw.publish(topic, b"\x80\x04not json").result(10)
    raw.publish(topic, b'{"task_id": "1; rm -rf /", "format": "zip"}').result(10)
    publisher.publish(TaskMessage(task_id=5, format="zip"))
    (delivery,) = receive_until(worker, 1)
    assert delivery.message.task_id == 5
    delivery.ack()
    assert worker.receive(5, timeout=3) == []


def test_publish_that_cannot_be_confirmed_raises_queue_error_in_bounded_time(topology, monkeypatch):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        dead = f"127.0.0.1:{sock.getsockname()[1]}"
    monkeypatch.setenv("PUBSUB_EMULATOR_HOST", dead)
    settings = queue_settings(topology, publish_timeout_seconds=1.0)
    queue = PubSubQueue.from_url(settings.queue_url, settings=settings)
    started = time.monotonic()
    with pytest.raises(QueueError, match="publish of task 9"):
        queue.publish(TaskMessage(task_id=9, format="zip"))
    assert time.monotonic() - started < 5
    with pytest.raises(QueueError):
        queue.check()
    queue.close()


def test_check_fails_for_a_missing_topic(open_queues, topology):
    settings = queue_settings(topology, queue_url=f"pubsub://{topology['project']}/no-such-topic/sub")
    with pytest.raises(QueueError, match="no-such-topic"):
        PubSubQueue.from_url(settings.queue_url, settings=settings).check()


def test_a_publish_only_queue_cannot_receive(open_queues):
    with pytest.raises(QueueError):
        open_queues(False).receive(1, timeout=0.1)


def test_close_is_quick_idempotent_and_stops_receiving(open_queues):
    publisher, first = open_queues(False), open_queues(True)
    for task_id in (1, 2):
        publisher.publish(TaskMessage(task_id=task_id, format="zip"))
    (taken,) = receive_until(first, 1)
    time.sleep(1)  # the other message is now buffered in ``first``
    taken.ack()
    closed_at = time.monotonic()
    first.close()
    first.close()
    assert time.monotonic() - closed_at < 5
    assert first.receive(1, timeout=0.1) == []


def test_url_must_name_project_topic_and_subscription():
    for url in ("pubsub://project/topic", "pubsub://project/topic/sub/extra", "pubsub:///t/s"):
        with pytest.raises(ValueError):
            PubSubAddress.parse(url)
    assert PubSubAddress.parse("pubsub://p1/t1/s1").subscription_path == "projects/p1/subscriptions/s1"


# -- the worker on Pub/Sub and Cloud Storage --------------------------------------


@pytest.fixture
def services(settings, topology, gcs_bucket):
    """The app's services on Pub/Sub (publish only, as the web) and Cloud Storage."""
    built = open_backends(
        settings.replace(
            queue_url=topology["url"],
            storage_url=f"gs://{gcs_bucket}/app",
            dead_letter_subscription=topology["dead_letter_subscription"],
            worker_concurrency=2,
            republish_after_seconds=0,
        )
    )
    db.upgrade(built.engine, built.settings)
    yield built
    built.close()


@contextlib.contextmanager
def running_worker(services):
    from comprimemelo.worker import Worker

    queue = open_queue(services.settings, services.engine, subscribe=True)
    worker = Worker(services.settings, services.sessions, services.storage, queue)
    stop = threading.Event()
    thread = threading.Thread(target=worker.run, args=(stop,), daemon=True)
    thread.start()
    try:
        yield worker
    finally:
        stop.set()
        thread.join(60)
        assert not thread.is_alive()


def wait_for_status(services, task_id: int, status: str, timeout: float = WAIT_SECONDS) -> Task:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with services.sessions() as session:
            task = session.get(Task, task_id)
            if task.status == status:
                return task
        time.sleep(0.1)
    raise AssertionError(f"task {task_id} is {task.status}, not {status}")


def test_worker_processes_tasks_from_pubsub_once(make_user, services):
    user = make_user()
    ids = [user.upload(f"f{i}.txt", b"compress me " * 1000, fmt).json["id"] for i, fmt in enumerate(["zip", "tar.zst"])]
    with running_worker(services):
        tasks = [wait_for_status(services, task_id, "processed") for task_id in ids]
    for task in tasks:
        assert task.attempts == 1
        assert services.storage.exists(task.compressed_key)


def test_a_lost_publish_is_republished_by_the_sweep_and_processed(make_user, services, monkeypatch):
    def unavailable(_message):
        raise QueueError("publish timed out")

    with monkeypatch.context() as patched:
        patched.setattr(services.queue, "publish", unavailable)
        task_id = make_user().upload("late.txt", b"late " * 100, "tar.gz").json["id"]
    with services.sessions() as session:
        # published_at is the attempt's time, set with the task: the sweep's clock.
        attempted = session.get(Task, task_id).published_at
    with running_worker(services):  # the worker sweeps as it starts
        task = wait_for_status(services, task_id, "processed")
    assert task.attempts == 1 and task.published_at > attempted  # published again by the sweep


def test_a_dead_lettered_task_is_published_again_with_its_password_not_failed(make_user, services, topology):
    from comprimemelo.worker import Worker

    response = make_user().upload("doomed.txt", b"x" * 100, "zip", password="a secret")
    task_id = response.json["id"]
    consumer = open_queue(services.settings, services.engine, subscribe=True)
    try:
        for attempt in range(1, 6):  # max_delivery_attempts of the subscription
            (delivery,) = receive_until(consumer, 1)
            assert delivery.delivery_attempt == attempt
            sealed_password = delivery.message.sealed_password
            delivery.nack()  # e.g. a database outage: the task is never claimed
        worker = Worker(services.settings, services.sessions, services.storage, consumer)
        deadline = time.monotonic() + WAIT_SECONDS
        while not worker.sweeps.requeue_dead_letters() and time.monotonic() < deadline:
            time.sleep(0.5)
        (again,) = receive_until(consumer, 1)
        again.ack()
        remaining = consumer.dead_letters()
    finally:
        consumer.close()
    with services.sessions() as session:
        task = session.get(Task, task_id)
    assert task.status == "uploaded" and task.attempts == 0 and task.error is None
    assert again.message.task_id == task_id and again.delivery_attempt == 1  # a fresh message
    assert sealed_password is not None and again.message.sealed_password == sealed_password
    assert task.sealed_password == sealed_password  # on the task too, until it finishes
    assert remaining == []  # acked: handled once


def test_on_pubsub_a_single_task_waits_for_at_most_one_flood_task_per_slot(make_user, services):
    from tests.integration.test_fair_claims import FLOOD, tasks_started_before

    flooder, other = make_user("flooder"), make_user("other")
    flood = [flooder.upload(f"f{i}.txt", b"flood " * 2000, "tar.gz").json["id"] for i in range(FLOOD)]
    single = other.upload("single.txt", b"mine " * 2000, "tar.gz").json["id"]
    with running_worker(services):
        for task_id in [single, *flood]:
            wait_for_status(services, task_id, "processed", timeout=120)
    with services.sessions() as session:
        earlier = tasks_started_before(session, single)
    assert {task.id for task in earlier} <= set(flood)
    assert len(earlier) <= services.settings.worker_concurrency, [task.id for task in earlier]
