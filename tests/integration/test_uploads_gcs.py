"""``/api/uploads`` on Cloud Storage (the emulator, with the real client
library): the client sends its chunks to the resumable session URI, never to
the app; the app reads progress back, checks the finished object's size and
makes a task of it; the sweep cancels abandoned sessions.

The emulator (gcp-storage-emulator) implements resumable sessions: chunks with
``Content-Range``, ``308`` with ``Range``, the ``bytes */SIZE`` status query.
It does not implement cancelling a session (``DELETE`` on its URI), so the
sweep's cancel is exercised only as far as "errors there do not stop it".
"""

from __future__ import annotations

import os
from urllib.parse import urlparse

import pytest
import requests

from comprimemelo import db
from comprimemelo.bootstrap import build_web, open_backends
from comprimemelo.domain.models import UploadSession
from comprimemelo.services import uploads
from comprimemelo.storage import open_storage
from comprimemelo.worker import Worker
from tests.archives import read_members
from tests.conftest import ApiUser

CHUNK = 256 * 1024  # Cloud Storage takes chunks in multiples of 256 KiB


@pytest.fixture
def gcs_services(settings, gcs_bucket):
    built = open_backends(settings, storage=open_storage(f"gs://{gcs_bucket}/env"))
    db.upgrade(built.engine, settings)
    yield built
    built.close()


@pytest.fixture
def gcs_client(gcs_services):

    app = build_web(gcs_services.settings, backends=gcs_services)
    app.config["TESTING"] = True
    return app.test_client()


def send(url: str, data: bytes, first: int, size: int) -> requests.Response:
    last = first + len(data) - 1
    return requests.put(url, data=data, headers={"Content-Range": f"bytes {first}-{last}/{size}"}, timeout=30)


def test_chunks_go_to_storage_directly_and_resume(gcs_client, gcs_services, gcs_emulator_host):
    user = ApiUser(gcs_client, "alice")
    data = os.urandom(3 * CHUNK + 1000)
    response = gcs_client.post("/api/uploads", json={"fileName": "big.bin", "size": len(data)}, headers=user.headers)
    assert response.status_code == 201, response.json
    session = response.json
    upload_url = session["upload_url"]
    assert urlparse(upload_url).netloc == urlparse(gcs_emulator_host).netloc
    assert "upload_id=" in upload_url

    first = send(upload_url, data[:CHUNK], 0, len(data))
    assert first.status_code == 308 and first.headers["Range"] == f"bytes=0-{CHUNK - 1}"
    # the client was interrupted: it asks the app where to resume
    status = gcs_client.get(f"/api/uploads/{session['id']}", headers=user.headers)
    assert status.status_code == 200 and status.json["offset"] == CHUNK and status.json["state"] == "open"
    early = gcs_client.post(f"/api/uploads/{session['id']}/complete", json={"newFormat": "zip"}, headers=user.headers)
    assert early.status_code == 409 and early.json["error"]["offset"] == CHUNK
    # and the app's own chunk endpoint is not where bytes go on Cloud Storage
    elsewhere = gcs_client.put(f"/api/uploads/{session['id']}", data=b"x",
                               headers={"Content-Range": f"bytes {CHUNK}-{CHUNK}/{len(data)}"})
    assert elsewhere.status_code == 409 and elsewhere.json["error"]["code"] == "upload_elsewhere"

    assert send(upload_url, data[CHUNK:], CHUNK, len(data)).status_code in (200, 201)
    done = gcs_client.post(f"/api/uploads/{session['id']}/complete", json={"newFormat": "zip"}, headers=user.headers)
    assert done.status_code == 201, done.json
    task = done.json
    with gcs_services.sessions() as session_db:
        key = session_db.get(UploadSession, session["id"]).storage_key
    with gcs_services.storage.open(key) as handle:
        assert handle.read() == data

    worker = Worker(gcs_services.settings, gcs_services.sessions, gcs_services.storage, gcs_services.queue)
    worker.drain()
    status = gcs_client.get(f"/api/tasks/{task['id']}", headers=user.headers).json
    assert status["status"] == "processed", status
    from comprimemelo.domain.models import Task

    with gcs_services.sessions() as session_db:
        compressed = session_db.get(Task, task["id"]).compressed_key
    with gcs_services.storage.open(compressed) as handle:
        assert read_members(handle.read(), "zip") == {"big.bin": data}


def test_only_this_sites_pages_get_a_session_for_their_origin(gcs_client, monkeypatch):
    from comprimemelo.storage.resumable.gcs import GcsUploads

    seen = []
    begin = GcsUploads.begin
    monkeypatch.setattr(GcsUploads, "begin", lambda self, key, size, origin: seen.append(origin) or begin(
        self, key, size, origin))
    user = ApiUser(gcs_client, "bob")
    for origin in ("http://localhost", "https://evil.example", None):
        headers = {**user.headers, **({"Origin": origin} if origin else {})}
        response = gcs_client.post("/api/uploads", json={"fileName": "a.bin", "size": 10}, headers=headers)
        assert response.status_code == 201, response.json
    assert seen == ["http://localhost", None, None]


def test_sweep_cancels_abandoned_sessions(gcs_client, gcs_services):
    user = ApiUser(gcs_client, "carol")
    abandoned = gcs_client.post("/api/uploads", json={"fileName": "a.bin", "size": 2 * CHUNK},
                                headers=user.headers).json
    send(abandoned["upload_url"], b"x" * CHUNK, 0, 2 * CHUNK)
    finished = gcs_client.post("/api/uploads", json={"fileName": "b.bin", "size": 5}, headers=user.headers).json
    assert send(finished["upload_url"], b"hello", 0, 5).status_code in (200, 201)
    with gcs_services.sessions() as session_db:
        key = session_db.get(UploadSession, finished["id"]).storage_key
    assert gcs_services.storage.exists(key)

    import datetime as dt

    later = dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=2)
    assert uploads.sweep_abandoned(gcs_services.sessions, gcs_services.storage, now=later) == 2
    assert not gcs_services.storage.exists(key)
    with gcs_services.sessions() as session_db:
        assert session_db.query(UploadSession).count() == 0
