"""A real ``comprimemelo serve``: a finished task reaches a webhook receiver,
signed, and an e-mail lands in the embedded maildir."""

from __future__ import annotations

import json
import time

import pytest

from tests.integration.test_notifications import Receiver
from tests.mail import CONFIRM_SUBJECT, task_mail, verification_token, wait_for_mail
from tests.processes import Client, free_port, serving

pytestmark = pytest.mark.e2e
DEADLINE_SECONDS = 60


@pytest.fixture
def served(tmp_path):
    """Embedded mode (SQLite, maildir); the integration tests cover PostgreSQL."""
    port = free_port()
    with serving(
        tmp_path,
        port=port,
        # The receiver listens on loopback.
        COMPRIMEMELO_WEBHOOK_ALLOW_PRIVATE="on",
        COMPRIMEMELO_PUBLIC_URL=f"http://127.0.0.1:{port}",
    ) as running:
        yield running


def test_a_finished_task_is_announced_by_webhook_and_email(served, tmp_path):
    base_url, process = served
    receiver = Receiver([200])
    try:
        client = Client(base_url)
        client.signup_and_login("notified")
        confirmation = wait_for_mail(tmp_path / "data" / "mail", CONFIRM_SUBJECT, to="notified@example.com")
        confirmed = client.http.post(f"{base_url}/api/auth/verify-email",
                                     json={"token": verification_token(confirmation)}, timeout=30)
        assert confirmed.status_code == 200, confirmed.text
        response = client.http.put(
            f"{base_url}/api/notifications", json={"email": True, "webhook_url": receiver.url}, timeout=30
        )
        assert response.status_code == 200, response.text
        secret = response.json()["webhook_secret"]
        original = tmp_path / "notes.txt"
        original.write_bytes(b"compress me " * 1000)
        task = client.upload(original, "tar.gz")
        [request] = receiver.wait_for(1, timeout=DEADLINE_SECONDS)
    finally:
        receiver.close()
    assert receiver.verified(request, secret), process.output()
    event = json.loads(request["body"])
    assert event["type"] == "task.processed"
    assert event["data"]["task"]["id"] == task["id"]
    assert client.download(event["data"]["task"]["compressed_url"].removeprefix(base_url))
    maildir = tmp_path / "data" / "mail"
    deadline = time.monotonic() + DEADLINE_SECONDS
    message = wait_for_mail(maildir, "notes.txt is ready", timeout=DEADLINE_SECONDS)
    assert len(task_mail(maildir)) == 1
    assert message["To"] == "notified@example.com" and "notes.txt is ready" in message["Subject"]
    expected = [("email", "delivered"), ("webhook", "delivered")]
    while time.monotonic() < deadline:
        shown = client.http.get(f"{base_url}/api/tasks/{task['id']}/notifications", timeout=30).json()
        if sorted((e["channel"], e["state"]) for e in shown["events"]) == expected:
            break
        time.sleep(0.2)
    assert sorted((e["channel"], e["state"]) for e in shown["events"]) == expected
