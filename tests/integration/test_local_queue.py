"""LocalQueue: durable, leased, shared between processes through the database."""

from __future__ import annotations

import threading
import time

from comprimemelo.queue import TaskMessage
from comprimemelo.queue.local import LocalQueue


def message(task_id: int) -> TaskMessage:
    return TaskMessage(task_id=task_id, format="zip")


def test_published_messages_survive_a_new_queue_instance(services):
    services.queue.publish(message(1))
    reopened = LocalQueue(services.engine, lease_seconds=30)  # as after a restart
    [delivery] = reopened.receive(10, timeout=1)
    assert delivery.message == message(1) and delivery.delivery_attempt == 1


def test_a_leased_message_is_hidden_until_acked_or_expired(services):
    queue = LocalQueue(services.engine, lease_seconds=1)
    queue.publish(message(1))
    [first] = queue.receive(1, timeout=1)
    assert queue.receive(1, timeout=0.3) == []
    time.sleep(1.1)
    [again] = queue.receive(1, timeout=1)
    assert again.message == message(1) and again.delivery_attempt == 2
    first.ack()  # a stale lease holder cannot delete the redelivered message
    assert queue.backlog() == 1
    again.ack()
    assert queue.backlog() == 0


def test_nack_with_delay_redelivers_later(services):
    queue = services.queue
    queue.publish(message(1))
    [delivery] = queue.receive(1, timeout=1)
    delivery.nack(0.5)
    assert queue.receive(1, timeout=0.2) == []
    [again] = queue.receive(1, timeout=2)
    assert again.delivery_attempt == 2


def test_extend_keeps_the_lease(services):
    queue = LocalQueue(services.engine, lease_seconds=1)
    queue.publish(message(1))
    [delivery] = queue.receive(1, timeout=1)
    delivery.extend(5)
    time.sleep(1.2)
    assert queue.receive(1, timeout=0.2) == []


def test_competing_consumers_never_get_the_same_message(services):
    for task_id in range(40):
        services.queue.publish(message(task_id))
    consumers = [LocalQueue(services.engine, lease_seconds=60) for _ in range(4)]
    received: list[int] = []
    lock = threading.Lock()

    def consume(queue):
        while True:
            deliveries = queue.receive(3, timeout=0.5)
            if not deliveries:
                return
            with lock:
                received.extend(d.message.task_id for d in deliveries)

    threads = [threading.Thread(target=consume, args=(queue,)) for queue in consumers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted(received) == list(range(40))


def test_an_undelivered_duplicate_is_not_published_twice(services):
    services.queue.publish(message(7))
    services.queue.publish(message(7))
    assert services.queue.backlog() == 1


def test_publish_wakes_a_waiting_receiver_in_the_same_process(services):
    queue = services.queue
    result = []
    thread = threading.Thread(target=lambda: result.extend(queue.receive(1, timeout=5)))
    thread.start()
    time.sleep(0.3)
    started = time.monotonic()
    queue.publish(message(3))
    thread.join(5)
    # Woken, not timed out: well under the receive's 5 s (1 s proved too tight on a loaded machine).
    assert result and time.monotonic() - started < 2.5


CHILD_RECEIVER = """
import sys, time
import sqlalchemy as sa
from pathlib import Path
from comprimemelo.queue import local
local.WOKEN_POLL_INTERVAL_SECONDS = 60  # without a wake-up it would wait until its timeout
queue = local.LocalQueue(sa.create_engine(sys.argv[1]), lease_seconds=30, wakeup_dir=Path(sys.argv[2]))
assert queue._others._receiver() is not None
print("ready", flush=True)
started = time.monotonic()
deliveries = queue.receive(1, timeout=30)  # empty at first: it waits
print(deliveries[0].message.task_id if deliveries else "none", round(time.monotonic() - started, 2), flush=True)
"""


def test_publish_wakes_a_receiver_in_another_process_at_once(services, tmp_path):
    """``serve``'s web and worker are separate processes: a publish must reach the
    worker's wait through the wake-up socket, not after a polling interval."""
    import subprocess
    import sys

    wakeup = tmp_path / "w"
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD_RECEIVER, services.engine.url.render_as_string(hide_password=False), str(wakeup)],
        stdout=subprocess.PIPE, text=True,
    )
    try:
        assert child.stdout.readline().strip() == "ready"
        time.sleep(1)  # the child is waiting by now
        LocalQueue(services.engine, lease_seconds=30, wakeup_dir=wakeup).publish(message(11))
        task_id, seconds = child.stdout.readline().split()
        assert task_id == "11"
        assert 0.9 < float(seconds) < 10  # woken after the publish; its fallback poll is 60 s
    finally:
        child.kill()
        child.wait()
