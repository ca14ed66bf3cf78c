"""The database goes away while ``comprimemelo web`` (gunicorn) and a worker run:
the API answers 503 with the JSON error and ``Retry-After``, never a 500; when
PostgreSQL comes back everything recovers without a restart and no accepted
task is lost."""

from __future__ import annotations

import os
import time
from collections import Counter

import pytest
import requests

from tests.conftest import PASSWORD, require_or_skip
from tests.faults.conftest import LEASE_SECONDS, assert_error_json, wait_for
from tests.postgres import PostgresCluster

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]

# Longer than a lease, so the worker's heartbeat and its completion both meet the outage.
OUTAGE_SECONDS = int(LEASE_SECONDS) + 2
RECOVERY_TIMEOUT_SECONDS = 30


@pytest.fixture
def cluster():
    """A PostgreSQL cluster of this test's own: it is stopped in the middle."""
    if not PostgresCluster.available():
        require_or_skip("PostgreSQL 15 server binaries are not installed")
    with PostgresCluster.start() as running:
        yield running


def test_database_outage_answers_503_and_recovers_without_restart(cluster, deployment, tmp_path):
    stack = deployment(database_url=cluster.fresh_database())
    web = stack.start_web()
    worker = stack.start_worker()
    client = stack.client("outage")
    base = stack.base_url
    slow = tmp_path / "slow.bin"
    slow.write_bytes(os.urandom(3 * 1024 * 1024))  # a few seconds at xz -9
    small = tmp_path / "small.txt"
    small.write_bytes(b"accepted before the outage " * 50)

    with open(slow, "rb") as handle:
        response = client.http.post(
            f"{base}/api/tasks", files={"fileName": ("slow.bin", handle)},
            data={"newFormat": "tar.xz", "level": "9"}, timeout=60,
        )
    assert response.status_code == 201, response.text
    in_flight = response.json()["id"]
    wait_for(lambda: client.task(in_flight)["status"] == "processing", 60, "the task to start")
    queued = client.upload(small, "zip")["id"]  # waits: the worker runs one task at a time

    cluster.stop_server()
    calls = {
        "list": lambda: client.http.get(f"{base}/api/tasks", timeout=30),
        "read": lambda: client.http.get(f"{base}/api/tasks/{queued}", timeout=30),
        "download": lambda: client.http.get(f"{base}/api/tasks/{queued}/original", timeout=30),
        "upload": lambda: client.http.post(
            f"{base}/api/tasks", files={"fileName": ("during.txt", b"during the outage")},
            data={"newFormat": "zip"}, timeout=30,
        ),
        "login": lambda: requests.post(
            f"{base}/api/auth/login", json={"username": "outage", "password": PASSWORD}, timeout=30
        ),
        "signup": lambda: requests.post(
            f"{base}/api/auth/signup", timeout=30,
            json={"username": "newcomer", "email": "newcomer@example.com",
                  "password1": PASSWORD, "password2": PASSWORD},
        ),
    }
    deadline = time.monotonic() + OUTAGE_SECONDS
    seen = Counter()
    while time.monotonic() < deadline:
        for name, call in calls.items():
            assert_error_json(call(), 503)
            seen[name] += 1
        time.sleep(0.2)
    assert requests.get(f"{base}/readyz", timeout=30).status_code == 503
    assert requests.get(f"{base}/healthz", timeout=30).status_code == 200
    assert min(seen.values()) >= 2, seen

    cluster.start_server()
    wait_for(
        lambda: client.http.get(f"{base}/api/tasks", timeout=30).status_code == 200,
        RECOVERY_TIMEOUT_SECONDS, "the API to answer again",
    )
    assert requests.get(f"{base}/readyz", timeout=30).status_code == 200
    after = client.upload(small, "tar.gz")["id"]
    finished = client.wait_finished([in_flight, queued, after], timeout=90)
    assert {task["status"] for task in finished.values()} == {"processed"}, finished
    assert web.popen.poll() is None and worker.popen.poll() is None, "recovered without a restart"

    # Nothing left behind by the requests and the attempts the outage broke.
    rows = stack.rows()
    assert sorted(rows) == sorted([in_flight, queued, after]), "no task row for refused uploads"
    assert len(stack.local_files("original")) == len(rows), "no orphan original"
    archives = Counter(path.relative_to(stack.files_dir).parts[1] for path in stack.local_files("archive"))
    assert sorted(archives.values()) == [1] * len(rows), "no orphan archive"
    assert stack.incoming_leftovers() == []
