"""The block writers' thread pool: results in order, errors handed over, cancelled jobs skipped."""

from __future__ import annotations

import threading

import pytest

from comprimemelo.compression.workers import Workers


def test_results_come_back_for_each_job_whatever_order_they_finish_in():
    workers = Workers(2, "test")
    gate = threading.Event()
    slow = workers.submit(lambda: (gate.wait(5), "slow")[1])
    fast = workers.submit(lambda: "fast")
    assert fast.result() == "fast"
    gate.set()
    assert slow.result() == "slow"
    workers.shutdown()


def test_an_error_in_a_job_is_raised_by_its_result():
    workers = Workers(1, "test")
    job = workers.submit(lambda: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        job.result()
    workers.shutdown()


def test_a_cancelled_job_that_had_not_started_never_runs():
    workers = Workers(1, "test")
    gate, ran = threading.Event(), []
    blocker = workers.submit(gate.wait, 5)
    queued = workers.submit(ran.append, "ran")
    queued.cancel()
    gate.set()
    workers.shutdown()
    assert blocker.result() is True and ran == []
    with pytest.raises(RuntimeError, match="cancelled"):
        queued.result()


def test_shutdown_runs_what_is_queued_then_stops_every_thread():
    workers = Workers(2, "test-stop")
    jobs = [workers.submit(pow, 2, index) for index in range(20)]
    workers.shutdown()
    assert [job.result() for job in jobs] == [2**index for index in range(20)]
    assert not [thread for thread in threading.enumerate() if thread.name.startswith("test-stop")]
    with pytest.raises(RuntimeError):
        workers.submit(pow, 2, 2)
