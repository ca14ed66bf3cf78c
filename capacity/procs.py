"""The memory of a local ``comprimemelo serve``: its web (gunicorn master and
workers) and worker processes, sampled over time, and the trend of those samples.

``comprimemelo serve`` starts ``comprimemelo web`` (gunicorn: a master that forks
the web workers) and ``comprimemelo worker``; each role is that child process of
``serve`` and all its descendants.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import psutil

MB = 1e6
ROLES = ("web", "worker")
SECONDS_PER_MINUTE = 60.0


def role_of(cmdline: Sequence[str]) -> str | None:
    """``web`` or ``worker`` for a direct child of ``comprimemelo serve``, by its command line."""
    words = [word.rsplit("/", 1)[-1] for word in cmdline]
    for role in ROLES:
        if role in words:
            return role
    return None


def role_processes(serve_pid: int) -> dict[str, list[psutil.Process]]:
    """Each role's processes now: its child of ``serve`` and that child's descendants."""
    groups: dict[str, list[psutil.Process]] = {role: [] for role in ROLES}
    try:
        children = psutil.Process(serve_pid).children()
    except psutil.NoSuchProcess:
        return groups
    for child in children:
        try:
            role = role_of(child.cmdline())
            if role:
                groups[role] += [child, *child.children(recursive=True)]
        except psutil.NoSuchProcess:
            continue
    return groups


def rss_bytes(processes: Sequence[psutil.Process]) -> int:
    """The resident set of these processes, added up (processes that ended count 0)."""
    total = 0
    for process in processes:
        try:
            total += process.memory_info().rss
        except psutil.NoSuchProcess:
            pass
    return total


def peak_rss_bytes(process: psutil.Process) -> int:
    """The process's peak resident set so far (``VmHWM``), or 0 if unknown."""
    try:
        with open(f"/proc/{process.pid}/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def reset_peak_rss(process: psutil.Process) -> bool:
    """Start ``VmHWM`` again from the current RSS (Linux ``clear_refs`` 5), so the
    next reading is the peak of what follows, not of everything before (an
    argon2id hash at login alone takes 64 MiB). False if not permitted."""
    try:
        with open(f"/proc/{process.pid}/clear_refs", "w") as clear_refs:
            clear_refs.write("5")
        return True
    except OSError:
        return False


@dataclass
class RssSampler:
    """Samples the RSS of each role of a ``serve`` process every ``interval`` seconds, in a thread."""

    serve_pid: int
    interval: float = 5.0
    samples: list[dict] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="rss-sampler", daemon=True)
        self._started = time.monotonic()

    def sample(self) -> dict:
        groups = role_processes(self.serve_pid)
        row = {"t": round(time.monotonic() - self._started, 2)}
        for role in ROLES:
            row[f"{role}_rss_mb"] = round(rss_bytes(groups[role]) / MB, 2)
            row[f"{role}_processes"] = len(groups[role])
        self.samples.append(row)
        return row

    def _run(self) -> None:
        while not self._stop.is_set():
            self.sample()
            self._stop.wait(self.interval)

    def __enter__(self) -> RssSampler:
        self._started = time.monotonic()
        self._thread.start()
        return self

    def __exit__(self, *_exc) -> None:
        self._stop.set()
        self._thread.join()
        self.sample()


def slope_per_minute(times_s: Sequence[float], values: Sequence[float]) -> float | None:
    """The least-squares slope of ``values`` over time, per minute (``None`` under two points)."""
    if len(times_s) < 2 or len(times_s) != len(values):
        return None
    n = len(times_s)
    mean_t = sum(times_s) / n
    mean_v = sum(values) / n
    spread = sum((t - mean_t) ** 2 for t in times_s)
    if spread == 0:
        return None
    slope = sum((t - mean_t) * (v - mean_v) for t, v in zip(times_s, values)) / spread
    return slope * SECONDS_PER_MINUTE


def window_floors(samples: Sequence[dict], key: str, window_s: float) -> list[tuple[float, float]]:
    """(window start, lowest value) for each ``window_s``-second window of the samples.

    Memory held by requests in flight (an argon2 hash holds 64 MiB) makes RSS swing
    by hundreds of MB; what a leak raises is the floor it swings from.
    """
    floors: dict[int, float] = {}
    for row in samples:
        index = int(row["t"] // window_s)
        floors[index] = min(floors.get(index, row[key]), row[key])
    return [(index * window_s, value) for index, value in sorted(floors.items())]


def memory_trend(samples: Sequence[dict], key: str, edge_fraction: float = 0.1, window_s: float = 60.0) -> dict:
    """Start, middle and end (medians of the first, middle and last ``edge_fraction``
    of the samples), min, max, the least-squares slope in MB per minute, and the same
    for the floor (the lowest value of each ``window_s`` window), over the whole run
    and over its second half (after the warm-up: caches, allocator arenas)."""
    values = [row[key] for row in samples]
    times = [row["t"] for row in samples]
    if not values:
        return {}
    width = max(1, int(len(values) * edge_fraction))
    middle = len(values) // 2

    def median(part: Sequence[float]) -> float:
        ordered = sorted(part)
        mid = len(ordered) // 2
        return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2

    slope = slope_per_minute(times, values)
    floors = window_floors(samples, key, window_s)
    floor_slope = slope_per_minute([t for t, _ in floors], [v for _, v in floors])
    late = floors[len(floors) // 2:]
    late_slope = slope_per_minute([t for t, _ in late], [v for _, v in late])
    return {
        "start_mb": round(median(values[:width]), 1),
        "middle_mb": round(median(values[max(0, middle - width // 2): middle + width // 2 + 1]), 1),
        "end_mb": round(median(values[-width:]), 1),
        "min_mb": round(min(values), 1),
        "max_mb": round(max(values), 1),
        "slope_mb_per_min": None if slope is None else round(slope, 3),
        "floor_first_mb": round(floors[0][1], 1),
        "floor_last_mb": round(floors[-1][1], 1),
        "floor_slope_mb_per_min": None if floor_slope is None else round(floor_slope, 3),
        "floor_slope_second_half_mb_per_min": None if late_slope is None else round(late_slope, 3),
        "samples": len(values),
    }
