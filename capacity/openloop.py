"""An open-loop load generator for ``bench-api`` (issue 20): requests start at a
fixed rate whatever the server does, as users on the internet arrive, instead of
a fixed set of connections that each wait for their answer (wrk, locust). A
closed loop slows down with the server and so hides queueing; an open loop meets
it, which is why the tail target is set on an open-loop run.

The generator is loadtest (npm, pinned in ``capacity/package.json``; install with
``npm ci --prefix capacity``), driven by ``openloop.mjs``, which prints its result
as JSON. Percentiles are read from its 1 ms latency histogram; requests the
schedule called for but that had no answer (or error) when the run ended are
reported beside them, since a percentile of the answered ones cannot see those.

loadtest stops at its deadline without waiting for the requests then in flight.
About rate x p99 of them are simply not answered *yet* (3,000 req/s at 40 ms:
~120), so that many are reported as ``in_flight_at_stop`` and only the rest as
``unanswered`` (a failure). A server that falls behind has a p99 that fails its
own check, so the allowance cannot hide an overload.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

HERE = Path(__file__).resolve().parent
SCRIPT = HERE / "openloop.mjs"
NODE = "node"
REQUEST_TIMEOUT_SECONDS = 10
PERCENTILES = (50, 90, 99, 99.9)
DESCRIPTION = ("loadtest 8.2.1 (npm) requestsPerSecond mode: an open loop, new keep-alive connections as needed, "
               f"{REQUEST_TIMEOUT_SECONDS} s request timeout, one bearer token, same machine")


class OpenLoopOutputError(ValueError):
    """The generator's output is not the result object ``figures`` reads."""


def installed() -> bool:
    return shutil.which(NODE) is not None and (HERE / "node_modules" / "loadtest").is_dir()


def _percentile(histogram: list[tuple[int, int]], total: int, pct: float) -> int:
    """Nearest-rank percentile, in ms, of a sorted ``(ms, count)`` histogram."""
    rank = max(1, -(-pct * total // 100))
    seen = 0
    for ms, count in histogram:
        seen += count
        if seen >= rank:
            return ms
    return histogram[-1][0]


def figures(result: dict, rate: float) -> dict:
    """Rate reached, latency percentiles (ms), errors and unanswered requests of one run."""
    try:
        histogram = sorted((int(ms), int(count)) for ms, count in result["histogramMs"].items())
        total, errors = int(result["totalRequests"]), int(result["totalErrors"])
        seconds = float(result["elapsedSeconds"])
    except (KeyError, TypeError, ValueError) as error:
        raise OpenLoopOutputError(f"not a loadtest result: {error!r}") from None
    if not histogram or seconds <= 0:
        raise OpenLoopOutputError("the run answered no request")
    scheduled = round(rate * seconds)
    percentiles = {f"p{str(p).replace('.', '_')}_ms": _percentile(histogram, total, p) for p in PERCENTILES}
    missing = max(0, scheduled - total)
    in_flight = min(missing, -(-int(rate * percentiles["p99_ms"]) // 1000))
    return {
        "target_rps": rate, "rps": round(total / seconds, 1), "seconds": round(seconds, 2), "requests": total,
        **percentiles,
        "max_ms": histogram[-1][0], "errors": errors,
        "error_kinds": {str(kind): int(count) for kind, count in (result.get("errorCodes") or {}).items()},
        "unanswered": missing - in_flight, "in_flight_at_stop": in_flight,
        "connections": int(result.get("clients") or 0),
    }


def measure(url: str, token: str | None, rate: float, duration: float) -> dict:
    """Send ``rate`` requests per second to ``url`` for ``duration`` seconds; return ``figures``."""
    if not installed():
        raise SystemExit("bench-api --generator openloop needs node and loadtest: npm ci --prefix capacity")
    command = [NODE, str(SCRIPT), url, str(rate), str(round(duration)), str(REQUEST_TIMEOUT_SECONDS * 1000)]
    environment = {**os.environ, "OPENLOOP_BEARER_TOKEN": token or ""}
    completed = subprocess.run(command, capture_output=True, text=True, check=True, env=environment, cwd=HERE)
    try:
        result = json.loads(completed.stdout.strip().splitlines()[-1])
    except (IndexError, json.JSONDecodeError):
        raise OpenLoopOutputError(f"no JSON result: {completed.stdout[-500:]!r} {completed.stderr[-500:]!r}") from None
    return figures(result, rate)
