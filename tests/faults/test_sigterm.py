"""SIGTERM to the web and to the worker (a rolling update, a scale-in): the
request in flight finishes, the task in flight finishes, nothing is left
half-written and nothing is left ``processing``."""

from __future__ import annotations

import http.client
import os
import signal
import subprocess
import time

import pytest
import requests

from tests.archives import read_members
from tests.faults.conftest import wait_for, worker_id

pytestmark = pytest.mark.e2e

UPLOAD_BYTES = 400_000
UPLOAD_CHUNKS = 20
CHUNK_PAUSE_SECONDS = 0.1
# Under gunicorn's graceful timeout (30 s).
STOP_TIMEOUT_SECONDS = 25
# Over the worker's shutdown grace and release wait (20 + 5 s).
WORKER_STOP_TIMEOUT_SECONDS = 40
BOUNDARY = "comprimemelo-faults-boundary"


def multipart_parts(filename: str, fmt: str) -> tuple[bytes, bytes]:
    head = (
        f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"newFormat\"\r\n\r\n{fmt}\r\n"
        f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"fileName\"; filename=\"{filename}\"\r\n"
        "Content-Type: application/octet-stream\r\n\r\n"
    ).encode()
    return head, f"\r\n--{BOUNDARY}--\r\n".encode()


def wait_exit(process, timeout: float = STOP_TIMEOUT_SECONDS) -> int:
    try:
        return process.popen.wait(timeout)
    except subprocess.TimeoutExpired:
        raise AssertionError(f"still running {timeout}s after SIGTERM:\n{process.output()[-3000:]}") from None


def test_sigterm_to_the_web_lets_a_slow_upload_finish(deployment, tmp_path):
    stack = deployment()
    web = stack.start_web()
    client = stack.client("rolling")
    payload = os.urandom(UPLOAD_BYTES)
    head, tail = multipart_parts("slow.bin", "zip")
    connection = http.client.HTTPConnection("127.0.0.1", stack.port, timeout=60)
    connection.putrequest("POST", "/api/tasks")
    connection.putheader("Authorization", client.http.headers["Authorization"])
    connection.putheader("Content-Type", f"multipart/form-data; boundary={BOUNDARY}")
    connection.putheader("Content-Length", str(len(head) + len(payload) + len(tail)))
    connection.endheaders()
    connection.send(head)
    step = len(payload) // UPLOAD_CHUNKS
    for index in range(UPLOAD_CHUNKS):
        connection.send(payload[index * step:(index + 1) * step])
        if index == UPLOAD_CHUNKS // 4:
            web.signal(signal.SIGTERM)  # the master and its workers, as systemd does
        time.sleep(CHUNK_PAUSE_SECONDS)
    connection.send(tail)
    response = connection.getresponse()
    body = response.read()
    assert response.status == 201, body
    wait_exit(web)  # the exit status has a test of its own, below
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{stack.base_url}/healthz", timeout=5)

    (row,) = stack.rows().values()
    assert row["status"] == "uploaded"
    (original,) = stack.local_files("original")
    assert original.read_bytes() == payload, "the original was stored whole"
    assert stack.incoming_leftovers() == []


def test_sigterm_to_the_web_exits_cleanly(deployment):
    stack = deployment()
    web = stack.start_web()
    web.signal(signal.SIGTERM)
    assert wait_exit(web) == 0, web.output()[-3000:]


def test_sigterm_to_the_worker_finishes_the_task_in_flight_and_takes_no_more(deployment, tmp_path):
    temp = tmp_path / "worker-temp"
    temp.mkdir()
    stack = deployment(temp_dir=str(temp))
    stack.start_web()
    client = stack.client("scalein")
    slow = tmp_path / "slow.bin"
    slow.write_bytes(os.urandom(2 * 1024 * 1024))  # about a second at xz -9
    with open(slow, "rb") as handle:
        response = client.http.post(
            f"{stack.base_url}/api/tasks", files={"fileName": ("slow.bin", handle)},
            data={"newFormat": "tar.xz", "level": "9"}, timeout=60,
        )
    assert response.status_code == 201, response.text
    in_flight = response.json()["id"]
    small = tmp_path / "queued.txt"
    small.write_bytes(b"waits for the next worker " * 40)
    queued = client.upload(small, "zip")["id"]

    first = stack.start_worker()
    first_id = worker_id(first)
    wait_for(lambda: stack.rows()[in_flight]["lease_owner"] == first_id, 30, "the worker to take the task")
    first.signal(signal.SIGTERM)
    assert wait_exit(first, WORKER_STOP_TIMEOUT_SECONDS) == 0, first.output()[-3000:]

    rows = stack.rows()
    log = first.output()
    if rows[in_flight]["status"] == "processed":  # finished within the shutdown grace
        assert log.index("received SIGTERM") < log.index(f"task {in_flight} processed"), "it was in flight"
        assert rows[in_flight]["attempts"] == 1, rows
        assert len(stack.local_files("archive")) == 1
    else:  # a very loaded machine: released, its attempt given back
        assert rows[in_flight]["status"] == "uploaded" and rows[in_flight]["attempts"] == 0, rows
        assert f"task {in_flight} released on shutdown" in log
        assert stack.local_files("archive") == []
    assert rows[queued]["status"] == "uploaded" and rows[queued]["attempts"] == 0, "no new task after SIGTERM"
    assert not [row for row in rows.values() if row["status"] == "processing"]
    assert list(temp.iterdir()) == [], "the worker left nothing in its temp dir"
    assert stack.incoming_leftovers() == []

    stack.start_worker()
    finished = client.wait_finished([in_flight, queued], timeout=60)
    assert finished[queued]["status"] == "processed"
    assert read_members(client.download(finished[in_flight]["compressed_url"]), "tar.xz") == {
        "slow.bin": slow.read_bytes()
    }


def test_sigterm_past_the_grace_releases_the_task_for_another_worker(deployment, tmp_path):
    """A task longer than the shutdown grace is given back, its attempt refunded,
    its partial output gone, and the next worker makes the archive."""
    temp = tmp_path / "worker-temp"
    temp.mkdir()
    stack = deployment(temp_dir=str(temp), shutdown_grace_seconds="0.2")
    stack.start_web()
    client = stack.client("released")
    slow = tmp_path / "slow.bin"
    slow.write_bytes(os.urandom(6 * 1024 * 1024))  # seconds at xz -9: far past the 0.2 s grace
    with open(slow, "rb") as handle:
        response = client.http.post(
            f"{stack.base_url}/api/tasks", files={"fileName": ("slow.bin", handle)},
            data={"newFormat": "tar.xz", "level": "9"}, timeout=60,
        )
    assert response.status_code == 201, response.text
    task_id = response.json()["id"]

    first = stack.start_worker()
    first_id = worker_id(first)
    wait_for(lambda: stack.rows()[task_id]["lease_owner"] == first_id, 30, "the worker to take the task")
    first.signal(signal.SIGTERM)
    assert wait_exit(first, WORKER_STOP_TIMEOUT_SECONDS) == 0, first.output()[-3000:]

    row = stack.rows()[task_id]
    assert row["status"] == "uploaded" and row["attempts"] == 0 and row["lease_owner"] is None, row
    assert f"task {task_id} released on shutdown" in first.output()
    assert stack.local_files("archive") == [] and list(temp.iterdir()) == []

    stack.start_worker()
    finished = client.wait_finished([task_id], timeout=120)[task_id]
    assert finished["status"] == "processed" and finished["attempts"] == 1
    assert read_members(client.download(finished["compressed_url"]), "tar.xz") == {"slow.bin": slow.read_bytes()}
