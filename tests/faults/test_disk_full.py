"""A full disk, in the worker's temp dir or under the local storage: a clear
error, nothing half-written left behind, and never a partial archive served as
complete.

The disk is a tmpfs of a few hundred KiB when this process may mount one;
otherwise the processes that write to it get ``RLIMIT_FSIZE`` (``SIGXFSZ``
ignored), so a write past the limit fails with ``EFBIG`` instead of ``ENOSPC``.
Either way the sizes below make the archive, not the staged input, overflow.
"""

from __future__ import annotations

import os
import resource
import signal
import subprocess
from pathlib import Path

import pytest

from tests.faults.conftest import assert_error_json

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]

# The staged input fits; the archive (random bytes, plus tar and gzip framing) does not.
INPUT_BYTES = 400_000
DISK_BYTES = INPUT_BYTES + 16
DISK_FULL_MESSAGES = ("No space left on device", "File too large")
MAX_ATTEMPTS = "2"


class SmallDisk:
    """A folder that holds about ``capacity`` bytes (see the module docstring)."""

    def __init__(self, path: Path, capacity: int) -> None:
        self.path = path
        self.capacity = capacity
        path.mkdir(parents=True, exist_ok=True)
        try:
            mount = subprocess.run(
                ["mount", "-t", "tmpfs", "-o", f"size={capacity}", "tmpfs", str(path)],
                capture_output=True,
            )
        except OSError:  # no mount command at all
            self.mounted = False
        else:
            self.mounted = mount.returncode == 0

    def preexec_fn(self):
        """For the processes that write to the disk: nothing on a tmpfs, a file size limit otherwise."""
        if self.mounted:
            return None
        capacity = self.capacity

        def limit_file_size() -> None:
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
            resource.setrlimit(resource.RLIMIT_FSIZE, (capacity, capacity))

        return limit_file_size

    def files(self) -> list[Path]:
        return [path for path in self.path.rglob("*") if path.is_file()]

    def release(self) -> None:
        if self.mounted:
            subprocess.run(["umount", "--lazy", str(self.path)], check=False)


@pytest.fixture
def small_disk(tmp_path):
    disks: list[SmallDisk] = []

    def make(path: Path, capacity: int = DISK_BYTES) -> SmallDisk:
        disks.append(SmallDisk(path, capacity))
        return disks[-1]

    yield make
    for disk in disks:
        disk.release()


def test_full_worker_temp_dir_fails_the_task_and_serves_no_partial_archive(
    postgres_url, deployment, small_disk, tmp_path
):
    disk = small_disk(tmp_path / "worker-temp")
    stack = deployment(database_url=postgres_url, temp_dir=str(disk.path), max_attempts=MAX_ATTEMPTS)
    stack.start_web()
    worker = stack.start_worker(preexec_fn=disk.preexec_fn())
    client = stack.client("diskfull")
    big = tmp_path / "random.bin"
    big.write_bytes(os.urandom(INPUT_BYTES))
    task_id = client.upload(big, "tar.gz")["id"]

    failed = client.wait_finished([task_id], timeout=60)[task_id]
    assert failed["status"] == "failed", failed
    assert failed["attempts"] == int(MAX_ATTEMPTS)
    assert failed["error"].startswith("not enough disk space to make the archive ("), failed["error"]
    assert any(message in failed["error"] for message in DISK_FULL_MESSAGES), failed["error"]
    assert failed["compressed_url"] is None
    response = client.http.get(f"{stack.base_url}/api/tasks/{task_id}/compressed", timeout=30)
    assert_error_json(response, 409)
    response = client.http.get(f"{stack.base_url}/api/files/random.bin.tar.gz", timeout=30)
    assert_error_json(response, 404)
    assert stack.local_files("archive") == [], "no archive, complete or partial, in storage"
    assert disk.files() == [], "the worker cleaned its temp dir"
    assert stack.incoming_leftovers() == []

    # The same worker process goes on with tasks that fit.
    small = tmp_path / "small.txt"
    small.write_bytes(b"fits on the disk " * 100)
    next_id = client.upload(small, "tar.gz")["id"]
    assert client.wait_finished([next_id], timeout=60)[next_id]["status"] == "processed"
    assert worker.popen.poll() is None


def test_full_storage_disk_refuses_the_upload_and_keeps_nothing(postgres_url, deployment, small_disk, tmp_path):
    stack = deployment(database_url=postgres_url)
    disk = small_disk(stack.files_dir, capacity=200_000)
    stack.start_web(preexec_fn=disk.preexec_fn())
    client = stack.client("storagefull")
    # Under the multipart parser's in-memory limit, so only the storage write meets the full disk.
    too_big = tmp_path / "too-big.bin"
    too_big.write_bytes(os.urandom(300_000))

    with open(too_big, "rb") as handle:
        response = client.http.post(
            f"{stack.base_url}/api/tasks", files={"fileName": ("too-big.bin", handle)},
            data={"newFormat": "zip"}, timeout=60,
        )
    assert_error_json(response, 503)
    assert stack.rows() == {}, "no task row for the refused upload"
    assert disk.files() == [], "no object and no partial file left in storage"

    fits = tmp_path / "fits.txt"
    fits.write_bytes(b"room again " * 1000)
    task_id = client.upload(fits, "zip")["id"]
    stack.start_worker()
    assert client.wait_finished([task_id], timeout=60)[task_id]["status"] == "processed"
