"""The database gate lets requests in in arrival order, and never lets a newcomer overtake."""

import threading
import time

import pytest

from comprimemelo.domain.errors import Unavailable
from comprimemelo.db import turns
from comprimemelo.db.turns import FairGate


def wait_until(condition, seconds: float = 5.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.001)


def test_permits_go_to_waiters_in_the_order_they_came():
    gate = FairGate(1)
    assert gate.acquire()
    served: list[int] = []

    def wait_then_pass(number: int) -> None:
        assert gate.acquire(timeout=5)
        served.append(number)
        gate.release()

    threads = []
    for number in range(5):
        thread = threading.Thread(target=wait_then_pass, args=(number,))
        thread.start()
        threads.append(thread)
        wait_until(lambda: gate.waiting == number + 1)  # in line before the next one comes
    gate.release()
    for thread in threads:
        thread.join(5)
    assert served == [0, 1, 2, 3, 4]
    assert (gate.free, gate.waiting) == (1, 0)


def test_a_released_permit_goes_to_the_waiter_not_to_a_newcomer():
    gate = FairGate(1)
    assert gate.acquire()
    got = threading.Event()
    waiter = threading.Thread(target=lambda: gate.acquire(timeout=5) and got.set())
    waiter.start()
    wait_until(lambda: gate.waiting == 1)
    gate.release()
    assert not gate.acquire(timeout=0)  # a newcomer asking right then finds none
    waiter.join(5)
    assert got.is_set() and gate.free == 0


def test_a_wait_that_runs_out_leaves_the_line():
    gate = FairGate(1)
    assert gate.acquire()
    assert not gate.acquire(timeout=0.01)
    assert gate.waiting == 0
    gate.release()
    assert gate.acquire(timeout=0)


def test_no_turn_within_the_wait_is_an_outage_the_client_may_retry(monkeypatch):
    gate = FairGate(1)
    gate.acquire()
    monkeypatch.setattr(turns, "WAIT_SECONDS", 0.01)
    with pytest.raises(Unavailable):
        turns.enter(gate)


def test_a_gate_needs_a_permit():
    with pytest.raises(ValueError):
        FairGate(0)
