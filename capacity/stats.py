"""Statistics over raw samples: percentiles, per-second series, per-step windows.

Pure functions over lists, with no locust import, so the report and the tests can use them.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

PERCENTILES = (50, 95, 99)


@dataclass(frozen=True)
class Sample:
    """One request: when it ended (epoch seconds), its route, milliseconds, and whether it failed."""

    time: float
    method: str
    name: str
    ms: float
    failed: bool


def percentile(values: Sequence[float], pct: float) -> float | None:
    """Nearest-rank percentile of ``values`` (need not be sorted); ``None`` when empty."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(pct / 100 * len(ordered)))
    return ordered[rank - 1]


def _round(value: float | None, digits: int = 1) -> float | None:
    return None if value is None else round(value, digits)


def summarize(samples: Sequence[Sample], seconds: float) -> dict:
    """Requests, failures, error rate, throughput and latency percentiles of ``samples``."""
    times = [s.ms for s in samples]
    failures = sum(1 for s in samples if s.failed)
    result = {
        "requests": len(samples),
        "failures": failures,
        "error_rate": failures / len(samples) if samples else 0.0,
        "rps": round(len(samples) / seconds, 2) if seconds > 0 else 0.0,
        "mean_ms": _round(sum(times) / len(times)) if times else None,
        "max_ms": _round(max(times)) if times else None,
    }
    for pct in PERCENTILES:
        result[f"p{pct}_ms"] = _round(percentile(times, pct))
    return result


def by_endpoint(samples: Iterable[Sample], seconds: float) -> list[dict]:
    groups: dict[tuple[str, str], list[Sample]] = defaultdict(list)
    for sample in samples:
        groups[(sample.method, sample.name)].append(sample)
    return [
        {"method": method, "name": name, **summarize(group, seconds)}
        for (method, name), group in sorted(groups.items(), key=lambda item: item[0][1])
    ]


def per_second(
    samples: Sequence[Sample],
    users: Sequence[tuple[float, int]],
    start: float,
    end: float,
    finished_at: Sequence[float] = (),
) -> list[dict]:
    """One row per whole second from ``start`` to ``end``: users, requests, failures,
    p50/p95/p99 of the requests that ended in that second, and files finished."""
    count = max(1, math.ceil(end - start))
    buckets: list[list[Sample]] = [[] for _ in range(count)]
    for sample in samples:
        index = int(sample.time - start)
        if 0 <= index < count:
            buckets[index].append(sample)
    files = [0] * count
    for moment in finished_at:
        index = int(moment - start)
        if 0 <= index < count:
            files[index] += 1
    rows = []
    user_index, current_users = 0, 0
    ordered_users = sorted(users)
    for second, bucket in enumerate(buckets):
        moment = start + second + 1
        while user_index < len(ordered_users) and ordered_users[user_index][0] <= moment:
            current_users = ordered_users[user_index][1]
            user_index += 1
        times = [s.ms for s in bucket]
        rows.append({
            "second": second,
            "users": current_users,
            "requests": len(bucket),
            "failures": sum(1 for s in bucket if s.failed),
            **{f"p{pct}_ms": _round(percentile(times, pct)) for pct in PERCENTILES},
            "files_finished": files[second],
        })
    return rows


def conversion_summary(conversions: Sequence[dict], seconds: float) -> dict:
    """Files per minute and upload-to-processed times from conversion records
    (dicts with ``status``, ``started``, ``finished``, ``bytes_in``, ``server_seconds``)."""
    processed = [c for c in conversions if c["status"] == "processed"]
    e2e = [c["finished"] - c["started"] for c in processed]
    server = [c["server_seconds"] for c in processed if c.get("server_seconds") is not None]
    minutes = seconds / 60 if seconds > 0 else 0
    result = {
        "processed": len(processed),
        "failed": sum(1 for c in conversions if c["status"] == "failed"),
        "timed_out": sum(1 for c in conversions if c["status"] == "timeout"),
        "files_per_minute": _round(len(processed) / minutes, 2) if minutes else 0.0,
        "input_mb_per_minute": _round(sum(c["bytes_in"] for c in processed) / 1e6 / minutes, 2) if minutes else 0.0,
        "by_format": {},
    }
    for pct in PERCENTILES:
        result[f"p{pct}_seconds"] = _round(percentile(e2e, pct), 2)
        result[f"server_p{pct}_seconds"] = _round(percentile(server, pct), 2)
    for conversion in processed:
        fmt = conversion["format"]
        result["by_format"][fmt] = result["by_format"].get(fmt, 0) + 1
    return result


def capacity_from_steps(steps: Sequence[dict]) -> int:
    """The users of the last step that holds before the first that breaks (0 if the first breaks)."""
    held = 0
    for step in steps:
        if not step["passed"]:
            break
        held = step["users"]
    return held
