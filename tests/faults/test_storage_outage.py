"""Cloud Storage goes away while web and worker run (the emulator is stopped,
and comes back having lost everything): an upload in flight fails cleanly with
503 and leaves no task row and no object; the worker's task fails after bounded
attempts with backoff, with a readable reason; the same worker process then
serves the next task."""

from __future__ import annotations

import contextlib
import re
import threading
import uuid

import pytest
import requests

from tests.conftest import require_or_skip
from tests.emulators import PROJECT, gcs_emulator, gcs_emulator_available
from tests.faults.conftest import assert_error_json, wait_for, worker_id
from tests.processes import free_port
from tests.stack import write_service_account_key

pytestmark = pytest.mark.e2e
MAX_ATTEMPTS = 3


def make_bucket(name: str):
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import storage

    client = storage.Client(project=PROJECT, credentials=AnonymousCredentials())
    return client.create_bucket(name)


def test_storage_outage_fails_cleanly_and_the_worker_carries_on(deployment, tmp_path, monkeypatch):
    if not gcs_emulator_available():
        require_or_skip("gcp-storage-emulator is not installed")
    port = free_port()
    host = f"http://127.0.0.1:{port}"
    monkeypatch.setenv("STORAGE_EMULATOR_HOST", host)
    bucket_name = f"outage-{uuid.uuid4().hex[:8]}"
    key_file = tmp_path / "service-account.json"
    write_service_account_key(key_file)
    with contextlib.ExitStack() as emulators:
        first = contextlib.ExitStack()
        emulators.callback(first.close)
        first.enter_context(gcs_emulator(port))
        make_bucket(bucket_name)

        stack = deployment(storage_url=f"gs://{bucket_name}/comprimemelo", max_attempts=str(MAX_ATTEMPTS))
        stack.env.update(
            STORAGE_EMULATOR_HOST=host, GOOGLE_CLOUD_PROJECT=PROJECT,
            GOOGLE_APPLICATION_CREDENTIALS=str(key_file),
        )
        stack.start_web()
        client = stack.client("storage")
        stored = tmp_path / "stored.txt"
        stored.write_bytes(b"stored before the outage " * 100)
        victim = client.upload(stored, "zip")["id"]

        first.close()  # the outage begins
        assert requests.get(f"{stack.base_url}/readyz", timeout=30).status_code == 503
        during: dict[str, requests.Response] = {}

        def upload_during_outage():
            during["response"] = client.http.post(
                f"{stack.base_url}/api/tasks", files={"fileName": ("lost.txt", b"sent during the outage")},
                data={"newFormat": "zip"}, timeout=120,
            )

        uploader = threading.Thread(target=upload_during_outage)
        uploader.start()
        worker = stack.start_worker()
        worker_id(worker)
        wait_for(lambda: stack.rows()[victim]["status"] == "processing", 30, "the worker to take the task")

        # Storage returns, empty: the retried calls now meet a missing bucket and missing objects.
        emulators.enter_context(gcs_emulator(port))
        uploader.join(120)
        assert not uploader.is_alive()
        assert_error_json(during["response"], 503)

        failed = client.wait_finished([victim], timeout=60)[victim]
        assert failed["status"] == "failed", failed
        assert failed["attempts"] == MAX_ATTEMPTS
        assert failed["error"] == "the original file is missing from storage"
        retries = re.findall(rf"task {victim} attempt \d failed, will retry", worker.output())
        assert len(retries) == MAX_ATTEMPTS - 1, worker.output()
        assert sorted(stack.rows()) == [victim], "the refused upload left no task row"

        # Storage is back (a new bucket): the same worker process serves the next task.
        bucket = make_bucket(bucket_name)
        assert requests.get(f"{stack.base_url}/readyz", timeout=30).status_code == 200
        after = client.upload(stored, "tar.gz")["id"]
        assert client.wait_finished([after], timeout=60)[after]["status"] == "processed"
        assert worker.popen.poll() is None
        names = sorted(blob.name for blob in bucket.list_blobs())
        assert len(names) == 2 and all(re.search(r"/(original|archive)/", name) for name in names), names
