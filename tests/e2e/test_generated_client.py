"""A client generated from the served OpenAPI document works: the issue's
promise that SDKs can be made with an off-the-shelf generator.

``openapi-python-client`` generates a package from ``/api/openapi.json`` of a
real gunicorn ``comprimemelo web`` (with a ``comprimemelo worker``), and the
test signs up, uploads, waits, downloads and deletes through that package only.
"""

from __future__ import annotations

import importlib
import io
import subprocess
import sys
import time
import zipfile

import pytest

from tests.conftest import PASSWORD
from tests.processes import Process, free_port, process_environment, wait_until_healthy

pytestmark = pytest.mark.e2e

PACKAGE = "generated_comprimemelo"
GENERATE_TIMEOUT_SECONDS = 180
PROCESSED_TIMEOUT_SECONDS = 120
CONTENT = b"generated clients compress too\n" * 200


@pytest.fixture(
    params=[
        pytest.param("sqlite", id="sqlite"),
        pytest.param("postgres", id="postgres", marks=pytest.mark.postgres),
    ],
)
def deployment(request, tmp_path):
    """``comprimemelo web`` (gunicorn) and ``comprimemelo worker`` on each database; yields the base URL."""
    port = free_port()
    database = {}
    if request.param == "postgres":
        cluster = request.getfixturevalue("postgres_cluster")
        database["COMPRIMEMELO_DATABASE_URL"] = cluster.fresh_database()
    env = process_environment(tmp_path / "data", COMPRIMEMELO_PORT=str(port), **database)
    base_url = f"http://127.0.0.1:{port}"
    web = Process(["web"], env, tmp_path / "web.log")
    worker = None
    try:
        wait_until_healthy(base_url, web)
        worker = Process(["worker"], env, tmp_path / "worker.log")
        yield base_url
    finally:
        for process in (worker, web):
            if process is not None:
                process.stop()
        if database:
            cluster.drop_database(database["COMPRIMEMELO_DATABASE_URL"])


def generate_client(base_url: str, folder):
    """The package ``openapi-python-client`` makes of the served document, imported."""
    result = subprocess.run(
        [sys.executable, "-m", "openapi_python_client", "generate", "--url", f"{base_url}/api/openapi.json",
         "--meta", "none", "--output-path", str(folder / PACKAGE)],
        capture_output=True, text=True, timeout=GENERATE_TIMEOUT_SECONDS,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    sys.path.insert(0, str(folder))
    try:
        return importlib.import_module(PACKAGE)
    finally:
        sys.path.remove(str(folder))


def test_a_generated_client_signs_up_uploads_waits_downloads_and_deletes(deployment, tmp_path):
    generated = generate_client(deployment, tmp_path)
    auth = importlib.import_module(f"{PACKAGE}.api.auth")
    tasks = importlib.import_module(f"{PACKAGE}.api.tasks")
    models = importlib.import_module(f"{PACKAGE}.models")
    types = importlib.import_module(f"{PACKAGE}.types")
    for tag, name in (("auth", "sign_up"), ("auth", "log_in"), ("tasks", "create_task"), ("tasks", "get_task"),
                      ("tasks", "download_compressed"), ("tasks", "delete_task")):
        importlib.import_module(f"{PACKAGE}.api.{tag}.{name}")
    anonymous = generated.Client(base_url=deployment, raise_on_unexpected_status=True)

    signed_up = auth.sign_up.sync_detailed(client=anonymous, body=models.Signup(
        username="generated", email="generated@example.com", password1=PASSWORD, password2=PASSWORD))
    assert signed_up.status_code == 201, signed_up.content
    token = auth.log_in.sync(client=anonymous, body=models.Login(username="generated", password=PASSWORD))
    assert isinstance(token, models.Token), token
    client = generated.AuthenticatedClient(base_url=deployment, token=token.access_token,
                                           raise_on_unexpected_status=True)

    upload = types.File(payload=io.BytesIO(CONTENT), file_name="notes.txt", mime_type="text/plain")
    created = tasks.create_task.sync(client=client, body=models.CreateTaskBody(file_name=[upload], new_format="zip"))
    assert isinstance(created, models.Task), created

    deadline = time.monotonic() + PROCESSED_TIMEOUT_SECONDS
    task = created
    while task.status not in ("processed", "failed") and time.monotonic() < deadline:
        time.sleep(0.2)
        task = tasks.get_task.sync(task_id=created.id, client=client)
    assert task.status == "processed", task

    downloaded = tasks.download_compressed.sync_detailed(task_id=created.id, client=client)
    assert downloaded.status_code == 200
    with zipfile.ZipFile(io.BytesIO(downloaded.content)) as archive:
        assert archive.read("notes.txt") == CONTENT

    deleted = tasks.delete_task.sync_detailed(task_id=created.id, client=client)
    assert deleted.status_code == 204, deleted.content
    gone = tasks.get_task.sync_detailed(task_id=created.id, client=client)
    assert gone.status_code == 404
