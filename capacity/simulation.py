"""A discrete-event simulation (SimPy) of the worker group's Pub/Sub-backlog autoscaler through a burst.

Tasks arrive at the daily mean rate, then ``burst_factor`` times it for
``burst_minutes``, then the mean again (Poisson arrivals, fixed seed). Each
task's service time is drawn from the capacity plan's file-size and format
mix (capacity/plan.py: measured CPU per MB over the service's efficiency).
What is modelled of Google Cloud, and the figures it rests on:

- the metric: ``subscription/num_undelivered_messages`` counts every
  unacknowledged message, so tasks being processed too (workers acknowledge at
  the end, and lease at most ``concurrency`` messages: flow control). It is
  sampled every ``METRIC_SAMPLE_SECONDS`` and reaches the autoscaler
  ``METRIC_DELAY_SECONDS`` later (Cloud Monitoring's documented sampling and
  ingestion delay for Pub/Sub metrics; not measured here);
- the autoscaler: every ``DECISION_SECONDS`` it recommends
  ``ceil(metric / messages_per_instance)`` VMs within [min, max]; it scales
  out at once; it scales in only to the highest recommendation of the last
  ``STABILIZATION_SECONDS`` (Google's 10-minute scale-in window), never while
  a VM is younger than ``cooldown_period`` (the initialization period), and at
  most ``scale_in_control`` VMs per window;
- a new VM takes tasks ``boot_seconds`` after it is created (boot, start-up
  script, the worker's start: an estimate, no VM was booted here);
- a removed VM finishes what it runs within the worker's shutdown grace,
  else its tasks go back to the queue and start again.

The policy comes from terraform/variables.tf (``worker_autoscaling``'s
defaults) unless one is given.
"""

from __future__ import annotations

import math
import random
import re
from collections import deque
from dataclasses import asdict, dataclass, field
from pathlib import Path

import simpy

from capacity.figures import MeasuredFigures, load_figures
from capacity.plan import (
    BOOT_SECONDS,
    BURST_WINDOW_AFTER_SECONDS,
    DECISION_SECONDS,
    METRIC_DELAY_SECONDS,
    METRIC_SAMPLE_SECONDS,
    Workload,
    make_plan,
    service_time_distribution,
)

TERRAFORM_VARIABLES = Path(__file__).resolve().parents[1] / "terraform" / "variables.tf"
STABILIZATION_SECONDS = 600
SHUTDOWN_GRACE_SECONDS = 20  # COMPRIMEMELO_SHUTDOWN_GRACE_SECONDS default
WARMUP_MINUTES = 30  # mean load before the burst
COOLDOWN_MINUTES = 75  # mean load after the burst starts
SEED = 21



@dataclass(frozen=True)
class Policy:
    """The worker autoscaler and group, as terraform/ writes them."""

    machine_type: str
    vcpus: int
    min_replicas: int
    max_replicas: int
    messages_per_instance: float
    cooldown_period: int
    scale_in_max_replicas: int = 2
    scale_in_window_seconds: int = 600
    boot_seconds: int = BOOT_SECONDS


ORIGINAL_POLICY = Policy(machine_type="c2d-standard-4", vcpus=4, min_replicas=2, max_replicas=20,
                         messages_per_instance=4, cooldown_period=180)
# The plan's first sizing for 1M tasks a day: max_replicas for the burst's rate alone, one message per slot.
FIRST_SIZING_1M = Policy(machine_type="c2d-standard-4", vcpus=4, min_replicas=3, max_replicas=17,
                         messages_per_instance=4, cooldown_period=180)


def terraform_policy(vcpus_by_machine: dict[str, int], path: Path = TERRAFORM_VARIABLES) -> Policy:
    """The worker policy of the root module's defaults (``worker_autoscaling``, ``worker_machine_type``)."""
    text = path.read_text()
    autoscaling = re.search(r'variable "worker_autoscaling" \{(.*?)\n\}', text, re.S).group(1)
    machine = re.search(r'variable "worker_machine_type" \{.*?default\s*=\s*"([^"]+)"', text, re.S).group(1)

    def default(name: str) -> float:
        return float(re.search(rf"{name}\s*=\s*optional\(number,\s*([0-9.]+)\)", autoscaling).group(1))

    return Policy(machine_type=machine, vcpus=vcpus_by_machine[machine], min_replicas=int(default("min_replicas")),
                  max_replicas=int(default("max_replicas")), messages_per_instance=default("messages_per_instance"),
                  cooldown_period=int(default("cooldown_period")))


@dataclass
class Task:
    arrived: float
    service: float
    finished: float | None = None


@dataclass
class Vm:
    created: float
    ready: float
    slots: int
    running: dict = field(default_factory=dict)  # task id -> (task, process)
    removing: bool = False


@dataclass
class Result:
    policy: Policy
    workload: dict
    samples: list[dict]  # per 15 s: time, arrivals rate, backlog, metric seen, VMs ready, VMs booting
    latencies: list[tuple[float, float]]  # (arrival time, upload -> processed seconds)
    burst_start: float
    burst_end: float
    target_p95: float

    def p95(self, start: float = 0.0, end: float = math.inf) -> float:
        values = sorted(latency for arrived, latency in self.latencies if start <= arrived < end)
        return values[int(0.95 * (len(values) - 1))] if values else 0.0

    def summary(self) -> dict:
        window_end = self.burst_end + BURST_WINDOW_AFTER_SECONDS
        burst_p95 = self.p95(self.burst_start, window_end)
        return {
            "policy": asdict(self.policy),
            "tasks": len(self.latencies),
            "p95_before_burst_seconds": round(self.p95(0, self.burst_start), 2),
            "p95_burst_window_seconds": round(burst_p95, 1),
            "max_latency_seconds": round(max(latency for _, latency in self.latencies), 1),
            "max_backlog": max(s["backlog"] for s in self.samples),
            "max_vms": max(s["vms_ready"] + s["vms_booting"] for s in self.samples),
            "target_p95_seconds": self.target_p95,
            "meets_target": burst_p95 <= self.target_p95,
        }


class Simulation:
    """Arrivals, a FIFO queue of undelivered messages, worker VMs with one slot per vCPU, the autoscaler."""

    def __init__(self, workload: Workload, policy: Policy, service_times: list[tuple[float, float]],
                 seed: int = SEED) -> None:
        self.env = simpy.Environment()
        self.workload = workload
        self.policy = policy
        self.random = random.Random(seed)
        self.durations, self.weights = zip(*service_times)
        self.queue: deque[Task] = deque()
        self.vms: list[Vm] = []
        self.finished: list[Task] = []
        self.metric_history: list[tuple[float, int]] = []  # (sampled at, value)
        self.recommendations: list[tuple[float, int]] = []
        self.scale_ins: list[float] = []
        self.samples: list[dict] = []
        self.burst_start = WARMUP_MINUTES * 60
        self.burst_end = self.burst_start + workload.burst_minutes * 60
        self.end = self.burst_start + COOLDOWN_MINUTES * 60
        self.idle_slots: deque[simpy.Event] = deque()

    # -- load -----------------------------------------------------------------

    def rate(self, now: float) -> float:
        factor = self.workload.burst_factor if self.burst_start <= now < self.burst_end else 1.0
        return self.workload.rate(factor)

    def arrivals(self):
        while self.env.now < self.end:
            yield self.env.timeout(self.random.expovariate(self.rate(self.env.now)))
            duration = self.random.choices(self.durations, self.weights)[0]
            self.offer(Task(arrived=self.env.now, service=duration))

    def offer(self, task: Task, *, front: bool = False) -> None:
        """A message becomes deliverable: straight to an idle slot, else into the backlog."""
        while self.idle_slots:
            waiting = self.idle_slots.popleft()
            if not waiting.triggered:
                waiting.succeed(task)
                return
        if front:
            self.queue.appendleft(task)
        else:
            self.queue.append(task)

    # -- workers --------------------------------------------------------------

    def add_vm(self, ready_now: bool = False) -> None:
        now = self.env.now
        vm = Vm(created=now, ready=now if ready_now else now + self.policy.boot_seconds, slots=self.policy.vcpus)
        self.vms.append(vm)
        for _ in range(vm.slots):
            self.env.process(self.slot(vm))

    def slot(self, vm: Vm):
        """One worker slot: lease a message (flow control: one per slot), process, acknowledge."""
        if vm.ready > self.env.now:
            yield self.env.timeout(vm.ready - self.env.now)
        while not vm.removing:
            if self.queue:
                task = self.queue.popleft()
            else:
                waiting = self.env.event()
                self.idle_slots.append(waiting)
                task = yield waiting
                if vm.removing:  # handed a task while leaving: give it back
                    self.offer(task, front=True)
                    return
            vm.running[id(task)] = (task, self.env.active_process)
            try:
                yield self.env.timeout(task.service)
            except simpy.Interrupt:
                vm.running.pop(id(task), None)
                self.offer(task, front=True)  # redelivered, started again
                return
            vm.running.pop(id(task), None)
            task.finished = self.env.now
            self.finished.append(task)

    def remove_vm(self, vm: Vm):
        vm.removing = True
        # Its idle slots stop waiting for work.
        yield self.env.timeout(SHUTDOWN_GRACE_SECONDS)
        for _task, process in list(vm.running.values()):  # unfinished after the grace: back to the queue
            process.interrupt()
        self.vms.remove(vm)

    def undelivered(self) -> int:
        return len(self.queue) + sum(len(vm.running) for vm in self.vms)

    # -- autoscaler -----------------------------------------------------------

    def metric_sampler(self):
        while True:
            self.metric_history.append((self.env.now, self.undelivered()))
            yield self.env.timeout(METRIC_SAMPLE_SECONDS)

    def visible_metric(self) -> int | None:
        visible = [value for at, value in self.metric_history if at <= self.env.now - METRIC_DELAY_SECONDS]
        return visible[-1] if visible else None

    def autoscaler(self):
        policy = self.policy
        while True:
            yield self.env.timeout(DECISION_SECONDS)
            metric = self.visible_metric()
            if metric is None:
                continue
            recommended = min(policy.max_replicas,
                              max(policy.min_replicas, math.ceil(metric / policy.messages_per_instance)))
            now = self.env.now
            self.recommendations.append((now, recommended))
            current = [vm for vm in self.vms if not vm.removing]
            if recommended > len(current):
                for _ in range(recommended - len(current)):
                    self.add_vm()
                continue
            window = max(r for at, r in self.recommendations if at >= now - STABILIZATION_SECONDS)
            initializing = any(vm.created > now - policy.cooldown_period for vm in current)
            recent = [at for at in self.scale_ins if at > now - policy.scale_in_window_seconds]
            allowed = policy.scale_in_max_replicas - len(recent)
            excess = min(len(current) - window, allowed)
            if excess <= 0 or initializing:
                continue
            idle_first = sorted(current, key=lambda vm: len(vm.running))
            for vm in idle_first[:excess]:
                self.scale_ins.append(now)
                self.env.process(self.remove_vm(vm))

    def sampler(self):
        while self.env.now < self.end + 30 * 60:
            ready = sum(1 for vm in self.vms if vm.ready <= self.env.now and not vm.removing)
            booting = sum(1 for vm in self.vms if vm.ready > self.env.now)
            self.samples.append({"t": self.env.now, "arrival_rate": self.rate(self.env.now),
                                 "backlog": self.undelivered(), "metric_seen": self.visible_metric(),
                                 "vms_ready": ready, "vms_booting": booting})
            yield self.env.timeout(15)

    def run(self) -> Result:
        mean_service = sum(d * w for d, w in zip(self.durations, self.weights))
        steady = math.ceil(self.workload.rate(1) * mean_service / self.policy.vcpus / 0.75)
        for _ in range(min(self.policy.max_replicas, max(self.policy.min_replicas, steady))):
            self.add_vm(ready_now=True)
        for process in (self.arrivals(), self.metric_sampler(), self.autoscaler(), self.sampler()):
            self.env.process(process)
        self.env.run(until=self.end + 30 * 60)
        latencies = [(t.arrived, t.finished - t.arrived) for t in self.finished]
        unfinished = [*self.queue, *(task for vm in self.vms for task, _ in vm.running.values())]
        latencies += [(t.arrived, self.env.now - t.arrived) for t in unfinished if t.arrived < self.end]
        return Result(policy=self.policy, workload=asdict(self.workload), samples=self.samples,
                      latencies=sorted(latencies), burst_start=self.burst_start, burst_end=self.burst_end,
                      target_p95=self.workload.latency_target_p95_seconds)


def simulate(workload: Workload, policy: Policy, figures: MeasuredFigures | None = None, seed: int = SEED) -> Result:
    """One run of the burst through ``policy``, service times from the measured figures."""
    service_times = service_time_distribution(workload, figures or load_figures())
    return Simulation(workload, policy, service_times, seed).run()


def planned_policy(workload: Workload) -> Policy:
    """The policy the capacity plan recommends for ``workload``."""
    values = make_plan(workload).workers.values
    return Policy(machine_type=values["machine_type"], vcpus=values["vcpus"], min_replicas=values["min_replicas"],
                  max_replicas=values["max_replicas"], messages_per_instance=values["messages_per_instance"],
                  cooldown_period=values["cooldown_period"])

