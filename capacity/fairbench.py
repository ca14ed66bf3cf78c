"""``bench-fairness``: how long one user's single task waits behind another
user's flood of small tasks, against the same task on an idle service, and
against first-come-first-served claims (an earlier commit's code) in the same
run (issue 18: one user's 500 queued tasks must not delay another user's task
by more than one task's time per worker slot).

Every measurement starts a fresh ``comprimemelo serve`` (web and worker, as
shipped). The flooder uploads ``flood`` tasks while serve's worker process is
paused (SIGSTOP), so all of them are queued; the worker resumes (SIGCONT) and
the other user uploads one task at once. Its wait is the server's
``processed_at`` minus the client's clock at the 201 (same machine, same
clock). The idle measurement follows the same steps with no flood.

One task's time per slot is measured on the flood itself: worker concurrency
divided by the rate at which the flood's tasks were processed once the worker
resumed. The target: the wait behind the flood exceeds the idle wait by at
most that.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import io
import logging
import signal
import subprocess
import tarfile
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import psutil
import requests

from capacity import procs, targets
from capacity.api import ApiClient
from capacity.content import make_content
from capacity.e2e import parse_timestamp
from capacity.machine import REPO, machine_facts
from capacity.server import local_server

log = logging.getLogger("capacity")

UPLOAD_THREADS = 4
POLL_SECONDS = 0.02
WAIT_TIMEOUT_SECONDS = 900
# Flood tasks timed to measure the per-slot task time (fewer if the flood is smaller).
RATE_SAMPLE = 50
SIDES = ("fair", "fifo")
# Each user may queue the whole flood: the per-user quotas are not what is measured.
UNLIMITED_QUOTAS = {"QUOTA_LIVE_TASKS": "0", "QUOTA_TASKS_PER_HOUR": "0"}


@contextlib.contextmanager
def code_of(revision: str) -> Iterator[Path]:
    """The ``src`` folder of ``revision`` of this repository, extracted to a
    temporary folder (``git archive``) to run instead of the installed code."""
    archive = subprocess.run(
        ["git", "-C", str(REPO), "archive", "--format=tar", revision, "src"],
        capture_output=True, check=True,
    ).stdout
    with tempfile.TemporaryDirectory(prefix="capacity-fifo-") as folder:
        with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
            tar.extractall(folder, filter="data")
        yield Path(folder) / "src"


def _worker_processes(serve_pid: int) -> list[psutil.Process]:
    workers = procs.role_processes(serve_pid)["worker"]
    if not workers:
        raise RuntimeError("comprimemelo serve has no worker process")
    return workers


def _signal_all(processes: list[psutil.Process], signum: int) -> None:
    for process in processes:
        with contextlib.suppress(psutil.NoSuchProcess):
            process.send_signal(signum)


def _client(base_url: str, name: str) -> ApiClient:
    client = ApiClient(requests.Session(), base_url)
    username = f"cap{uuid.uuid4().hex[:8]}-{name}"
    client.signup(username)
    client.login(username)
    return client


def _upload_flood(base_url: str, token: str, count: int, content: bytes, fmt: str) -> list[int]:
    local = threading.local()

    def upload(index: int) -> int:
        if not hasattr(local, "client"):
            local.client = ApiClient(requests.Session(), base_url)
            local.client.token = token
        return local.client.upload(f"flood-{index:04d}.bin", content, fmt)["id"]

    with concurrent.futures.ThreadPoolExecutor(UPLOAD_THREADS) as pool:
        return list(pool.map(upload, range(count)))


def _flood_finish_times(client: ApiClient, count: int, sample: int) -> list[float]:
    """``processed_at`` of the flood's tasks, once ``sample`` of them are processed."""
    deadline = time.monotonic() + WAIT_TIMEOUT_SECONDS
    while True:
        times = sorted(parse_timestamp(task["processed_at"]) for task in client.list_tasks(limit=count)
                       if task["status"] == "processed")
        if len(times) >= sample:
            return times
        if time.monotonic() > deadline:
            raise TimeoutError(f"{len(times)} of {sample} flood tasks processed in {WAIT_TIMEOUT_SECONDS}s")
        time.sleep(POLL_SECONDS * 10)


def slot_seconds(finish_times: list[float], resumed_at: float, concurrency: int, sample: int) -> float | None:
    """One task's time per worker slot: ``concurrency`` over the rate at which
    the first ``sample`` flood tasks finished after ``resumed_at``."""
    times = sorted(t for t in finish_times if t >= resumed_at)[:sample]
    if len(times) < 2:
        return None
    rate = len(times) / (times[-1] - resumed_at)
    return concurrency / rate


def measure(kind: str, settings: dict[str, str], *, code: Path | None, flood: int, content: bytes,
            fmt: str) -> tuple[dict, dict]:
    """One fresh server, one optional flood, the other user's single task:
    the measurement, and the server's configuration."""
    with local_server(kind, settings, code=code) as (base_url, service):
        flooder, other = _client(base_url, "flooder"), _client(base_url, "other")
        concurrency = service["worker_concurrency"]
        workers = _worker_processes(service["serve_pid"])
        _signal_all(workers, signal.SIGSTOP)
        try:
            flood_ids = _upload_flood(base_url, flooder.token, flood, content, fmt) if flood else []
        finally:
            _signal_all(workers, signal.SIGCONT)
        resumed_at = time.time()
        task = other.upload("single.bin", content, fmt)
        answered = time.time()
        done = other.wait_finished(task["id"], timeout=WAIT_TIMEOUT_SECONDS, poll_seconds=POLL_SECONDS)
        processed_at = parse_timestamp(done["processed_at"])
        row = {"flood": flood, "status": done["status"], "upload_seconds": round(answered - resumed_at, 4),
               "wait_seconds": round(processed_at - answered, 4)}
        if flood:
            sample = min(RATE_SAMPLE, flood)
            finished = _flood_finish_times(flooder, flood, sample)
            row["flood_tasks_finished_while_waiting"] = sum(answered <= t <= processed_at for t in finished)
            slot = slot_seconds(finished, resumed_at, concurrency, sample)
            row["task_seconds_per_slot"] = slot and round(slot, 4)
            row["flood_tasks"] = len(flood_ids)
        return row, service


def run(kind: str, settings: dict[str, str], *, flood: int, rounds: int, file_size: int, fmt: str,
        fifo_revision: str | None, command: str, notes: list[str]) -> dict:
    """Measure; return the report summary (see ``capacity.targets``)."""
    machine = machine_facts()
    settings = {**UNLIMITED_QUOTAS, **settings}
    content = make_content(file_size)
    sides = SIDES if fifo_revision else SIDES[:1]
    rows: dict[str, list[dict]] = {side: [] for side in sides}
    service: dict = {}
    with contextlib.ExitStack() as stack:
        code = {"fair": None}
        if fifo_revision:
            code["fifo"] = stack.enter_context(code_of(fifo_revision))
        for round_index in range(rounds):
            for side in sides if round_index % 2 == 0 else sides[::-1]:
                for count in (0, flood):
                    row, service = measure(kind, settings, code=code[side], flood=count, content=content, fmt=fmt)
                    row.update(side=side, round=round_index + 1)
                    rows[side].append(row)
                    log.info("round %d %-4s flood %3d: wait %.3fs%s", round_index + 1, side, count,
                             row["wait_seconds"],
                             f", {row['flood_tasks_finished_while_waiting']} flood tasks finished meanwhile, "
                             f"{row['task_seconds_per_slot']}s per task per slot" if count else "")
    return _summary(rows, service=service, flood=flood, file_size=file_size, fmt=fmt, rounds=rounds,
                    fifo_revision=fifo_revision, machine=machine, command=command, notes=notes)


def _median(rows: list[dict], key: str, flood: bool) -> float | None:
    return targets.median([row[key] for row in rows if bool(row["flood"]) == flood and row.get(key) is not None])


def _summary(rows: dict[str, list[dict]], *, service: dict, flood: int, file_size: int, fmt: str, rounds: int,
             fifo_revision: str | None, machine: dict, command: str, notes: list[str]) -> dict:
    concurrency = service["worker_concurrency"]
    fair = rows["fair"]
    alone, behind = _median(fair, "wait_seconds", False), _median(fair, "wait_seconds", True)
    slot = _median(fair, "task_seconds_per_slot", True)
    extra = None if alone is None or behind is None else behind - alone
    meanwhile = max((row["flood_tasks_finished_while_waiting"] for row in fair if row["flood"]), default=None)
    checks = [
        targets.check(f"wait behind {flood} tasks of another user", behind, "s", baseline=alone,
                      baseline_name="the same task on an idle service", ratio_value=targets.ratio(behind, alone),
                      target=f"≤ idle + one task's time per slot ({slot:.3f} s)" if slot else "≤ idle + one task",
                      met=None if extra is None or slot is None else extra <= slot),
        targets.check("flood tasks finished while it waited (most of any round)", meanwhile, "",
                      target=f"≤ worker slots ({concurrency})",
                      met=None if meanwhile is None else meanwhile <= concurrency),
        targets.check("failed tasks", sum(row["status"] != "processed" for side in rows.values() for row in side), "",
                      target="0", met=all(row["status"] == "processed" for side in rows.values() for row in side)),
    ]
    if "fifo" in rows:
        fifo_behind = _median(rows["fifo"], "wait_seconds", True)
        fifo = targets.check(
            f"the same wait with first-come-first-served claims ({fifo_revision})", fifo_behind, "s",
            baseline=behind, baseline_name="fair claims", ratio_value=targets.ratio(fifo_behind, behind),
            target="none: the wait fairness removes", met=None)
        checks.insert(1, {**fifo, "verdict": "reference"})
    return {
        "mode": "bench-fairness",
        "title": "Fairness: one user's task behind another user's flood",
        "command": command, "machine": machine,
        "configuration": {
            "service": service, "flood_tasks": flood, "file_bytes": file_size, "format": fmt, "rounds": rounds,
            "content": "capacity.content.make_content (3/4 word salad, 1/4 random), the same file for every task",
            "fifo_baseline": f"the code of {fifo_revision} (git archive), run by the same interpreter"
                             if fifo_revision else "not run",
            "procedure": f"a fresh serve per measurement; worker paused (SIGSTOP) while the flood is uploaded by "
                         f"{UPLOAD_THREADS} threads, resumed (SIGCONT), then the other user's task is uploaded and "
                         f"polled every {POLL_SECONDS}s; idle and flood, fair and FIFO interleaved",
            "quotas": "live tasks and tasks per hour lifted (0), so one user can queue the flood",
        },
        "results": {
            "idle_wait_median_s": alone, "flood_wait_median_s": behind,
            "extra_wait_median_s": extra and round(extra, 4), "task_seconds_per_slot_median": slot,
            **({"fifo_idle_wait_median_s": _median(rows["fifo"], "wait_seconds", False),
                "fifo_flood_wait_median_s": _median(rows["fifo"], "wait_seconds", True)} if "fifo" in rows else {}),
            "measurements": [row for side in rows.values() for row in side],
        },
        "checks": checks, "notes": notes,
    }
