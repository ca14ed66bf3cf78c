"""A slow upload to Cloud Storage holds no database turn: other requests flow.

``comprimemelo web`` (gunicorn, one process, one pooled connection, so one
turn at the database) on PostgreSQL, storing to the Cloud Storage emulator
through a link slowed to 1 MB/s. While one user's 4 MB upload trickles into
the bucket, another user's task lists are answered.
"""

from __future__ import annotations

import threading

import pytest

from tests.processes import Client
from tests.stack import production_stack
from tests.throttle import throttled

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]
UPLOAD_BYTES = 4 * 1024 * 1024
LINK_BYTES_PER_SECOND = 1024 * 1024
LISTS = 10


def test_task_lists_are_answered_while_an_upload_streams_to_cloud_storage(
    postgres_url, gcs_emulator_host, pubsub_emulator_host, tmp_path
):
    with throttled(gcs_emulator_host, LINK_BYTES_PER_SECOND) as link, production_stack(
        database_url=postgres_url, gcs_host=link.url, pubsub_host=pubsub_emulator_host, workers=0,
        web_workers="1", db_pool_size="1", db_max_overflow="0",
    ) as stack:
        uploader, lister = Client(stack.base_url), Client(stack.base_url)
        uploader.signup_and_login("uploader")
        lister.signup_and_login("lister")
        source = tmp_path / "big.bin"
        source.write_bytes(b"\x00slow link " * (UPLOAD_BYTES // 11))
        answers: dict = {}
        upload = threading.Thread(target=lambda: answers.update(task=uploader.upload(source, "zip")))
        before = link.sent
        upload.start()
        while link.sent - before < UPLOAD_BYTES // 4:  # the upload is on its way to the bucket
            assert upload.is_alive(), "the upload finished before its bytes reached storage"
            upload.join(0.05)
        statuses = [lister.http.get(f"{stack.base_url}/api/tasks", timeout=60).status_code for _ in range(LISTS)]
        still_uploading = upload.is_alive() and link.sent - before < UPLOAD_BYTES
        upload.join(60)
        assert statuses == [200] * LISTS
        assert still_uploading, "the task lists waited for the upload to reach storage"
        assert answers["task"]["status"] == "uploaded"
