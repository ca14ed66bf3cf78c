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

import requests
from argon2 import PasswordHasher

from capacity import targets
from capacity.accounts import PoolSpec, create_pool
from capacity.api import PASSWORD, ApiClient
from capacity.machine import machine_facts
from capacity.stats import percentile

log = logging.getLogger("capacity")

THROUGHPUT_TARGET = 0.9
BURST_TIMEOUT_SECONDS = 900


def closed_loop(action, threads: int, seconds: float) -> dict:
    """Run ``action(thread_index, n)`` in ``threads`` threads for ``seconds``; count successes and errors."""
    stop = threading.Event()
    counts = [0] * threads
    errors = [0] * threads
    latencies: list[float] = []

    def loop(index: int) -> None:
        n = 0
        while not stop.is_set():
            started = time.perf_counter()
            try:
                action(index, n)
                counts[index] += 1
                latencies.append(time.perf_counter() - started)
            except Exception as error:  # noqa: BLE001 - every failure is counted
                errors[index] += 1
                log.debug("%s", error)
            n += 1

    workers = [threading.Thread(target=loop, args=(i,), daemon=True) for i in range(threads)]
    started = time.perf_counter()
    for worker in workers:
        worker.start()
    time.sleep(seconds)
    stop.set()
    for worker in workers:
        worker.join()
    elapsed = time.perf_counter() - started  # includes finishing the calls in flight
    return {"done": sum(counts), "errors": sum(errors), "seconds": round(elapsed, 2),
            "per_second": round(sum(counts) / elapsed, 2), "p95_s": percentile(latencies, 95)}


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
    runs: dict[str, list[dict]] = {name: [] for name in actions}
    names = list(actions)
    for round_index in range(rounds):
        for name in names[round_index % 3:] + names[: round_index % 3]:
            action, threads = actions[name]
            result = closed_loop(action, threads, seconds)
            runs[name].append(result)
            log.info("round %d %-6s %s", round_index + 1, name, result)
    log.info("%d logins at once", burst)
    burst_result = burst_logins(base_url, usernames, burst)
    log.info("burst: %s", burst_result)
    rate = {name: targets.median([r["per_second"] for r in results]) for name, results in runs.items()}
    login_ratio = targets.ratio(rate["login"], rate["hash"])
    signup_ratio = targets.ratio(rate["signup"], rate["hash"])
    errors = sum(r["errors"] for name in ("login", "signup") for r in runs[name])
    checks = [
        targets.check("logins/s", rate["login"], "/s", baseline=rate["hash"],
                      baseline_name="argon2id hashes/s, same parameters", ratio_value=login_ratio,
                      target=f"≥ {THROUGHPUT_TARGET}× the hash rate",
                      met=targets.at_least(login_ratio, THROUGHPUT_TARGET)),
        targets.check("sign-ups/s", rate["signup"], "/s", baseline=rate["hash"],
                      baseline_name="argon2id hashes/s, same parameters", ratio_value=signup_ratio,
                      target=f"≥ {THROUGHPUT_TARGET}× the hash rate",
                      met=targets.at_least(signup_ratio, THROUGHPUT_TARGET)),
        targets.check(f"{burst} concurrent logins: errors", burst_result["errors"], "", target="0",
                      met=burst_result["errors"] == 0),
        targets.check("errors in the throughput runs", errors, "", target="0", met=errors == 0),
    ]
    return {
        "mode": "bench-auth", "title": "Auth: logins and sign-ups vs the argon2id hash rate (target 4)",
        "command": command, "machine": machine,
        "configuration": {"service": service, "argon2": cost, "http_clients": clients,
                          "hash_threads": hash_threads, "seconds_per_measurement": seconds, "rounds": rounds,
                          "burst_logins": burst, "accounts": len(usernames),
                          "client": "requests, one session per thread, no think time, same machine"},
        "results": {"runs": runs, "medians_per_second": rate, "burst": burst_result},
        "checks": checks, "notes": notes,
    }

