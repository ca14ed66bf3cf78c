"""``bench-auth``: login and sign-up throughput against the raw argon2id hash rate
at the service's parameters, measured in the same run; then a burst of
concurrent logins with its error count (issue 8, target 4).

Each round measures, in turn (the order rotates): argon2id hashes/s in this
process (``hash_threads`` threads: argon2 releases the GIL), logins/s and
sign-ups/s over HTTP (``clients`` threads, no think time). Medians are kept.
"""

from __future__ import annotations

import concurrent.futures
import logging
import threading
import time
import uuid

import psutil
import requests
from argon2 import PasswordHasher

from capacity import targets
from capacity.accounts import PoolSpec, create_pool
from capacity.api import PASSWORD, ApiClient
from capacity.machine import machine_facts
from capacity.procs import role_processes
from capacity.stats import percentile

log = logging.getLogger("capacity")

THROUGHPUT_TARGET = 0.9
BURST_TIMEOUT_SECONDS = 900
WARMUP_SECONDS = 8.0


def _cpu_seconds(processes) -> float:
    total = 0.0
    for process in processes:
        try:
            times = process.cpu_times()
            total += times.user + times.system
        except psutil.NoSuchProcess:
            pass
    return total


def closed_loop(action, threads: int, seconds: float, warmup: float = WARMUP_SECONDS, cpu_of=()) -> dict:
    """Run ``action(thread_index, n)`` in ``threads`` threads; count the calls that end
    within a ``seconds`` window that opens ``warmup`` seconds after the start (so every
    thread is busy throughout: no start-up or drain at either edge)."""
    stop = threading.Event()
    ends: list[float] = []
    latencies: list[float] = []
    errors = [0] * threads

    def loop(index: int) -> None:
        n = 0
        while not stop.is_set():
            started = time.perf_counter()
            try:
                action(index, n)
                ended = time.perf_counter()
                ends.append(ended)
                latencies.append(ended - started)
            except Exception as error:  # noqa: BLE001 - every failure is counted
                errors[index] += 1
                log.debug("%s", error)
            n += 1

    workers = [threading.Thread(target=loop, args=(i,), daemon=True) for i in range(threads)]
    started = time.perf_counter()
    for worker in workers:
        worker.start()
    time.sleep(warmup)
    cpu_before = _cpu_seconds(cpu_of)
    time.sleep(seconds)
    cpu_used = _cpu_seconds(cpu_of) - cpu_before
    stop.set()
    for worker in workers:
        worker.join()
    done = window_count(ends, started + warmup, started + warmup + seconds)
    return {"done": done, "errors": sum(errors), "seconds": seconds, "per_second": round(done / seconds, 3),
            "p95_s": percentile(latencies, 95), "cpu_seconds": round(cpu_used, 2),
            "cpu_seconds_each": round(cpu_used / done, 4) if done else None}


def window_count(ends: list[float], opens: float, closes: float) -> int:
    """How many of the ``ends`` times fall in ``[opens, closes)``."""
    return sum(opens <= end < closes for end in ends)


def burst_logins(base_url: str, usernames: list[str], count: int) -> dict:
    """``count`` logins sent at once (one thread each, released together); errors and times."""
    barrier = threading.Barrier(count)
    times: list[float] = []
    errors: dict[str, int] = {}

    def one(index: int) -> None:
        client = ApiClient(requests.Session(), base_url)
        barrier.wait()
        started = time.perf_counter()
        try:
            response = client.session.post(f"{base_url}/api/auth/login", json={
                "username": usernames[index % len(usernames)], "password": PASSWORD}, timeout=BURST_TIMEOUT_SECONDS)
            if response.status_code != 200:
                errors[f"HTTP {response.status_code}"] = errors.get(f"HTTP {response.status_code}", 0) + 1
                return
            times.append(time.perf_counter() - started)
        except requests.RequestException as error:
            errors[type(error).__name__] = errors.get(type(error).__name__, 0) + 1

    started = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(count) as pool:
        list(pool.map(one, range(count)))
    seconds = time.perf_counter() - started
    return {"logins": count, "ok": len(times), "errors": sum(errors.values()), "error_kinds": errors,
            "seconds": round(seconds, 2), "per_second": round(len(times) / seconds, 2),
            "p50_s": percentile(times, 50), "p95_s": percentile(times, 95), "max_s": max(times, default=None)}


def run(base_url: str, service: dict, *, clients: int, hash_threads: int, seconds: float, rounds: int,
        burst: int, command: str, notes: list[str]) -> dict:
    """Measure; return the report summary (see ``capacity.targets``)."""
    machine = machine_facts()
    cost = service["argon2"]
    hasher = PasswordHasher(time_cost=cost["time_cost"], memory_cost=cost["memory_kib"],
                            parallelism=cost["parallelism"])
    tag = f"cap{uuid.uuid4().hex[:8]}"
    pool = create_pool(base_url, tag, PoolSpec(20))
    usernames = [account.username for account in pool]
    local = threading.local()

    def client() -> ApiClient:
        if not hasattr(local, "client"):
            local.client = ApiClient(requests.Session(), base_url)
        return local.client

    def login(index: int, n: int) -> None:
        client().login(usernames[(index + n) % len(usernames)])

    def signup(index: int, n: int) -> None:
        client().signup(f"{tag}-s{index}-{n}-{uuid.uuid4().hex[:4]}")

    actions = {"hash": (lambda _i, _n: hasher.hash(PASSWORD), hash_threads), "login": (login, clients),
               "signup": (signup, clients)}
    web = role_processes(service["serve_pid"])["web"]
    # CPU seconds per call: this process's for a hash, the web processes' for a login or sign-up.
    cpu_of = {"hash": [psutil.Process()], "login": web, "signup": web}
    runs: dict[str, list[dict]] = {name: [] for name in actions}
    names = list(actions)
    for round_index in range(rounds):
        for name in names[round_index % 3:] + names[: round_index % 3]:
            action, threads = actions[name]
            result = closed_loop(action, threads, seconds, cpu_of=cpu_of[name])
            runs[name].append(result)
            log.info("round %d %-6s %s", round_index + 1, name, result)
    log.info("%d logins at once", burst)
    burst_result = burst_logins(base_url, usernames, burst)
    log.info("burst: %s", burst_result)
    rate = {name: targets.median([r["per_second"] for r in results]) for name, results in runs.items()}
    # Each round's ratio pairs measurements taken a minute apart at most; their median is the figure.
    paired = {name: [targets.ratio(r["per_second"], h["per_second"]) for r, h in zip(runs[name], runs["hash"])]
              for name in ("login", "signup")}
    cpu_each = {name: targets.median([r["cpu_seconds_each"] for r in results if r["cpu_seconds_each"]])
                for name, results in runs.items()}
    cpu_ratio = {name: targets.ratio(cpu_each["hash"], cpu_each[name]) for name in ("login", "signup")}
    login_ratio = targets.median([v for v in paired["login"] if v is not None])
    signup_ratio = targets.median([v for v in paired["signup"] if v is not None])
    errors = sum(r["errors"] for name in ("login", "signup") for r in runs[name])
    checks = [
        targets.check("logins/s", rate["login"], "/s", baseline=rate["hash"],
                      baseline_name="argon2id hashes/s, same parameters; ratio: median of the rounds' ratios",
                      ratio_value=login_ratio,
                      target=f"≥ {THROUGHPUT_TARGET}× the hash rate",
                      met=targets.at_least(login_ratio, THROUGHPUT_TARGET)),
        targets.check("sign-ups/s", rate["signup"], "/s", baseline=rate["hash"],
                      baseline_name="argon2id hashes/s, same parameters; ratio: median of the rounds' ratios",
                      ratio_value=signup_ratio,
                      target=f"≥ {THROUGHPUT_TARGET}× the hash rate",
                      met=targets.at_least(signup_ratio, THROUGHPUT_TARGET)),
        targets.check("CPU per hash / web CPU per login", cpu_ratio["login"], "", target="≥ 0.9 (load-robust view)",
                      met=targets.at_least(cpu_ratio["login"], THROUGHPUT_TARGET)),
        targets.check("CPU per hash / web CPU per sign-up", cpu_ratio["signup"], "", target="≥ 0.9 (load-robust view)",
                      met=targets.at_least(cpu_ratio["signup"], THROUGHPUT_TARGET)),
        targets.check(f"{burst} concurrent logins: errors", burst_result["errors"], "", target="0",
                      met=burst_result["errors"] == 0),
        targets.check("errors in the throughput runs", errors, "", target="0", met=errors == 0),
    ]
    return {
        "mode": "bench-auth", "title": "Auth: logins and sign-ups vs the argon2id hash rate (target 4)",
        "command": command, "machine": machine,
        "configuration": {"service": service, "argon2": cost, "http_clients": clients,
                          "hash_threads": hash_threads, "seconds_per_measurement": seconds,
                          "counting": f"calls ending in a {seconds}s window opened {WARMUP_SECONDS}s after the "
                                      "threads start (all threads busy throughout)", "rounds": rounds,
                          "burst_logins": burst, "accounts": len(usernames),
                          "client": "requests, one session per thread, no think time, same machine"},
        "results": {"runs": runs, "medians_per_second": rate, "ratios_by_round": paired,
                    "cpu_seconds_each_median": cpu_each,
                    "cpu_efficiency_vs_hash": cpu_ratio, "burst": burst_result},
        "checks": checks, "notes": notes,
    }

