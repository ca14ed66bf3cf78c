"""``bench-e2e``: files per minute through the whole embedded service (upload,
queue, worker, storage, status) against the bare compression core on the same
files, and the time from the upload's 201 to ``processed`` against the file's own
compression time (issue 8, target 2).

Throughput: each round compresses the same batch of files with the core (as the
worker does: ``worker_concurrency`` files at a time, default threads) and sends
it through the service (uploaded by ``worker_concurrency`` clients, done when the
last is ``processed``), alternating which goes first.

Latency: one file at a time, so no queueing: the core's time for the file alone,
then its upload; the delay is the server's ``processed_at`` minus the client's
clock at the 201 (same machine, same clock), less that compression time.
"""

from __future__ import annotations

import concurrent.futures
import datetime as dt
import logging
import tempfile
import threading
import time
import uuid
from pathlib import Path

import requests

from capacity import targets
from capacity.api import ApiClient
from capacity.machine import machine_facts
from capacity.content import make_content
from capacity.stats import percentile

log = logging.getLogger("capacity")

DONE_POLL_SECONDS = 0.05
DONE_TIMEOUT_SECONDS = 600
FILES_PER_MINUTE_TARGET = 0.8
DELAY_TARGET_SECONDS = 0.25


def parse_timestamp(text: str) -> float:
    """The API's ISO 8601 time (``...Z``) as a POSIX timestamp."""
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def files_per_minute(files: int, seconds: float) -> float:
    return files / seconds * 60 if seconds > 0 else 0.0


def _core_batch(paths: list[Path], formats: list[str], concurrency: int, scratch: Path) -> tuple[float, list[float]]:
    from comprimemelo.compression import InputFile, compress

    def one(index: int) -> float:
        path = paths[index]
        result = compress([InputFile(path, path.name)], scratch / f"core-{index}.{formats[index]}", formats[index])
        return result.seconds

    started = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(concurrency) as pool:
        seconds = list(pool.map(one, range(len(paths))))
    return time.perf_counter() - started, seconds


def _wait_done(client: ApiClient, task_ids: list[int]) -> list[dict]:
    deadline = time.monotonic() + DONE_TIMEOUT_SECONDS
    pending, done = set(task_ids), {}
    while pending:
        for task in client.list_tasks(limit=len(task_ids) + 50):
            if task["id"] in pending and task["status"] in ("processed", "failed"):
                pending.discard(task["id"])
                done[task["id"]] = task
        if pending:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{len(pending)} tasks not processed in {DONE_TIMEOUT_SECONDS}s")
            time.sleep(DONE_POLL_SECONDS)
    return [done[task_id] for task_id in task_ids]


def _service_batch(base_url: str, token: str, paths: list[Path], formats: list[str],
                   concurrency: int) -> tuple[float, int]:
    local = threading.local()

    def upload(index: int) -> int:
        if not hasattr(local, "client"):
            local.client = ApiClient(requests.Session(), base_url)
            local.client.token = token
        return local.client.upload(paths[index].name, paths[index].read_bytes(), formats[index])["id"]

    started = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(concurrency) as pool:
        ids = list(pool.map(upload, range(len(paths))))
    watcher = ApiClient(requests.Session(), base_url)
    watcher.token = token
    tasks = _wait_done(watcher, ids)
    seconds = time.perf_counter() - started
    for task_id in ids:
        watcher.delete_task(task_id)
    return seconds, sum(task["status"] != "processed" for task in tasks)


def _latency_one(base_url: str, token: str, path: Path, fmt: str, scratch: Path) -> dict:
    from comprimemelo.compression import InputFile, compress

    core = compress([InputFile(path, path.name)], scratch / f"alone.{fmt}", fmt).seconds
    client = ApiClient(requests.Session(), base_url)
    client.token = token
    content = path.read_bytes()
    upload_started = time.time()
    task = client.upload(path.name, content, fmt)
    answered = time.time()
    while task["status"] not in ("processed", "failed"):
        time.sleep(DONE_POLL_SECONDS)
        task = client.get_task(task["id"])
    client.delete_task(task["id"])
    to_processed = parse_timestamp(task["processed_at"]) - answered if task["processed_at"] else None
    return {"format": fmt, "status": task["status"], "core_seconds": round(core, 4),
            "upload_seconds": round(answered - upload_started, 4),
            "created_to_processed_seconds": to_processed and round(to_processed, 4),
            "delay_seconds": to_processed and round(to_processed - core, 4)}


def run(base_url: str, service: dict, *, file_size: int, files: int, rounds: int, formats: list[str],
        latency_files: int, command: str, notes: list[str]) -> dict:
    """Measure; return the report summary (see ``capacity.targets``)."""
    machine = machine_facts()
    concurrency = service["worker_concurrency"]
    client = ApiClient(requests.Session(), base_url)
    username = f"cap{uuid.uuid4().hex[:8]}-e2e"
    client.signup(username)
    token = client.login(username)
    with tempfile.TemporaryDirectory(prefix="capacity-e2e-") as temp:
        folder = Path(temp)
        paths = []
        for index in range(files):
            path = folder / f"file-{index:03d}.bin"
            path.write_bytes(make_content(file_size, seed=1000 + index))
            paths.append(path)
        batch_formats = [formats[index % len(formats)] for index in range(files)]
        scratch = folder / "out"
        scratch.mkdir()
        log.info("warm-up: one file per format through the service")
        _service_batch(base_url, token, paths[: len(formats)], batch_formats[: len(formats)], concurrency)
        core_runs, service_runs, failed = [], [], 0
        for round_index in range(rounds):
            order = ("core", "service") if round_index % 2 == 0 else ("service", "core")
            for side in order:
                if side == "core":
                    seconds, _ = _core_batch(paths, batch_formats, concurrency, scratch)
                    core_runs.append(seconds)
                else:
                    seconds, bad = _service_batch(base_url, token, paths, batch_formats, concurrency)
                    service_runs.append(seconds)
                    failed += bad
                log.info("round %d %-7s %d files in %.2fs: %.0f files/min", round_index + 1, side, files,
                         seconds, files_per_minute(files, seconds))
        latency = [_latency_one(base_url, token, paths[index % files], formats[index % len(formats)], scratch)
                   for index in range(latency_files)]
    core_fpm = files_per_minute(files, targets.median(core_runs))
    service_fpm = files_per_minute(files, targets.median(service_runs))
    delays = [row["delay_seconds"] for row in latency if row["delay_seconds"] is not None]
    to_processed = [row["created_to_processed_seconds"] for row in latency
                    if row["created_to_processed_seconds"] is not None]
    core_alone = [row["core_seconds"] for row in latency]
    fpm_ratio = targets.ratio(service_fpm, core_fpm)
    delay_p95 = percentile(delays, 95)
    checks = [
        targets.check("files/min through the service", round(service_fpm, 1), "files/min",
                      baseline=round(core_fpm, 1), baseline_name="bare core, same files and concurrency",
                      ratio_value=fpm_ratio, target=f"≥ {FILES_PER_MINUTE_TARGET}× the core",
                      met=targets.at_least(fpm_ratio, FILES_PER_MINUTE_TARGET)),
        targets.check("201 → processed, p95", percentile(to_processed, 95), "s",
                      baseline=percentile(core_alone, 95), baseline_name="the file's compression time, p95",
                      target="p95 of (201 → processed − compression time) ≤ 0.25 s",
                      met=targets.at_most(delay_p95, DELAY_TARGET_SECONDS)),
        targets.check("201 → processed − compression time, p95", delay_p95, "s", target="≤ 0.25 s",
                      met=targets.at_most(delay_p95, DELAY_TARGET_SECONDS)),
        targets.check("failed tasks", failed + sum(row["status"] != "processed" for row in latency), "",
                      target="0", met=failed == 0 and all(row["status"] == "processed" for row in latency)),
    ]
    return {
        "mode": "bench-e2e", "title": "End to end: files/min through the service vs the bare core (target 2)",
        "command": command, "machine": machine,
        "configuration": {"service": service, "file_bytes": file_size, "files_per_batch": files,
                          "rounds": rounds, "formats": formats, "latency_files": latency_files,
                          "content": "capacity.content.make_content (3/4 word salad, 1/4 random), seed per file",
                          "core_baseline": f"compress() of the same files, {concurrency} at a time, default threads "
                                           "(what the worker does), in this process",
                          "client": f"{concurrency} upload threads (requests), then GET /api/tasks every "
                                    f"{DONE_POLL_SECONDS}s until all are processed; each batch's tasks deleted"},
        "results": {"core_batch_seconds": [round(s, 3) for s in core_runs],
                    "service_batch_seconds": [round(s, 3) for s in service_runs],
                    "core_files_per_minute": round(core_fpm, 1), "service_files_per_minute": round(service_fpm, 1),
                    "latency_p50_s": percentile(to_processed, 50), "latency_p95_s": percentile(to_processed, 95),
                    "delay_p50_s": percentile(delays, 50), "delay_p95_s": delay_p95,
                    "latency_files": latency},
        "checks": checks, "notes": notes,
    }
