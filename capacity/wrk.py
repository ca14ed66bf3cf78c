"""``wrk`` (the Debian package) as ``bench-api``'s load generator: a closed loop of
keep-alive connections, each sending its next request as soon as the answer
arrives, from a C process far lighter than locust (issue 20).

wrk counts a request that waits past ``--timeout`` as a timeout, not in its
latencies: the timeouts are reported beside the percentiles, since a server
that starves some connections shows there first. Per-request percentiles can
still hide a few connections that wait far longer than the rest, so each run
also reports the distribution over connections (``wrk_connections.lua``, one wrk
thread per connection): the slowest 1% of connections, their mean and worst wait.
"""

from __future__ import annotations

import os
import re
import shutil
import statistics
import subprocess
import tempfile
from pathlib import Path

from capacity.stats import percentile

WRK = "wrk"
SCRIPT = Path(__file__).with_name("wrk_connections.lua")
REQUEST_TIMEOUT_SECONDS = 10
PERCENTILES = (50, 75, 90, 99)
_UNIT_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0, "h": 3_600_000.0}
_DURATION = r"([\d.]+)(us|ms|s|m|h)"


class WrkOutputError(ValueError):
    """wrk's output lacks a figure the report needs (not a ``--latency`` run, or wrk failed)."""


def _ms(value: str, unit: str) -> float:
    return round(float(value) * _UNIT_MS[unit], 3)


def parse(output: str) -> dict:
    """The figures of a ``wrk --latency`` run: requests, req/s, percentiles in ms, errors."""
    requests = re.search(r"^\s*(\d+) requests in " + _DURATION, output, re.M)
    rps = re.search(r"^Requests/sec:\s+([\d.]+)", output, re.M)
    if not requests or not rps:
        raise WrkOutputError(f"not a wrk report: {output[-500:]!r}")
    percentiles = {int(p): _ms(v, u) for p, v, u in re.findall(r"^\s+(\d+)%\s+" + _DURATION, output, re.M)}
    missing = [p for p in PERCENTILES if p not in percentiles]
    if missing:
        raise WrkOutputError(f"no latency distribution (--latency) for {missing}: {output[-500:]!r}")
    socket = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    connect, read, write, timeout = map(int, socket.groups()) if socket else (0, 0, 0, 0)
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    return {
        "requests": int(requests.group(1)), "seconds": round(_ms(*requests.group(2, 3)) / 1000, 2),
        "rps": float(rps.group(1)), **{f"p{p}_ms": percentiles[p] for p in PERCENTILES},
        "timeouts": timeout, "socket_errors": connect + read + write, "non_2xx": int(non_2xx.group(1)) if non_2xx else 0,
    }


def connection_figures(text: str) -> dict:
    """The distribution over connections of ``wrk_connections.lua``'s lines: how
    many requests each had answered, and its mean and worst wait in ms. A request
    still unanswered at the end counts with the time it had waited (a lower bound)."""
    counts, means, worst = [], [], []
    for line in text.splitlines():
        fields = [float(value) for value in line.split()]
        if not fields:
            continue
        pending, answered = fields[0], fields[1:]
        waits = answered + ([pending] if pending >= 0 else [])
        counts.append(len(answered))
        means.append(statistics.fmean(waits) if waits else 0.0)
        worst.append(max(waits, default=0.0))
    if not counts:
        raise WrkOutputError("the connections script wrote no connection")
    return {
        "connections": len(counts), "starved": sum(1 for count in counts if count == 0),
        "fewest_requests": min(counts), "requests_p1": percentile(counts, 1),
        "requests_median": statistics.median(counts),
        **{f"mean_ms_p{p}": round(percentile(means, p), 1) for p in (50, 99)},
        "mean_ms_max": round(max(means), 1),
        **{f"worst_ms_p{p}": round(percentile(worst, p), 1) for p in (50, 99)},
        "worst_ms_max": round(max(worst), 1),
    }


def measure(url: str, token: str | None, connections: int, duration: float) -> dict:
    """Run wrk against ``url`` (with the bearer ``token``), one thread per connection;
    return ``parse``'s figures with ``connection_figures`` under ``per_connection``."""
    if shutil.which(WRK) is None:
        raise SystemExit("bench-api --generator wrk: wrk is not installed (Debian package wrk)")
    with tempfile.TemporaryDirectory(prefix="capacity-wrk-") as folder:
        per_connection = Path(folder) / "connections.txt"
        command = [WRK, f"-t{connections}", f"-c{connections}", f"-d{round(duration)}s", "--latency",
                   "--timeout", f"{REQUEST_TIMEOUT_SECONDS}s", "-s", str(SCRIPT), url]
        environment = {**os.environ, "WRK_BEARER_TOKEN": token or "", "WRK_CONNECTIONS_FILE": str(per_connection)}
        output = subprocess.run(command, capture_output=True, text=True, check=True, env=environment).stdout
        return {**parse(output), "per_connection": connection_figures(per_connection.read_text())}
