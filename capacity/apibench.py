"""``bench-api``: ``GET /api/tasks`` (20 tasks per user) at high concurrency against a
bare Flask JSON endpoint served by gunicorn with the same settings, in the same
run (issue 8, target 3).

Each measurement starts ``users`` locust users with no think time (one keep-alive
connection each), waits until all have started, then counts requests for
``duration`` seconds. The service and the baseline are measured in turn,
alternating, ``rounds`` times; medians are kept. The load generator runs in this
process, on the same machine: its own CPU use is reported, since it competes with
the servers for the same cores.

Imports locust (gevent monkey-patching): run in the ``python -m capacity`` process only.
"""

from __future__ import annotations

import contextlib
import logging
import random
import time
import urllib.parse

import gevent
import psutil
from locust import FastHttpUser, constant, task
from locust.env import Environment

from capacity import targets, wrk
from capacity.accounts import PoolSpec, create_pool
from capacity.baseline import bare_server, gunicorn_options
from capacity.machine import machine_facts

log = logging.getLogger("capacity")

THROUGHPUT_TARGET = 0.5
P95_TARGET_MS = 500
WRK_P90_TARGET_MS = 500  # issue 20: the tail at 1000 connections measured with wrk
WRK_P99_TARGET_MS = 1000
LOAD_GENERATORS = {
    "locust": "locust FastHttpUser, no think time, one process in the benchmark process, same machine "
              "(its CPU is in each run)",
    "wrk": f"wrk -t{wrk.THREADS} --latency --timeout {wrk.REQUEST_TIMEOUT_SECONDS}s, one bearer token, "
           "same machine",
}
SPAWN_TIMEOUT_SECONDS = 120
REQUEST_TIMEOUT_SECONDS = 60


class ListTasks(FastHttpUser):
    """``GET /api/tasks`` as one of the pre-created accounts, with no think time."""

    wait_time = constant(0)
    network_timeout = REQUEST_TIMEOUT_SECONDS
    connection_timeout = REQUEST_TIMEOUT_SECONDS
    tokens: list[str] = []

    def on_start(self) -> None:
        self.headers = {"Authorization": f"Bearer {random.choice(self.tokens)}"} if self.tokens else {}

    @task
    def list_tasks(self) -> None:
        self.client.get("/api/tasks", headers=self.headers, name="/api/tasks")


def accepted_connections(server_pid: int, port: int) -> int:
    """Connections the server's processes have accepted; the others still wait
    in its listen queue, their requests unanswered (and so not in the figures)."""
    root = psutil.Process(server_pid)
    accepted = 0
    for process in [root, *root.children(recursive=True)]:
        with contextlib.suppress(psutil.NoSuchProcess):
            accepted += sum(1 for connection in process.net_connections("tcp")
                            if connection.status == psutil.CONN_ESTABLISHED and connection.laddr.port == port)
    return accepted


def measure(host: str, tokens: list[str], users: int, spawn_rate: float, duration: float, server_pid: int) -> dict:
    """Start ``users`` users against ``host``; once all run, count ``duration`` seconds of requests."""
    ListTasks.tokens = tokens
    env = Environment(user_classes=[ListTasks], host=host)
    runner = env.create_local_runner()
    me = psutil.Process()
    try:
        runner.start(users, spawn_rate=spawn_rate)
        deadline = time.monotonic() + SPAWN_TIMEOUT_SECONDS
        while runner.user_count < users and time.monotonic() < deadline:
            gevent.sleep(0.5)
        gevent.sleep(2)  # let every user make its first request before counting
        env.stats.reset_all()
        cpu_before, started = me.cpu_times(), time.monotonic()
        gevent.sleep(duration)
        cpu_after, seconds = me.cpu_times(), time.monotonic() - started
        accepted = accepted_connections(server_pid, urllib.parse.urlsplit(host).port)
        total = env.stats.total
        result = {
            "users_running": runner.user_count, "connections_accepted": accepted, "seconds": round(seconds, 2), "requests": total.num_requests,
            "failures": total.num_failures, "rps": round(total.num_requests / seconds, 1),
            "p50_ms": total.get_response_time_percentile(0.5), "p95_ms": total.get_response_time_percentile(0.95),
            "p99_ms": total.get_response_time_percentile(0.99),
            "load_generator_cpu_percent": round(
                100 * ((cpu_after.user + cpu_after.system) - (cpu_before.user + cpu_before.system)) / seconds, 1),
            "errors": {str(key): error.occurrences for key, error in env.stats.errors.items()},
        }
    finally:
        runner.quit()
    return result


def measure_wrk(host: str, tokens: list[str], users: int, duration: float) -> dict:
    """``users`` wrk connections against ``host`` for ``duration`` seconds, as one account
    (wrk sends one header set); timeouts, socket errors and non-2xx answers are failures."""
    result = wrk.measure(host + "/api/tasks", random.choice(tokens) if tokens else None, users, duration)
    return {**result, "failures": result["timeouts"] + result["socket_errors"] + result["non_2xx"]}


def _wrk_checks(service_runs: list[dict], bare_runs: list[dict]) -> list[dict]:
    checks = []
    for name, target in (("p90", WRK_P90_TARGET_MS), ("p99", WRK_P99_TARGET_MS)):
        value = targets.median([r[f"{name}_ms"] for r in service_runs])
        checks.append(targets.check(f"{name} latency, wrk (median of rounds)", value, "ms",
                                    baseline=targets.median([r[f"{name}_ms"] for r in bare_runs]),
                                    baseline_name=f"bare endpoint {name}", target=f"< {target} ms",
                                    met=targets.at_most(value, target - 1)))
    return checks


def run(base_url: str, service: dict, *, users: int, spawn_rate: float, duration: float, rounds: int,
        accounts: int, tasks_per_account: int, command: str, notes: list[str], generator: str = "locust") -> dict:
    """Measure with ``generator`` (locust or wrk); return the report summary (see ``capacity.targets``)."""
    machine = machine_facts()
    pool = create_pool(base_url, f"cap{random.randrange(16**8):08x}", PoolSpec(accounts, tasks_per_account))
    tokens = [account.token for account in pool]
    service_runs, bare_runs = [], []
    with bare_server(service) as (bare_url, bare_process):
        for round_index in range(rounds):
            order = ("service", "bare") if round_index % 2 == 0 else ("bare", "service")
            for side in order:
                host, pid = (base_url, service["serve_pid"]) if side == "service" else (bare_url, bare_process.pid)
                if generator == "wrk":
                    result = measure_wrk(host, tokens, users, duration)
                else:
                    result = measure(host, tokens, users, spawn_rate, duration, pid)
                (service_runs if side == "service" else bare_runs).append(result)
                log.info("round %d %-7s %s", round_index + 1, side, result)
                gevent.sleep(3)  # let closed connections drain between runs
    service_rps = targets.median([r["rps"] for r in service_runs])
    bare_rps = targets.median([r["rps"] for r in bare_runs])
    failures = sum(r["failures"] for r in service_runs)
    throughput_ratio = targets.ratio(service_rps, bare_rps)
    checks = [
        targets.check(f"GET /api/tasks at {users} connections", service_rps, "req/s", baseline=bare_rps,
                      baseline_name="bare Flask JSON, same gunicorn settings", ratio_value=throughput_ratio,
                      target=f"≥ {THROUGHPUT_TARGET}× the bare endpoint",
                      met=targets.at_least(throughput_ratio, THROUGHPUT_TARGET)),
    ]
    if generator == "wrk":
        checks += _wrk_checks(service_runs, bare_runs)
        checks.append(targets.check("failed requests (timeouts past 10 s, socket errors, non-2xx)", failures, "",
                                    target="0", met=failures == 0))
    else:
        p95 = targets.median([r["p95_ms"] for r in service_runs])
        accepted = min(r["connections_accepted"] for r in service_runs)
        checks += [
            targets.check("p95 latency (median of rounds)", p95, "ms",
                          baseline=targets.median([r["p95_ms"] for r in bare_runs]),
                          baseline_name="bare endpoint p95", target=f"< {P95_TARGET_MS} ms",
                          met=targets.at_most(p95, P95_TARGET_MS - 1)),
            targets.check("failed requests", failures, "", target="0", met=failures == 0),
            targets.check("connections the service had accepted at the end of a run (fewest)", accepted, "",
                          baseline=min(r["connections_accepted"] for r in bare_runs),
                          baseline_name="bare endpoint's", target=f"all {users}", met=accepted == users),
        ]
    return {
        "mode": "bench-api", "title": f"API: GET /api/tasks at {users} connections vs bare Flask (target 3)",
        "command": command, "machine": machine,
        "configuration": {"service": service,
                          "baseline": "capacity.bareapp:app under gunicorn " + " ".join(gunicorn_options(service)),
                          "users": users, "spawn_rate": spawn_rate, "measured_seconds": duration, "rounds": rounds,
                          "accounts": accounts, "tasks_per_account": tasks_per_account,
                          "load_generator": LOAD_GENERATORS[generator]},
        "results": {"service_runs": service_runs, "bare_runs": bare_runs,
                    "service_rps_median": service_rps, "bare_rps_median": bare_rps},
        "checks": checks, "notes": notes,
    }
