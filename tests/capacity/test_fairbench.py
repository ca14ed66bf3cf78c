"""The pure parts of ``bench-fairness``: the per-slot task time and the verdict. Nothing here is timed."""

from __future__ import annotations

import pytest

from capacity import fairbench


def test_one_tasks_time_per_slot_is_the_slots_over_the_flood_rate():
    resumed = 100.0
    finished = [99.0, *(resumed + 0.5 * (i + 1) for i in range(10))]  # one before the resume: not counted
    assert fairbench.slot_seconds(finished, resumed, concurrency=2, sample=10) == pytest.approx(1.0)
    assert fairbench.slot_seconds([101.0], resumed, concurrency=2, sample=10) is None


def rows(alone: float, behind: float, slot: float, meanwhile: int) -> list[dict]:
    return [
        {"flood": 0, "status": "processed", "wait_seconds": alone},
        {"flood": 500, "status": "processed", "wait_seconds": behind, "task_seconds_per_slot": slot,
         "flood_tasks_finished_while_waiting": meanwhile},
    ]


def verdicts(fair: list[dict]) -> list[str]:
    summary = fairbench._summary({"fair": fair}, service={"worker_concurrency": 2}, flood=500, file_size=1,
                                 fmt="tar.gz", rounds=1, fifo_revision=None, machine={}, command="c", notes=[])
    return [check["verdict"] for check in summary["checks"]]


def test_a_wait_within_one_task_per_slot_of_the_idle_wait_is_met():
    assert verdicts(rows(alone=0.05, behind=0.12, slot=0.1, meanwhile=2)) == ["met", "met", "met"]


def test_a_wait_past_one_task_per_slot_or_more_flood_tasks_than_slots_is_missed():
    assert verdicts(rows(alone=0.05, behind=0.2, slot=0.1, meanwhile=3)) == ["missed", "missed", "met"]
