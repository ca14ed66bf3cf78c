"""The production configuration end to end: gunicorn web + two workers on
PostgreSQL, the Cloud Storage emulator and the Pub/Sub emulator."""

from __future__ import annotations

import os
import time
from urllib.parse import parse_qs, urlparse

import pytest
import sqlalchemy as sa

from tests.archives import read_members
from tests.processes import Client
from tests.stack import production_stack

FORMATS = ["zip", "7z", "tar.gz", "tar.bz2", "tar.xz", "tar.zst"]
pytestmark = [pytest.mark.e2e, pytest.mark.postgres]


@pytest.fixture
def stack(postgres_url, gcs_emulator_host, pubsub_emulator_host):
    with production_stack(
        database_url=postgres_url, gcs_host=gcs_emulator_host, pubsub_host=pubsub_emulator_host,
        lease_seconds="6", signed_url_seconds="120",
    ) as running:
        yield running


def follow_signed_redirect(client: Client, url_path: str) -> bytes:
    response = client.http.get(f"{client.base_url}{url_path}", allow_redirects=False, timeout=60)
    assert response.status_code == 302, response.text
    location = response.headers["Location"]
    query = parse_qs(urlparse(location).query)
    assert query["X-Goog-Algorithm"] == ["GOOG4-RSA-SHA256"]
    assert query["X-Goog-Expires"] == ["120"]
    assert query["response-content-disposition"][0].startswith("attachment; filename*=UTF-8''")
    fetched = client.http.get(location, timeout=60)  # the emulator serves signed URLs
    assert fetched.status_code == 200
    return fetched.content


def worker_holding(stack, task_id: int):
    """The worker process whose id (logged as it starts) holds the task's lease."""
    engine = sa.create_engine(stack.env["COMPRIMEMELO_DATABASE_URL"])
    try:
        with engine.connect() as connection:
            owner = connection.scalar(sa.text("SELECT lease_owner FROM tasks WHERE id = :id"), {"id": task_id})
    finally:
        engine.dispose()
    (holder,) = [worker for worker in stack.workers if f"worker {owner} started" in worker.output()]
    return holder


def test_every_format_is_processed_once_and_downloaded_by_signed_url(stack, tmp_path):
    original = tmp_path / "données ✓.bin"
    original.write_bytes(os.urandom(50_000) + b"text " * 20_000)
    client = Client(stack.base_url)
    client.signup_and_login("production")
    ids = {client.upload(original, fmt)["id"]: fmt for fmt in FORMATS}
    finished = client.wait_finished(ids, timeout=180)
    for task_id, fmt in ids.items():
        task = finished[task_id]
        assert task["status"] == "processed", (task, stack.logs())
        assert task["attempts"] == 1
        archive = follow_signed_redirect(client, task["compressed_url"])
        assert len(archive) == task["size_compressed"]
        assert read_members(archive, fmt) == {original.name: original.read_bytes()}, fmt
        assert follow_signed_redirect(client, task["original_url"]) == original.read_bytes()

    bucket = stack.bucket()
    victim = next(iter(ids))
    keys_before = {blob.name for blob in bucket.list_blobs()}
    response = client.http.delete(f"{client.base_url}/api/tasks/{victim}", timeout=30)
    assert response.status_code in (200, 204), response.text
    keys_after = {blob.name for blob in bucket.list_blobs()}
    gone = keys_before - keys_after
    assert len(gone) == 2 and all("/archive/" in k or "/original/" in k for k in gone)


def test_a_worker_killed_mid_task_does_not_stop_the_task_completing_once(stack, tmp_path):
    big = tmp_path / "random.bin"
    big.write_bytes(os.urandom(40 * 1024 * 1024))  # incompressible: xz -9 is slow on it
    client = Client(stack.base_url)
    client.signup_and_login("survivor")
    with open(big, "rb") as handle:
        response = client.http.post(
            f"{client.base_url}/api/tasks",
            files={"fileName": ("random.bin", handle)},
            data={"newFormat": "tar.xz", "level": "9"},
            timeout=300,
        )
    assert response.status_code == 201, response.text
    task_id = response.json()["id"]
    deadline = time.monotonic() + 60
    while client.task(task_id)["status"] != "processing":
        assert time.monotonic() < deadline, stack.logs()
        time.sleep(0.1)
    holder = worker_holding(stack, task_id)
    holder.kill()
    finished = client.wait_finished([task_id], timeout=400)[task_id]
    assert finished["status"] == "processed", stack.logs()
    assert finished["attempts"] == 2
    archives = [b for b in stack.bucket().list_blobs() if "/archive/" in b.name]
    assert len(archives) == 1
