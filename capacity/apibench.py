"""``bench-api``: ``GET /api/tasks`` (20 tasks per user) at high concurrency against a
bare Flask JSON endpoint served by gunicorn with the same settings, in the same
run (issue 8, target 3).

Each measurement starts ``users`` locust users with no think time (one keep-alive
connection each), waits until all have started, then counts requests for
``duration`` seconds. The service and the baseline are measured in turn,
alternating, ``rounds`` times; medians are kept. The load generator runs in this
process, on the same machine: its own CPU use is reported, since it competes with
the servers for the same cores.

With ``--generator wrk`` (issue 20) each round also measures the seed-style
stand-in (``capacity.seedapp``) and every run reports the distribution over
connections; ``--generator openloop`` sends a fixed rate instead of a fixed set
of connections (``capacity.openloop``) and holds the p99 to its own target.

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

from capacity import openloop, seedapp, targets, wrk
from capacity.accounts import PoolSpec, create_pool
from capacity.baseline import bare_server, gunicorn_options, seed_server
from capacity.machine import machine_facts

log = logging.getLogger("capacity")

THROUGHPUT_TARGET = 0.5
P95_TARGET_MS = 500
WRK_P90_TARGET_MS = 500  # issue 20: the tail at 1000 connections measured with wrk
WRK_P99_TARGET_MS = 1000
SEED_THROUGHPUT_TARGET = 6.0  # issue 20: at least 6x the seed implementation
OPEN_LOOP_P99_TARGET_MS = 250  # issue 20: the open-loop run at a fixed arrival rate
LOAD_GENERATORS = {
    "locust": "locust FastHttpUser, no think time, one process in the benchmark process, same machine "
              "(its CPU is in each run)",
    "wrk": f"wrk --latency --timeout {wrk.REQUEST_TIMEOUT_SECONDS}s, one thread per connection "
           "(capacity/wrk_connections.lua: per-connection figures), one bearer token, same machine",
    "openloop": openloop.DESCRIPTION,
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


def measure_open_loop(host: str, tokens: list[str], rate: float, duration: float) -> dict:
    """``rate`` requests per second against ``host`` for ``duration`` seconds, as one account;
    errors (timeouts included) and requests that had waited past the timeout
    when the generator stopped are failures (younger ones count with their wait)."""
    result = openloop.measure(host + "/api/tasks", random.choice(tokens) if tokens else None, rate, duration)
    return {**result, "failures": result["errors"] + result["unanswered"]}


def _median_of(runs: list[dict], key: str, section: str | None = None) -> float | None:
    return targets.median([(run[section] if section else run)[key] for run in runs])


def _wrk_checks(service_runs: list[dict], bare_runs: list[dict], seed_runs: list[dict]) -> list[dict]:
    checks = []
    for name, target in (("p90", WRK_P90_TARGET_MS), ("p99", WRK_P99_TARGET_MS)):
        value = _median_of(service_runs, f"{name}_ms")
        checks.append(targets.check(f"{name} latency, wrk (median of rounds)", value, "ms",
                                    baseline=_median_of(bare_runs, f"{name}_ms"),
                                    baseline_name=f"bare endpoint {name}", target=f"< {target} ms",
                                    met=targets.at_most(value, target - 1)))
    slowest = _median_of(service_runs, "mean_ms_p99", "per_connection")
    checks.append(targets.check("the slowest 1% of connections: their mean wait (median of rounds)", slowest, "ms",
                                baseline=_median_of(bare_runs, "mean_ms_p99", "per_connection"),
                                baseline_name="bare endpoint's", target=f"< {WRK_P99_TARGET_MS} ms",
                                met=targets.at_most(slowest, WRK_P99_TARGET_MS - 1)))
    starved = sum(run["per_connection"]["starved"] for run in service_runs)
    checks.append(targets.check("connections that got no answer in a whole run", starved, "", target="0",
                                met=starved == 0))
    service_rps, seed_rps = _median_of(service_runs, "rps"), _median_of(seed_runs, "rps")
    seed_ratio = targets.ratio(service_rps, seed_rps)
    checks.append(targets.check("GET /api/tasks against the seed-style stand-in", service_rps, "req/s",
                                baseline=seed_rps, baseline_name="capacity.seedapp, gunicorn 4 sync workers",
                                ratio_value=seed_ratio, target=f"≥ {SEED_THROUGHPUT_TARGET:g}× the seed",
                                met=targets.at_least(seed_ratio, SEED_THROUGHPUT_TARGET)))
    return checks


def _open_loop_checks(service_runs: list[dict], bare_runs: list[dict], rate: float) -> list[dict]:
    p99 = _median_of(service_runs, "p99_ms")
    reached = min(run["rps"] for run in service_runs)
    return [
        targets.check(f"p99 latency at {rate:g} req/s, open loop (median of rounds)", p99, "ms",
                      baseline=_median_of(bare_runs, "p99_ms"), baseline_name="bare endpoint p99",
                      target=f"< {OPEN_LOOP_P99_TARGET_MS} ms", met=targets.at_most(p99, OPEN_LOOP_P99_TARGET_MS - 1)),
        targets.check("rate reached (slowest run)", reached, "req/s", target=f"≥ {0.99 * rate:g} (99% of the rate)",
                      met=reached >= 0.99 * rate),
    ]


def _measure_side(generator: str, host: str, tokens: list[str], *, users: int, rate: float, spawn_rate: float,
                  duration: float, pid: int) -> dict:
    if generator == "wrk":
        return measure_wrk(host, tokens, users, duration)
    if generator == "openloop":
        return measure_open_loop(host, tokens, rate, duration)
    return measure(host, tokens, users, spawn_rate, duration, pid)


def run(base_url: str, service: dict, *, users: int, spawn_rate: float, duration: float, rounds: int,
        accounts: int, tasks_per_account: int, command: str, notes: list[str], generator: str = "locust",
        rate: float = 3000.0) -> dict:
    """Measure with ``generator`` (locust, wrk or openloop); return the report summary (see ``capacity.targets``)."""
    machine = machine_facts()
    pool = create_pool(base_url, f"cap{random.randrange(16**8):08x}", PoolSpec(accounts, tasks_per_account))
    tokens = [account.token for account in pool]
    runs: dict[str, list[dict]] = {"service": [], "bare": [], "seed": []}
    sides = ("service", "bare", "seed") if generator == "wrk" else ("service", "bare")
    with bare_server(service) as (bare_url, bare_process), \
            (seed_server() if "seed" in sides else contextlib.nullcontext((None, None, None))) as seed:
        servers = {"service": (base_url, service["serve_pid"], tokens), "bare": (bare_url, bare_process.pid, tokens),
                   "seed": (seed[0], seed[1].pid if seed[1] else None, [seed[2]])}
        for round_index in range(rounds):
            for side in sides if round_index % 2 == 0 else tuple(reversed(sides)):
                host, pid, side_tokens = servers[side]
                result = _measure_side(generator, host, side_tokens, users=users, rate=rate, spawn_rate=spawn_rate,
                                       duration=duration, pid=pid)
                runs[side].append(result)
                log.info("round %d %-7s %s", round_index + 1, side, result)
                gevent.sleep(3)  # let closed connections drain between runs
    service_runs, bare_runs = runs["service"], runs["bare"]
    service_rps, bare_rps = _median_of(service_runs, "rps"), _median_of(bare_runs, "rps")
    failures = sum(r["failures"] for r in service_runs)
    throughput_ratio = targets.ratio(service_rps, bare_rps)
    checks = [] if generator == "openloop" else [
        targets.check(f"GET /api/tasks at {users} connections", service_rps, "req/s", baseline=bare_rps,
                      baseline_name="bare Flask JSON, same gunicorn settings", ratio_value=throughput_ratio,
                      target=f"≥ {THROUGHPUT_TARGET}× the bare endpoint",
                      met=targets.at_least(throughput_ratio, THROUGHPUT_TARGET)),
    ]
    if generator == "wrk":
        checks += _wrk_checks(service_runs, bare_runs, runs["seed"])
        checks.append(targets.check("failed requests (timeouts past 10 s, socket errors, non-2xx)", failures, "",
                                    target="0", met=failures == 0))
    elif generator == "openloop":
        checks += _open_loop_checks(service_runs, bare_runs, rate)
        checks.append(targets.check(
            "failed requests (errors, timeouts past 10 s, unanswered for 10 s at the end)",
            failures, "", target="0", met=failures == 0))
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
    load = f"{rate:g} requests per second, open loop" if generator == "openloop" else f"{users} connections"
    return {
        "mode": "bench-api", "title": f"API: GET /api/tasks at {load} vs bare Flask ({generator})",
        "command": command, "machine": machine,
        "configuration": {"service": service,
                          "baseline": "capacity.bareapp:app under gunicorn " + " ".join(gunicorn_options(service)),
                          **({"seed_baseline": "capacity.seedapp:app under gunicorn "
                              + " ".join(seedapp.GUNICORN_OPTIONS)}
                             if "seed" in sides else {}),
                          "users": users, "rate": rate if generator == "openloop" else None,
                          "spawn_rate": spawn_rate, "measured_seconds": duration, "rounds": rounds,
                          "accounts": accounts, "tasks_per_account": tasks_per_account,
                          "load_generator": LOAD_GENERATORS[generator]},
        "results": {"service_runs": service_runs, "bare_runs": bare_runs,
                    **({"seed_runs": runs["seed"], "seed_rps_median": _median_of(runs["seed"], "rps")}
                       if "seed" in sides else {}),
                    "service_rps_median": service_rps, "bare_rps_median": bare_rps},
        "checks": checks, "notes": notes,
    }
