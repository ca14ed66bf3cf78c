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

loadtest stops at its deadline without waiting for the requests then in flight,
and does not count what it sent. ``openloop.mjs`` does: every request it sent
before the deadline is either answered or reported with how long it had waited
by then, and that wait enters the percentiles as a lower bound of its latency
(as ``capacity.wrk`` counts a connection's last request), so a request the
server holds cannot drop out of the figures. One that had waited past the
request timeout is ``unanswered`` (a failure). Requests the schedule called for
but loadtest never sent are its own lag, reported as ``not_sent``; a generator
that lags misses the rate, which is checked on its own.
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
    """Rate reached, latency percentiles (ms; waits of requests unanswered at the
    deadline included), errors, unanswered and unsent requests of one run."""
    try:
        counts = {int(ms): int(count) for ms, count in result["histogramMs"].items()}
        total, errors = int(result["totalRequests"]), int(result["totalErrors"])
        seconds = float(result["elapsedSeconds"])
        sent = int(result["sentRequests"])
        waiting = [max(0, int(ms)) for ms in result["waitingAtStopMs"]]
    except (KeyError, TypeError, ValueError) as error:
        raise OpenLoopOutputError(f"not a loadtest result from openloop.mjs: {error!r}") from None
    if not counts or seconds <= 0:
        raise OpenLoopOutputError("the run answered no request")
    for ms in waiting:
        counts[ms] = counts.get(ms, 0) + 1
    histogram = sorted(counts.items())
    measured = total + len(waiting)
    percentiles = {f"p{str(p).replace('.', '_')}_ms": _percentile(histogram, measured, p) for p in PERCENTILES}
    return {
        "target_rps": rate, "rps": round(total / seconds, 1), "seconds": round(seconds, 2), "requests": total,
        **percentiles,
        "max_ms": histogram[-1][0], "errors": errors,
        "error_kinds": {str(kind): int(count) for kind, count in (result.get("errorCodes") or {}).items()},
        "unanswered": sum(ms >= REQUEST_TIMEOUT_SECONDS * 1000 for ms in waiting),
        "in_flight_at_stop": len(waiting), "oldest_in_flight_ms": max(waiting, default=0),
        "not_sent": max(0, round(rate * seconds) - sent),
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
