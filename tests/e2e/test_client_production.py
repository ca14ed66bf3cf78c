"""The client and the remote commands against the production stack on the
emulators (gunicorn web and a worker on PostgreSQL, Cloud Storage and Pub/Sub
emulators): chunks go to the Cloud Storage resumable session itself, an
upload stopped half-way continues there from Google's offset, and downloads
follow the 302 to a signed URL; the token goes to the API alone."""

from __future__ import annotations

import os
from urllib.parse import urlsplit

import pytest

from comprimemelo.client import Client, UploadJournal
from tests.archives import read_members
from tests.remote_cli import RemoteCli, sign_up
from tests.stack import production_stack

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]

GCS_CHUNK_BYTES = 256 * 1024  # Cloud Storage takes chunks in multiples of 256 KiB
BIG_BYTES = 6 * GCS_CHUNK_BYTES + 777
PASSWORD = "correct horse battery"


class Stopped(Exception):
    """The upload's process "dies" here (raised from its progress callback)."""


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    from tests.conftest import require_or_skip
    from tests.emulators import gcs_emulator_available, pubsub_emulator_available
    from tests.postgres import PostgresCluster

    if not (PostgresCluster.available() and gcs_emulator_available() and pubsub_emulator_available()):
        require_or_skip("PostgreSQL 15, gcp-storage-emulator or the Pub/Sub emulator is missing")
    with production_stack(workers=1, upload_chunk_bytes=str(GCS_CHUNK_BYTES), signed_url_seconds="120") as running:
        yield running


def recorded(client: Client) -> list:
    """Every request the client sends from now on (``requests``' prepared requests)."""
    sent: list = []
    client.http.session.hooks["response"].append(lambda response, **_: sent.append(response.request))
    return sent


def test_chunks_go_to_the_storage_session_resume_there_and_downloads_follow_signed_urls(stack, tmp_path):
    sign_up(stack.base_url, "cloudclient")
    big = tmp_path / "big.bin"
    big.write_bytes(os.urandom(BIG_BYTES))
    journal = UploadJournal(tmp_path / "state")
    storage_origin = f"http://{stack.env['STORAGE_EMULATOR_HOST'].removeprefix('http://')}"

    first = Client.login(stack.base_url, "cloudclient", PASSWORD, journal=journal)
    first_requests = recorded(first)

    def stop_half_way(done: int, total: int) -> None:
        if done > 3 * GCS_CHUNK_BYTES:
            raise Stopped

    with pytest.raises(Stopped):
        first.submit([big], "zip", chunked=True, on_upload=lambda path: stop_half_way)
    chunks = [request for request in first_requests if request.method == "PUT"]
    assert chunks and all(request.url.startswith(storage_origin) for request in chunks)
    assert all("Authorization" not in request.headers for request in chunks)

    again = Client(stack.base_url, first.http.token, journal=journal)
    resumed: list[int] = []
    task = again.submit([big], "zip", chunked=True, on_resumed=lambda path, offset: resumed.append(offset))
    assert resumed and resumed[0] % GCS_CHUNK_BYTES == 0 and 0 < resumed[0] < BIG_BYTES, resumed
    [done] = again.wait([task.id])
    assert done.status == "processed" and done.size_original == BIG_BYTES

    downloads = recorded(again)
    saved = again.download(task.id, tmp_path)
    assert saved == tmp_path / "big.bin.zip"
    assert read_members(saved.read_bytes(), "zip") == {"big.bin": big.read_bytes()}
    api_call, signed = downloads[-2:]
    assert urlsplit(api_call.url).path == f"/api/tasks/{task.id}/compressed"
    assert "Authorization" in api_call.headers
    assert signed.url.startswith(storage_origin) and "X-Goog-Signature=" in signed.url
    assert "Authorization" not in signed.headers


def test_the_commands_submit_wait_and_download_on_google_cloud_backends(stack, tmp_path):
    sign_up(stack.base_url, "cloudcli")
    cli = RemoteCli(tmp_path, "cloudcli")
    assert cli.login(stack.base_url, "cloudcli").returncode == 0
    notes = tmp_path / "notes.txt"
    notes.write_bytes(b"notes for the cloud\n" * 20_000)
    out = tmp_path / "out"
    out.mkdir()
    result = cli.json("submit", str(notes), "--format", "tar.bz2", "--chunked", "--wait", "--download", str(out))
    [task] = result["tasks"]
    assert task["status"] == "processed", stack.logs()
    assert read_members((out / "notes.txt.tar.bz2").read_bytes(), "tar.bz2") == {"notes.txt": notes.read_bytes()}
    original = cli.json("get", str(task["id"]), "--original", "-o", str(tmp_path / "back.txt"))
    assert original["paths"] == [str(tmp_path / "back.txt")]
    assert (tmp_path / "back.txt").read_bytes() == notes.read_bytes()
    assert cli.json("rm", str(task["id"])) == {"deleted": [task["id"]]}
