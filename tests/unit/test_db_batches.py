"""Concurrent lookups run together: alone at once, queued behind a batch that is out."""

from __future__ import annotations

import threading

import pytest

from comprimemelo.db import batches as batches_module
from comprimemelo.db.batches import Batches, BatchFailed

WAIT = 10.0


class Lookups:
    """``run`` for ``Batches``: doubles each item; the first batch waits for ``release``."""

    def __init__(self, fail_on: object = None) -> None:
        self.batches: list[list] = []
        self.first_out = threading.Event()
        self.release = threading.Event()
        self.fail_on = fail_on

    def run(self, items):
        self.batches.append(list(items))
        if len(self.batches) == 1:
            self.first_out.set()
            assert self.release.wait(WAIT)
        if self.fail_on in items:
            raise LookupError(f"{self.fail_on} failed")
        return [item * 2 for item in items]


def _queued(batches: Batches, items, answers: dict, errors: dict) -> list[threading.Thread]:
    def ask(item):
        try:
            answers[item] = batches.one(item)
        except BaseException as error:  # noqa: BLE001 - the test reads which
            errors[item] = error

    threads = [threading.Thread(target=ask, args=(item,)) for item in items]
    for thread in threads:
        thread.start()
    return threads


def _wait_until_queued(batches: Batches, count: int) -> None:
    deadline = threading.Event()
    for _ in range(1000):
        if len(batches._queue) >= count:
            return
        deadline.wait(0.01)
    raise AssertionError(f"{count} callers never queued")


def test_a_caller_alone_runs_its_lookup_at_once():
    lookups = Lookups()
    lookups.release.set()
    batches = Batches(lookups.run, most=8)
    assert batches.one(21) == 42
    assert batches.one(5) == 10
    assert lookups.batches == [[21], [5]]


def test_callers_arriving_while_a_batch_is_out_go_together_in_order():
    lookups = Lookups()
    batches = Batches(lookups.run, most=8)
    answers, errors = {}, {}
    first = _queued(batches, [1], answers, errors)
    assert lookups.first_out.wait(WAIT)
    later = _queued(batches, [2, 3, 4], answers, errors)
    _wait_until_queued(batches, 3)
    lookups.release.set()
    for thread in first + later:
        thread.join(WAIT)
    assert errors == {}
    assert answers == {1: 2, 2: 4, 3: 6, 4: 8}
    assert lookups.batches[0] == [1]
    assert sorted(lookups.batches[1]) == [2, 3, 4] and len(lookups.batches) == 2


def test_a_batch_holds_at_most_its_limit():
    lookups = Lookups()
    batches = Batches(lookups.run, most=2)
    answers, errors = {}, {}
    first = _queued(batches, [1], answers, errors)
    assert lookups.first_out.wait(WAIT)
    later = _queued(batches, [2, 3, 4, 5, 6], answers, errors)
    _wait_until_queued(batches, 5)
    lookups.release.set()
    for thread in first + later:
        thread.join(WAIT)
    assert answers == {item: item * 2 for item in range(1, 7)}
    assert [len(batch) for batch in lookups.batches] == [1, 2, 2, 1]


def test_a_failed_batch_fails_its_callers_only_and_the_next_caller_leads_again():
    lookups = Lookups(fail_on=3)
    batches = Batches(lookups.run, most=8)
    answers, errors = {}, {}
    first = _queued(batches, [1], answers, errors)
    assert lookups.first_out.wait(WAIT)
    later = _queued(batches, [2, 3], answers, errors)
    _wait_until_queued(batches, 2)
    lookups.release.set()
    for thread in first + later:
        thread.join(WAIT)
    assert answers == {1: 2}
    led, followed = sorted(errors.values(), key=lambda error: isinstance(error, BatchFailed))
    assert isinstance(led, LookupError)  # the leader gets what the lookup raised
    assert isinstance(followed, BatchFailed) and followed.__cause__ is led
    assert batches.one(7) == 14  # nobody is left holding the batch


def test_a_lookup_that_answers_the_wrong_number_of_items_is_an_error():
    batches = Batches(lambda items: [], most=4)
    with pytest.raises(RuntimeError, match="0 answers for 1 items"):
        batches.one(1)


def test_a_batch_needs_room_for_one_item():
    with pytest.raises(ValueError):
        Batches(lambda items: items, most=0)



class _Killed(BaseException):
    """As gevent's Timeout or GreenletExit: raised in a caller's wait."""


def test_a_caller_killed_while_chosen_to_lead_hands_the_lead_on(monkeypatch):
    """A greenlet killed in its wait must not leave a batch that nobody runs."""

    class KilledWhenWoken(threading.Event):
        def wait(self, timeout=None):
            super().wait(timeout)
            raise _Killed

    class Waiter(batches_module._Waiter):
        def __init__(self, item):
            super().__init__(item)
            if item == 2:
                self.done = KilledWhenWoken()

    monkeypatch.setattr(batches_module, "_Waiter", Waiter)
    lookups = Lookups()
    batches = Batches(lookups.run, most=8)
    answers, errors = {}, {}
    first = _queued(batches, [1], answers, errors)
    assert lookups.first_out.wait(WAIT)
    doomed = _queued(batches, [2], answers, errors)
    _wait_until_queued(batches, 1)
    later = _queued(batches, [3, 4], answers, errors)
    _wait_until_queued(batches, 3)
    lookups.release.set()  # 2 is woken to lead the next batch, and dies
    for thread in first + doomed + later:
        thread.join(WAIT)
    assert isinstance(errors.pop(2), _Killed) and errors == {}
    assert answers == {1: 2, 3: 6, 4: 8}
    assert lookups.batches == [[1], [3, 4]]
    assert batches.one(5) == 10
