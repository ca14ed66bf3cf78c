"""Security and observability of a real ``comprimemelo serve`` (gunicorn + worker)."""

from __future__ import annotations

import re
import socket
import time

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from tests.processes import Client, free_port, serving

pytestmark = pytest.mark.e2e
MIB = 1024 * 1024


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    port = free_port()
    with serving(
        tmp_path_factory.mktemp("served"),
        port=port,
        COMPRIMEMELO_MAX_UPLOAD_BYTES=str(MIB),
    ) as (base_url, process):
        yield base_url, port, process


@pytest.fixture
def rate_limited(tmp_path):
    """A server of its own: its sign-up limit must not starve the other tests."""
    with serving(tmp_path, COMPRIMEMELO_RATE_LIMITS="on", COMPRIMEMELO_SIGNUP_RATE_LIMIT="3/minute") as running:
        yield running


def read_response(connection: socket.socket) -> str:
    """One whole HTTP response (headers, then ``Content-Length`` bytes of body)."""
    data = b""
    while b"\r\n\r\n" not in data:
        data += connection.recv(65536) or b"\0"
    head, _, body = data.partition(b"\r\n\r\n")
    length = int(re.search(rb"(?i)content-length:\s*(\d+)", head).group(1))
    while len(body) < length:
        chunk = connection.recv(65536)
        if not chunk:
            break
        body += chunk
    return (head + b"\r\n\r\n" + body).decode(errors="replace")


def test_an_oversized_upload_is_refused_before_its_body_is_sent(served):
    base_url, port, _ = served
    client = Client(base_url)
    client.signup_and_login("bigsender")
    token = client.http.headers["Authorization"]
    head = (
        "POST /api/tasks HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        f"Authorization: {token}\r\nContent-Type: multipart/form-data; boundary=x\r\n"
        f"Content-Length: {5 * 1024**3}\r\n\r\n"
    ).encode()
    with socket.create_connection(("127.0.0.1", port), timeout=10) as connection:
        connection.sendall(head + b"--x\r\n")  # 5 GiB announced, a few bytes sent
        answer = read_response(connection)
    status_line, _, rest = answer.partition("\r\n")
    assert " 413 " in status_line, answer
    assert "request_entity_too_large" in rest


def test_signups_from_one_address_get_429_with_retry_after(rate_limited):
    base_url, _ = rate_limited
    statuses, retry_after = [], None
    # 3 a minute per process; gunicorn runs 2 processes, so 7 attempts must hit a limit.
    for index in range(7):
        response = requests.post(
            f"{base_url}/api/auth/signup",
            json={"username": f"rl{index}", "email": f"rl{index}@example.com",
                  "password1": "correct horse battery", "password2": "correct horse battery"},
            timeout=30,
        )
        statuses.append(response.status_code)
        if response.status_code == 429:
            retry_after = int(response.headers["Retry-After"])
            assert response.json()["error"]["code"] == "too_many_requests"
    assert 429 in statuses and retry_after and 1 <= retry_after <= 60, statuses
    assert 500 not in statuses


def scrape(base_url: str) -> dict[str, dict[tuple, float]]:
    """``{metric sample name: {sorted labels: value}}`` from ``/metrics``."""
    response = requests.get(f"{base_url}/metrics", timeout=10)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/plain")
    samples: dict[str, dict[tuple, float]] = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            samples.setdefault(sample.name, {})[tuple(sorted(sample.labels.items()))] = sample.value
    return samples


def test_metrics_add_up_web_and_worker_processes(served, tmp_path):
    base_url, _, _ = served
    client = Client(base_url)
    client.signup_and_login("metered")
    source = tmp_path / "notes.txt"
    source.write_bytes(b"metrics are counted in every process\n" * 2000)
    tasks = [client.upload(source, fmt)["id"] for fmt in ("zip", "tar.gz", "zip")]
    client.wait_finished(tasks)
    deadline = time.monotonic() + 10
    while True:  # the worker records its figures just after the task is marked processed
        samples = scrape(base_url)
        finished = samples.get("comprimemelo_tasks_finished_total", {})
        if finished.get((("format", "zip"), ("status", "processed"))) == 2 or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert finished[(("format", "zip"), ("status", "processed"))] == 2
    assert finished[(("format", "tar.gz"), ("status", "processed"))] == 1
    assert samples["comprimemelo_task_input_bytes_total"][(("format", "zip"),)] == 2 * source.stat().st_size
    assert samples["comprimemelo_task_processing_seconds_count"][(("format", "tar.gz"),)] == 1
    assert samples["comprimemelo_tasks"][(("status", "processed"),)] >= 3
    assert samples["comprimemelo_queue_backlog"][()] == 0
    uploads = samples["comprimemelo_http_requests_total"][
        (("method", "POST"), ("route", "/api/tasks"), ("status", "201"))
    ]
    assert uploads >= 3
    # Route templates, never raw ids: one series for every task's status page.
    routes = {dict(labels)["route"] for labels in samples["comprimemelo_http_requests_total"]}
    assert "/api/tasks/<int:task_id>" in routes
    assert not any(str(task) in route for route in routes for task in tasks)



def test_a_token_revoked_while_its_list_is_cached_is_refused_by_every_web_process(served):
    """Each gevent web process checks the poll's token on a SQLite connection it
    keeps (db/driver_statement.py HeldSqliteStatement): a revocation committed by
    another process must be seen by the very next check, in every process."""
    base_url, _, _ = served
    client = Client(base_url)
    client.signup_and_login("revoked-poller")
    headers = {"Authorization": client.http.headers["Authorization"]}
    polls = [requests.get(f"{base_url}/api/tasks", headers=headers, timeout=30) for _ in range(40)]
    assert {poll.status_code for poll in polls} == {200}
    assert requests.post(f"{base_url}/api/auth/logout", headers=headers, timeout=30).status_code == 204
    after = [requests.get(f"{base_url}/api/tasks", headers=headers, timeout=30) for _ in range(40)]
    assert {poll.status_code for poll in after} == {401}
