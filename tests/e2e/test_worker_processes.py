"""Separate web and worker processes sharing one data dir: kill, restart, recover."""

from __future__ import annotations

import os
import time

import pytest

from tests.archives import read_members
from tests.processes import Client, Process, free_port, process_environment, wait_until_healthy

pytestmark = pytest.mark.e2e


@pytest.fixture
def stack(tmp_path, database_url):
    port = free_port()
    env = process_environment(tmp_path / "data", COMPRIMEMELO_DATABASE_URL=database_url,
                              COMPRIMEMELO_WORKER_CONCURRENCY="1")
    web = Process(["serve", "--no-worker", "--port", str(port)], env, tmp_path / "web.log")
    base_url = f"http://127.0.0.1:{port}"
    workers: list[Process] = []

    def start_worker() -> Process:
        worker = Process(["worker"], env, tmp_path / f"worker-{len(workers)}.log")
        workers.append(worker)
        return worker

    try:
        wait_until_healthy(base_url, web)
        yield base_url, start_worker, tmp_path / "data"
    finally:
        for worker in workers:
            worker.stop()
        web.stop()


def test_accepted_task_is_processed_when_a_worker_starts_later(stack, tmp_path):
    base_url, start_worker, _ = stack
    source = tmp_path / "later.txt"
    source.write_bytes(b"queued while no worker ran " * 100)
    client = Client(base_url)
    client.signup_and_login("later")
    task = client.upload(source, "tar.zst")
    time.sleep(1)
    assert client.task(task["id"])["status"] == "uploaded"
    start_worker()
    done = client.wait_finished([task["id"]])[task["id"]]
    assert done["status"] == "processed"
    assert read_members(client.download(done["compressed_url"]), "tar.zst") == {"later.txt": source.read_bytes()}


def test_killed_worker_task_is_processed_once(stack, tmp_path):
    base_url, start_worker, data_dir = stack
    source = tmp_path / "big.bin"
    source.write_bytes(os.urandom(24 * 1024 * 1024))
    client = Client(base_url)
    client.signup_and_login("killer")
    first = start_worker()
    task = client.upload(source, "tar.xz")
    deadline = time.monotonic() + 60
    while client.task(task["id"])["status"] != "processing":
        assert time.monotonic() < deadline, "task never started"
        time.sleep(0.05)
    first.kill()
    assert client.task(task["id"])["status"] == "processing"
    start_worker()
    done = client.wait_finished([task["id"]], timeout=240)[task["id"]]
    assert done["status"] == "processed", done
    assert done["attempts"] == 2
    assert read_members(client.download(done["compressed_url"]), "tar.xz") == {"big.bin": source.read_bytes()}
    archives = [p for p in (data_dir / "files").rglob("*") if p.is_file() and "archive" in p.parts]
    assert len(archives) == 1


def test_two_workers_on_one_machine_share_the_work_though_one_metrics_port(tmp_path, database_url):
    """The second worker finds the metrics port taken: a warning, and it works on."""
    port, metrics_port = free_port(), free_port()
    env = process_environment(tmp_path / "data", COMPRIMEMELO_DATABASE_URL=database_url,
                              COMPRIMEMELO_WORKER_CONCURRENCY="1",
                              COMPRIMEMELO_WORKER_METRICS_PORT=str(metrics_port))
    web = Process(["serve", "--no-worker", "--port", str(port)], env, tmp_path / "web.log")
    first = Process(["worker"], env, tmp_path / "worker-0.log")
    second = None
    try:
        base_url = f"http://127.0.0.1:{port}"
        wait_until_healthy(base_url, web)
        deadline = time.monotonic() + 60
        while "worker metrics at" not in first.output():
            assert time.monotonic() < deadline, first.output()
            time.sleep(0.2)
        second = Process(["worker"], env, tmp_path / "worker-1.log")
        while "worker metrics not served" not in second.output():
            assert second.popen.poll() is None, second.output()
            assert time.monotonic() < deadline, second.output()
            time.sleep(0.2)
        first.stop()  # only the second is left to do the work
        client = Client(base_url)
        client.signup_and_login("twoworkers")
        source = tmp_path / "both.txt"
        source.write_bytes(b"two workers, one port " * 100)
        task = client.upload(source, "zip")
        assert client.wait_finished([task["id"]])[task["id"]]["status"] == "processed"
        assert "Traceback" not in second.output()
    finally:
        for process in (second, first, web):
            if process is not None:
                process.stop()
