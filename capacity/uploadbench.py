"""``bench-upload``: a large upload in embedded mode (issue 8, target 5): the web
processes' peak RSS and the upload's MB/s on loopback, against the same body
streamed into a bare Flask endpoint under gunicorn with the same settings (which
reads and discards it) in the same run; then the worker's RSS while it
compresses files of growing size.

The body is sent over a raw socket in 1 MiB writes from a repeated block, so the
client costs little CPU and no memory.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
import uuid
from urllib.parse import urlsplit

import psutil
import requests

from capacity import targets
from capacity.api import ApiClient
from capacity.baseline import bare_server
from capacity.machine import machine_facts
from capacity.procs import MB, peak_rss_bytes, reset_peak_rss, role_processes, rss_bytes
from capacity.content import make_content

log = logging.getLogger("capacity")

SEND_BYTES = 1024 * 1024
RSS_SAMPLE_SECONDS = 0.1
WEB_PEAK_TARGET_MB = 150
UPLOAD_TARGET_MB_S = 200
WORKER_GROWTH_TARGET_MB = 50  # "flat": the largest file's peak within this of the smallest's
PROCESSED_TIMEOUT_SECONDS = 900
PROCESSED_POLL_SECONDS = 0.2
RESPONSE_TIMEOUT_SECONDS = 900


def multipart_parts(size: int, fmt: str) -> tuple[bytes, bytes, str]:
    """The multipart preamble and epilogue around a ``size``-byte file field, and the content type."""
    boundary = uuid.uuid4().hex
    head = (f'--{boundary}\r\nContent-Disposition: form-data; name="newFormat"\r\n\r\n{fmt}\r\n'
            f'--{boundary}\r\nContent-Disposition: form-data; name="fileName"; filename="big.bin"\r\n'
            "Content-Type: application/octet-stream\r\n\r\n").encode()
    tail = f"\r\n--{boundary}--\r\n".encode()
    return head, tail, f"multipart/form-data; boundary={boundary}"


def post_streamed(url: str, size: int, fmt: str, token: str | None, block: bytes) -> tuple[int, bytes, float]:
    """POST a multipart body with a ``size``-byte file made of ``block`` repeated; (status, body, seconds)."""
    parts = urlsplit(url)
    head, tail, content_type = multipart_parts(size, fmt)
    headers = [f"POST {parts.path} HTTP/1.1", f"Host: {parts.netloc}", f"Content-Type: {content_type}",
               f"Content-Length: {len(head) + size + len(tail)}", "Connection: close"]
    if token:
        headers.append(f"Authorization: Bearer {token}")
    started = time.perf_counter()
    with socket.create_connection((parts.hostname, parts.port), timeout=RESPONSE_TIMEOUT_SECONDS) as sock:
        try:
            sock.sendall(("\r\n".join(headers) + "\r\n\r\n").encode() + head)
            view = memoryview(block)
            left = size
            while left:
                piece = view[: min(left, len(block))]
                sock.sendall(piece)
                left -= len(piece)
            sock.sendall(tail)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server answered early (e.g. 413) and closed: read its answer
        response = bytearray()
        while chunk := sock.recv(65536):
            response += chunk
    seconds = time.perf_counter() - started
    status = int(response.split(b" ", 2)[1]) if response else 0
    return status, bytes(response.partition(b"\r\n\r\n")[2]), seconds


class PeakSampler:
    """The highest RSS of a set of processes (found anew each sample), sampled in a thread."""

    def __init__(self, find) -> None:
        self._find = find
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, rss_bytes(self._find()))
            self._stop.wait(RSS_SAMPLE_SECONDS)

    def __enter__(self) -> PeakSampler:
        self._thread.start()
        return self

    def __exit__(self, *_exc) -> None:
        self._stop.set()
        self._thread.join()


def _web_processes(serve_pid: int) -> list[psutil.Process]:
    return role_processes(serve_pid)["web"]


def _wait_processed(client: ApiClient, task_id: int) -> dict:
    return client.wait_finished(task_id, timeout=PROCESSED_TIMEOUT_SECONDS, poll_seconds=PROCESSED_POLL_SECONDS)


def run(base_url: str, service: dict, *, size: int, worker_sizes: list[int], fmt: str, rounds: int,
        command: str, notes: list[str]) -> dict:
    """Measure; return the report summary (see ``capacity.targets``)."""
    machine = machine_facts()
    serve_pid = service["serve_pid"]
    block = make_content(SEND_BYTES, seed=7)
    client = ApiClient(requests.Session(), base_url)
    username = f"cap{uuid.uuid4().hex[:8]}-up"
    client.signup(username)
    token = client.login(username)
    web_idle_mb = {p.pid: round(p.memory_info().rss / MB, 1) for p in _web_processes(serve_pid)}
    uploads, bare_uploads, worker_rows = [], [], []
    with bare_server(service) as (bare_url, bare_process):
        bare_children = psutil.Process(bare_process.pid).children()
        for round_index in range(rounds):
            for side in (("service", "bare") if round_index % 2 == 0 else ("bare", "service")):
                if side == "bare":
                    with PeakSampler(lambda: bare_children) as peak:
                        status, _body, seconds = post_streamed(bare_url + "/upload", size, fmt, None, block)
                    bare_uploads.append({"status": status, "seconds": round(seconds, 3),
                                         "mb_s": round(size / MB / seconds, 1), "peak_rss_mb": round(peak.peak / MB, 1)})
                    log.info("bare upload: %s", bare_uploads[-1])
                    continue
                peaks_reset = all([reset_peak_rss(p) for p in _web_processes(serve_pid)])
                with PeakSampler(lambda: _web_processes(serve_pid)) as peak:
                    status, body, seconds = post_streamed(base_url + "/api/tasks", size, fmt, token, block)
                row = {"status": status, "seconds": round(seconds, 3), "mb_s": round(size / MB / seconds, 1),
                       "web_peak_rss_sampled_mb": round(peak.peak / MB, 1),
                       "web_vmhwm_mb": {p.pid: round(peak_rss_bytes(p) / MB, 1)
                                        for p in _web_processes(serve_pid)},
                       "vmhwm_reset_before_upload": peaks_reset}
                uploads.append(row)
                log.info("service upload: %s", row)
                if status == 201:
                    task_id = int(body.split(b'"id":', 1)[1].split(b",", 1)[0])
                    _wait_processed(client, task_id)
                    client.delete_task(task_id)
    for file_size in worker_sizes:
        worker = role_processes(serve_pid)["worker"]
        before = rss_bytes(worker)
        with PeakSampler(lambda: role_processes(serve_pid)["worker"]) as peak:
            status, body, _seconds = post_streamed(base_url + "/api/tasks", file_size, fmt, token, block)
            task = _wait_processed(client, int(body.split(b'"id":', 1)[1].split(b",", 1)[0])) \
                if status == 201 else {"status": f"HTTP {status}"}
        worker_rows.append({"file_mb": round(file_size / MB, 1), "status": task["status"],
                            "worker_rss_before_mb": round(before / MB, 1), "worker_peak_rss_mb": round(peak.peak / MB, 1)})
        log.info("worker: %s", worker_rows[-1])
        if status == 201:
            client.delete_task(task["id"])
    service_mb_s = targets.median([row["mb_s"] for row in uploads if row["status"] == 201])
    bare_mb_s = targets.median([row["mb_s"] for row in bare_uploads])
    web_peak = max((max(row["web_vmhwm_mb"].values(), default=0) for row in uploads), default=None)
    growth = (worker_rows[-1]["worker_peak_rss_mb"] - worker_rows[0]["worker_peak_rss_mb"]) if worker_rows else None
    checks = [
        targets.check(f"web peak RSS, {size / 2**30:g} GiB upload", web_peak, "MB",
                      baseline=max(web_idle_mb.values(), default=None), baseline_name="web worker RSS before",
                      target=f"< {WEB_PEAK_TARGET_MB} MB", met=targets.at_most(web_peak, WEB_PEAK_TARGET_MB - 0.1)),
        targets.check("upload speed on loopback", service_mb_s, "MB/s", baseline=bare_mb_s,
                      baseline_name="bare gunicorn endpoint reading and discarding the same body",
                      ratio_value=targets.ratio(service_mb_s, bare_mb_s), target=f"≥ {UPLOAD_TARGET_MB_S} MB/s",
                      met=targets.at_least(service_mb_s, UPLOAD_TARGET_MB_S)),
        targets.check(f"worker peak RSS growth, {worker_rows[0]['file_mb'] if worker_rows else '?'} MB → "
                      f"{worker_rows[-1]['file_mb'] if worker_rows else '?'} MB file", growth, "MB",
                      target=f"≤ {WORKER_GROWTH_TARGET_MB} MB (flat)",
                      met=targets.at_most(growth, WORKER_GROWTH_TARGET_MB)),
        targets.check("failed uploads or tasks",
                      sum(row["status"] != 201 for row in uploads) + sum(r["status"] != "processed" for r in worker_rows),
                      "", target="0", met=all(row["status"] == 201 for row in uploads)
                      and all(r["status"] == "processed" for r in worker_rows)),
    ]
    return {
        "mode": "bench-upload", "title": "Uploads stream: web RSS and MB/s for a large upload, worker RSS (target 5)",
        "command": command, "machine": machine,
        "configuration": {"service": service, "upload_bytes": size, "format": fmt, "rounds": rounds,
                          "worker_file_bytes": worker_sizes,
                          "client": "raw socket, Content-Length, 1 MiB writes of one repeated block",
                          "rss": "web: VmHWM (peak) of each web process after the upload, reset just before it "
                                 "(clear_refs; the login's argon2id hash had set it), and the sum of the web "
                                 f"processes sampled every {RSS_SAMPLE_SECONDS}s; worker: worker process RSS "
                                 f"sampled every {RSS_SAMPLE_SECONDS}s until processed"},
        "results": {"web_idle_rss_mb": web_idle_mb, "service_uploads": uploads, "bare_uploads": bare_uploads,
                    "worker_by_file_size": worker_rows},
        "checks": checks, "notes": notes,
    }
