"""``comprimemelo serve`` as a user runs it: a real gunicorn process and worker over HTTP."""

from __future__ import annotations

import os
import signal

import pytest

from tests.archives import read_members
from tests.processes import Client, serving

FORMATS = ["zip", "7z", "tar.gz", "tar.bz2", "tar.xz", "tar.zst"]
pytestmark = pytest.mark.e2e


@pytest.fixture
def served(tmp_path, database_url):
    with serving(tmp_path, COMPRIMEMELO_DATABASE_URL=database_url) as running:
        yield running


def test_serve_compresses_every_format_end_to_end(served, tmp_path):
    base_url, process = served
    original = tmp_path / "données ✓.bin"
    original.write_bytes(os.urandom(100_000) + b"text " * 50_000)
    client = Client(base_url)
    client.signup_and_login("endtoend")
    ids = {client.upload(original, fmt)["id"]: fmt for fmt in FORMATS}
    finished = client.wait_finished(ids)
    for task_id, fmt in ids.items():
        task = finished[task_id]
        assert task["status"] == "processed", task
        assert 0 < task["size_compressed"] < task["size_original"]
        archive = client.download(task["compressed_url"])
        assert len(archive) == task["size_compressed"]
        assert read_members(archive, fmt) == {original.name: original.read_bytes()}, fmt
        assert client.download(task["original_url"]) == original.read_bytes()


def test_serve_prints_its_url_and_stops_cleanly_on_ctrl_c(served):
    base_url, process = served
    process.signal(signal.SIGINT)
    assert process.popen.wait(45) == 0
    assert f"running at {base_url}" in process.output()
