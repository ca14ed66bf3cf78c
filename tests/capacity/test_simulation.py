"""The autoscaler simulation: the policy written in terraform/ meets the latency target through a burst."""

from __future__ import annotations

import pytest

from capacity.plan import Workload, load_prices
from capacity.simulation import FIRST_SIZING_1M, Policy, planned_policy, simulate, terraform_policy


@pytest.fixture(scope="module")
def vcpus() -> dict[str, int]:
    return {name: spec["vcpus"] for name, spec in load_prices()["compute"]["machine_types"].items()}


def test_terraform_policy_is_read_from_the_root_defaults(vcpus):
    policy = terraform_policy(vcpus)
    assert policy == planned_policy(Workload(100_000))


def test_terraform_defaults_meet_the_target_through_a_10x_burst(vcpus):
    result = simulate(Workload(100_000), terraform_policy(vcpus))
    summary = result.summary()
    assert summary["meets_target"], summary
    assert summary["max_vms"] > terraform_policy(vcpus).min_replicas, "the burst must make the group scale out"
    assert summary["max_vms"] <= terraform_policy(vcpus).max_replicas


def test_production_sizing_meets_the_target_and_the_first_sizing_did_not():
    workload = Workload(1_000_000)
    assert simulate(workload, planned_policy(workload)).summary()["meets_target"]
    assert not simulate(workload, FIRST_SIZING_1M).summary()["meets_target"]


def test_every_task_is_accounted_for_and_vms_boot_before_working():
    workload = Workload(100_000)
    policy = Policy(machine_type="c2d-standard-2", vcpus=2, min_replicas=1, max_replicas=3,
                    messages_per_instance=1.5, cooldown_period=180, boot_seconds=300)
    result = simulate(workload, policy)
    arrivals = [arrived for arrived, _ in result.latencies]
    assert len(arrivals) == len(set(arrivals)), "a task counted twice"
    assert all(latency >= 0 for _, latency in result.latencies)
    # Scale-out happens, but a created VM takes no task for boot_seconds.
    booting = [s for s in result.samples if s["vms_booting"]]
    assert booting, "the burst never made the group scale out"
    first = booting[0]["t"]
    assert all(s["vms_ready"] == 1 for s in result.samples if first <= s["t"] < first + 285)
