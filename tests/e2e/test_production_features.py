"""The newer task features in the Google Cloud configuration: gunicorn web and
workers on PostgreSQL, the Cloud Storage emulator and the Pub/Sub emulator.

One task exercises many files in one archive, a preset, an archive password,
an idempotency key, a retention, a per-task webhook and progress; then its
retention ends and its objects leave the bucket. (Resumable uploads straight
to Cloud Storage: tests/integration/test_uploads_gcs.py.)
"""

from __future__ import annotations

import io
import json
import time

import pytest
import pyzipper
import sqlalchemy as sa
from standardwebhooks.webhooks import Webhook

from comprimemelo.notifications import signing
from tests.e2e.test_production_stack import follow_signed_redirect
from tests.integration.test_notifications import Receiver
from tests.processes import Client
from tests.stack import production_stack

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]
PASSWORD = "an archive secret, ñ"


@pytest.fixture
def stack(postgres_url, gcs_emulator_host, pubsub_emulator_host):
    with production_stack(
        database_url=postgres_url, gcs_host=gcs_emulator_host, pubsub_host=pubsub_emulator_host,
        lease_seconds="6", signed_url_seconds="120", webhook_allow_private="on", workers=1,
    ) as running:
        yield running


def test_one_encrypted_archive_of_many_files_notified_then_expired(stack):
    receiver = Receiver([200])
    client = Client(stack.base_url)
    client.signup_and_login("cloudy")
    secret = client.http.post(f"{stack.base_url}/api/notifications/webhook-secret", timeout=30).json()[
        "webhook_secret"
    ]
    files = [("fileName", ("notes.txt", b"first file " * 5000)), ("fileName", ("notes.txt", b"second " * 5000))]
    fields = {"newFormat": "zip", "level": "smallest", "password": PASSWORD, "retentionHours": "2",
              "webhookUrl": receiver.url}
    key = {"Idempotency-Key": "cloud-upload-1"}
    first = client.http.post(f"{stack.base_url}/api/tasks", files=files, data=fields, headers=key, timeout=60)
    again = client.http.post(f"{stack.base_url}/api/tasks", files=files, data=fields, headers=key, timeout=60)
    assert first.status_code == again.status_code == 201, again.text
    task = first.json()
    assert again.json()["id"] == task["id"] and again.headers["Idempotent-Replayed"] == "true"
    assert task["encrypted"] and task["level"] == 9
    assert [f["filename"] for f in task["files"]] == ["notes.txt", "notes (1).txt"]
    assert len(client.http.get(f"{stack.base_url}/api/tasks", timeout=30).json()) == 1

    finished = client.wait_finished([task["id"]], timeout=180)[task["id"]]
    assert finished["status"] == "processed" and finished["progress"] == 100, finished
    archive = follow_signed_redirect(client, finished["compressed_url"])
    with pyzipper.AESZipFile(io.BytesIO(archive)) as opened:
        opened.setpassword(PASSWORD.encode())
        assert opened.read("notes.txt") == b"first file " * 5000
        assert opened.read("notes (1).txt") == b"second " * 5000

    deadline = time.monotonic() + 60
    while not receiver.requests and time.monotonic() < deadline:
        time.sleep(0.2)
    (delivery,) = receiver.requests
    headers = {name.lower(): value for name, value in delivery["headers"].items()}
    assert signing.verify(secret, delivery["body"], headers[signing.SIGNATURE_HEADER.lower()])
    event = Webhook(secret).verify(delivery["body"], headers)
    assert json.dumps(event).count(str(task["id"])) >= 1 and "processed" in json.dumps(event)

    # Retention ends: a fresh worker sweeps at once and the objects leave the bucket.
    objects = [blob.name for blob in stack.bucket().list_blobs() if "/tasks/" in blob.name]
    assert len(objects) == 3, objects  # two originals and the archive
    engine = sa.create_engine(stack.env["COMPRIMEMELO_DATABASE_URL"])
    try:
        with engine.begin() as connection:
            connection.execute(
                sa.text("UPDATE tasks SET expires_at = now() - interval '1 second' WHERE id = :id"),
                {"id": task["id"]},
            )
    finally:
        engine.dispose()
    stack.start_worker()
    deadline = time.monotonic() + 60
    while client.task(task["id"])["status"] != "expired":
        assert time.monotonic() < deadline, stack.logs()
        time.sleep(0.3)
    assert not [blob.name for blob in stack.bucket().list_blobs() if "/tasks/" in blob.name]
    gone = client.http.get(f"{stack.base_url}{finished['compressed_url']}", allow_redirects=False, timeout=30)
    assert gone.status_code == 410 and gone.json()["error"]["code"] == "expired"
