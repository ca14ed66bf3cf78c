"""``wrk`` (the Debian package) as ``bench-api``'s load generator: a closed loop of
keep-alive connections, each sending its next request as soon as the answer
arrives, from a C process far lighter than locust (issue 20).

wrk counts a request that waits past ``--timeout`` as a timeout, not in its
latencies: the timeouts are reported beside the percentiles, since a server
that starves some connections shows there first.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from pathlib import Path

WRK = "wrk"
THREADS = 2
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


def measure(url: str, token: str | None, connections: int, duration: float) -> dict:
    """Run wrk against ``url`` (with the bearer ``token``) and return ``parse``'s figures."""
    if shutil.which(WRK) is None:
        raise SystemExit("bench-api --generator wrk: wrk is not installed (Debian package wrk)")
    with tempfile.TemporaryDirectory(prefix="capacity-wrk-") as folder:
        script = Path(folder) / "auth.lua"
        script.write_text(f'wrk.headers["Authorization"] = "Bearer {token}"\n' if token else "")
        command = [WRK, f"-t{THREADS}", f"-c{connections}", f"-d{round(duration)}s", "--latency",
                   "--timeout", f"{REQUEST_TIMEOUT_SECONDS}s", "-s", str(script), url]
        output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    return parse(output)
