"""``/api/uploads`` in embedded mode (the app takes the chunks), on SQLite and
PostgreSQL: sessions, chunks, resuming, completion into a task, limits, bad
input, other users, and the sweep of abandoned sessions."""

from __future__ import annotations

import datetime as dt
import hashlib
import os

import pytest

from comprimemelo.domain.models import UploadSession
from comprimemelo.services import uploads
from comprimemelo.storage.resumable import open_target
from comprimemelo.worker import Worker
from tests.archives import read_members
from tests.openapi import SCHEMAS, schema_errors

CHUNK = 256 * 1024


def start(user, name="big.bin", size=1000, **extra):
    return user.client.post(
        "/api/uploads", json={"fileName": name, "size": size, **extra}, headers=user.headers
    )


def put(client, url, data: bytes, first: int, size: int, headers=None):
    last = first + len(data) - 1
    return client.put(
        url,
        data=data,
        headers={"Content-Range": f"bytes {first}-{last}/{size}", "Content-Type": "application/octet-stream",
                 **(headers or {})},
    )


def send_all(client, session: dict, data: bytes, chunk: int = CHUNK):
    response = None
    for first in range(0, len(data), chunk):
        response = put(client, session["upload_url"], data[first:first + chunk], first, len(data))
        expected = 200 if first + chunk >= len(data) else 308
        assert response.status_code == expected, response.json
    return response


def test_chunked_upload_becomes_a_task_with_the_same_bytes(make_user, client):
    user = make_user()
    data = os.urandom(3 * CHUNK + 123)
    response = start(user, "report ../../etc/passwd.pdf", len(data), contentType="application/pdf")
    assert response.status_code == 201, response.json
    session = response.json
    assert response.headers["Location"] == f"/api/uploads/{session['id']}"
    assert session["method"] == "PUT" and session["offset"] == 0 and session["state"] == "open"
    assert session["upload_url"].endswith(f"/api/uploads/{session['id']}")
    assert session["file_name"] == "passwd.pdf" and session["chunk_bytes"] == 8 * 1024 * 1024
    assert len(session["id"]) == 32

    middle = put(client, session["upload_url"], data[:CHUNK], 0, len(data))
    assert middle.status_code == 308 and middle.headers["Range"] == f"bytes=0-{CHUNK - 1}"
    assert middle.json["offset"] == CHUNK
    for first in range(CHUNK, len(data), CHUNK):
        last = put(client, session["upload_url"], data[first:first + CHUNK], first, len(data))
    assert last.status_code == 200 and last.json["state"] == "uploaded"

    done = user.client.post(f"/api/uploads/{session['id']}/complete", json={"newFormat": "tar.gz", "level": 3, "retentionHours": 2},
                            headers=user.headers)
    assert done.status_code == 201, done.json
    task = done.json
    assert done.headers["Location"] == f"/api/tasks/{task['id']}"
    assert task["status"] == "uploaded" and task["level"] == 3 and task["size_original"] == len(data)
    assert task["files"] == [{"filename": "passwd.pdf", "size": len(data)}]
    expires = dt.datetime.fromisoformat(task["expires_at"].replace("Z", "+00:00"))
    assert dt.timedelta(hours=1.9) < expires - dt.datetime.now(dt.timezone.utc) <= dt.timedelta(hours=2)
    original = user.client.get(task["original_url"], headers=user.headers)
    assert hashlib.sha256(original.data).digest() == hashlib.sha256(data).digest()
    status = user.client.get(f"/api/uploads/{session['id']}", headers=user.headers).json
    assert status["state"] == "submitted" and status["task_id"] == task["id"]
    again = user.client.post(f"/api/uploads/{session['id']}/complete", json={"newFormat": "zip"},
                             headers=user.headers)
    assert again.status_code == 409 and again.json["error"]["code"] == "upload_submitted"


def test_interrupted_chunk_resumes_from_the_bytes_on_disk(make_user, client, services):
    user = make_user()
    data = os.urandom(2 * CHUNK)
    session = start(user, size=len(data)).json

    class Dropped:  # a connection that dies after 100 000 bytes of a 256 KiB chunk
        def __init__(self) -> None:
            self.sent = 0

        def read(self, size: int = -1) -> bytes:
            if self.sent >= 100_000:
                raise ConnectionResetError("client went away")
            piece = data[self.sent:min(self.sent + size, 100_000)]
            self.sent += len(piece)
            return piece

    target = open_target(services.storage)
    with services.sessions() as db:
        key = db.get(UploadSession, session["id"]).storage_key
    with pytest.raises(ConnectionResetError):
        target.append(key, 0, CHUNK, Dropped())

    asked = client.put(session["upload_url"], headers={"Content-Range": f"bytes */{len(data)}"})
    assert asked.status_code == 308 and asked.headers["Range"] == "bytes=0-99999"
    assert asked.json["offset"] == 100_000
    status = user.client.head(f"/api/uploads/{session['id']}", headers=user.headers)
    assert status.status_code == 200 and status.headers["Range"] == "bytes=0-99999"

    wrong = put(client, session["upload_url"], data[:CHUNK], 0, len(data))
    assert wrong.status_code == 409 and wrong.json["error"]["code"] == "offset_mismatch"
    assert wrong.json["error"]["offset"] == 100_000 and wrong.headers["Range"] == "bytes=0-99999"
    ahead = put(client, session["upload_url"], data[CHUNK:], CHUNK, len(data))
    assert ahead.status_code == 409 and ahead.json["error"]["offset"] == 100_000

    assert put(client, session["upload_url"], data[100_000:], 100_000, len(data)).status_code == 200
    task = user.client.post(f"/api/uploads/{session['id']}/complete", json={"newFormat": "zip"},
                            headers=user.headers).json
    assert user.client.get(task["original_url"], headers=user.headers).data == data


def test_several_uploads_make_one_archive(make_user, client, services):
    user = make_user()
    contents = {"a.txt": b"alpha " * 1000, "b.txt": b"beta " * 900, "A.TXT": b"third"}
    ids = []
    for name, data in contents.items():
        session = start(user, name, len(data)).json
        send_all(client, session, data)
        ids.append(session["id"])
    response = user.client.post(f"/api/uploads/{ids[0]}/complete",
                                json={"newFormat": "zip", "uploads": ids[1:]}, headers=user.headers)
    assert response.status_code == 201, response.json
    task = response.json
    assert [f["filename"] for f in task["files"]] == ["a.txt", "b.txt", "A (1).TXT"]
    worker = Worker(services.settings, services.sessions, services.storage, services.queue)
    worker.drain()
    archive = user.client.get(f"/api/tasks/{task['id']}/compressed", headers=user.headers)
    assert archive.status_code == 200
    assert read_members(archive.data, "zip") == {
        "a.txt": contents["a.txt"], "b.txt": contents["b.txt"], "A (1).TXT": contents["A.TXT"],
    }


def test_empty_file_completes_with_an_offset_query(make_user, client):
    user = make_user()
    session = start(user, "empty.txt", 0).json
    done = client.put(session["upload_url"], headers={"Content-Range": "bytes */0"})
    assert done.status_code == 200 and done.json["state"] == "uploaded"
    task = user.client.post(f"/api/uploads/{session['id']}/complete", json={"newFormat": "zip"},
                            headers=user.headers)
    assert task.status_code == 201 and task.json["size_original"] == 0


@pytest.mark.parametrize(
    "body",
    [
        pytest.param({"file_name": "a.txt", "size": 10, "content_type": "text/plain"}, id="snake_case"),
        pytest.param({"fileName": "a.txt", "size": 10, "contentType": "text/plain"}, id="camelCase_aliases"),
        pytest.param({"file_name": "a.txt", "size": 10}, id="no_content_type"),
    ],
)
def test_a_session_answers_in_snake_case_as_its_schema_documents(make_user, body):
    user = make_user()
    opened = user.client.post("/api/uploads", json=body, headers=user.headers)
    assert opened.status_code == 201, opened.json
    shown = user.client.get(f"/api/uploads/{opened.json['id']}", headers=user.headers)
    for session in (opened.json, shown.json):
        assert set(session) == set(SCHEMAS["Upload"]["properties"])
        assert schema_errors("Upload", session) == []
        assert session["file_name"] == "a.txt"
        assert session["content_type"] == body.get("content_type", body.get("contentType", "application/octet-stream"))


@pytest.mark.parametrize(
    "body, status, code",
    [
        ({"size": 10}, 400, "invalid_filename"),
        ({"fileName": "a", "size": -1}, 400, "invalid_size"),
        ({"fileName": "a", "size": "10"}, 400, "invalid_size"),
        ({"fileName": "a", "size": True}, 400, "invalid_size"),
        ({"fileName": "a", "size": 10, "contentType": "nonsense"}, 400, "invalid_content_type"),
        ({"fileName": "a", "size": 20 * 1024**3 + 1}, 413, "payload_too_large"),
    ],
)
def test_bad_session_requests_are_refused(make_user, body, status, code):
    user = make_user()
    response = user.client.post("/api/uploads", json=body, headers=user.headers)
    assert response.status_code == status and response.json["error"]["code"] == code


def test_a_session_needs_json_and_a_login(make_user, client):
    assert client.post("/api/uploads", json={"fileName": "a", "size": 1}).status_code == 401
    user = make_user()
    response = user.client.post("/api/uploads", data="x", headers=user.headers)
    assert response.status_code == 415 and response.json["error"]["code"] == "unsupported_media_type"


@pytest.mark.parametrize(
    "headers, body, code",
    [
        ({}, b"x" * 10, "invalid_content_range"),
        ({"Content-Range": "bytes 0-9/11"}, b"x" * 10, "invalid_content_range"),
        ({"Content-Range": "bytes 5-4/10"}, b"", "chunk_out_of_range"),
        ({"Content-Range": "bytes 8-11/10"}, b"x" * 4, "chunk_out_of_range"),
        ({"Content-Range": "bytes 0-9/10"}, b"x" * 9, "invalid_content_length"),
        ({"Content-Range": "bytes=0-9/10"}, b"x" * 10, "invalid_content_range"),
        ({"Content-Range": "bytes */11"}, b"", "invalid_content_range"),
    ],
)
def test_bad_chunks_are_refused_with_400(make_user, client, headers, body, code):
    user = make_user()
    session = start(user, size=10).json
    response = client.put(session["upload_url"], data=body, headers=headers)
    assert response.status_code == 400 and response.json["error"]["code"] == code
    assert client.put(session["upload_url"], headers={"Content-Range": "bytes */10"}).json["offset"] == 0


def test_completing_early_or_twice_or_too_much_is_refused(make_user, client, services, app):
    user = make_user()
    session = start(user, size=2 * CHUNK).json
    put(client, session["upload_url"], b"x" * CHUNK, 0, 2 * CHUNK)
    early = user.client.post(f"/api/uploads/{session['id']}/complete", json={"newFormat": "zip"},
                             headers=user.headers)
    assert early.status_code == 409 and early.json["error"]["code"] == "upload_incomplete"
    assert early.json["error"]["offset"] == CHUNK
    twice = user.client.post(f"/api/uploads/{session['id']}/complete",
                             json={"newFormat": "zip", "uploads": [session["id"]]}, headers=user.headers)
    assert twice.status_code == 400 and twice.json["error"]["code"] == "duplicate_upload"
    bad_format = user.client.post(f"/api/uploads/{session['id']}/complete", json={"newFormat": "rar"},
                                  headers=user.headers)
    assert bad_format.status_code == 400 and bad_format.json["error"]["code"] == "invalid_format"
    bad_list = user.client.post(f"/api/uploads/{session['id']}/complete",
                                json={"newFormat": "zip", "uploads": "x"}, headers=user.headers)
    assert bad_list.status_code == 400

    small = services.settings.replace(max_task_bytes=10, max_files_per_task=1)
    app.extensions["comprimemelo"].settings = small
    try:
        other = start(user, "o.bin", 20).json
        send_all(client, other, b"y" * 20)
        too_big = user.client.post(f"/api/uploads/{other['id']}/complete", json={"newFormat": "zip"},
                                   headers=user.headers)
        assert too_big.status_code == 413
        too_many = user.client.post(f"/api/uploads/{other['id']}/complete",
                                    json={"newFormat": "zip", "uploads": [session["id"]]}, headers=user.headers)
        assert too_many.status_code == 400 and too_many.json["error"]["code"] == "too_many_files"
    finally:
        app.extensions["comprimemelo"].settings = services.settings


def test_other_users_see_nothing(make_user, client):
    alice, bob = make_user("alice"), make_user("bob")
    session = start(alice, size=10).json
    url = f"/api/uploads/{session['id']}"
    for method in ("get", "delete"):
        assert getattr(bob.client, method)(url, headers=bob.headers).status_code == 404
    assert bob.client.post(f"{url}/complete", json={"newFormat": "zip"}, headers=bob.headers).status_code == 404
    sneaky = put(client, session["upload_url"], b"x" * 10, 0, 10, headers=bob.headers)
    assert sneaky.status_code == 404
    assert client.get(url).status_code == 401
    assert alice.client.get("/api/uploads/" + "0" * 32, headers=alice.headers).status_code == 404
    assert client.put("/api/uploads/" + "f" * 200, headers={"Content-Range": "bytes */1"}).status_code == 404
    assert put(client, session["upload_url"], b"x" * 10, 0, 10, headers=alice.headers).status_code == 200


def test_cancelled_session_is_gone_with_its_bytes(make_user, client, services):
    user = make_user()
    session = start(user, size=10).json
    put(client, session["upload_url"], b"12345", 0, 10)
    assert user.client.delete(f"/api/uploads/{session['id']}", headers=user.headers).status_code == 204
    assert user.client.get(f"/api/uploads/{session['id']}", headers=user.headers).status_code == 404
    assert list((services.storage.root / ".incoming" / "uploads").iterdir()) == []


def test_sweep_removes_abandoned_sessions_and_their_bytes_only(make_user, client, services):
    user = make_user()
    abandoned = start(user, size=10).json
    put(client, abandoned["upload_url"], b"12345", 0, 10)
    finished = start(user, size=3).json
    send_all(client, finished, b"abc")
    submitted = start(user, size=3).json
    send_all(client, submitted, b"xyz")
    task = user.client.post(f"/api/uploads/{submitted['id']}/complete", json={"newFormat": "zip"},
                            headers=user.headers).json
    fresh = start(user, size=10).json

    later = dt.datetime.now(dt.timezone.utc) + dt.timedelta(seconds=services.settings.upload_session_seconds + 1)
    with services.sessions() as db:
        db.get(UploadSession, fresh["id"]).expires_at = later + dt.timedelta(hours=1)
        db.commit()
    assert uploads.sweep_abandoned(services.sessions, services.storage, now=later) == 3
    with services.sessions() as db:
        assert [row.id for row in db.query(UploadSession)] == [fresh["id"]]
    assert len(list((services.storage.root / ".incoming" / "uploads").iterdir())) == 1  # fresh's part
    assert len(list((services.storage.root / "uploads").iterdir())) == 1  # the task's object only
    assert user.client.get(task["original_url"], headers=user.headers).data == b"xyz"
    assert user.client.get(f"/api/uploads/{abandoned['id']}", headers=user.headers).status_code == 404


def test_sweep_ignores_a_storage_without_resumable_uploads(services):
    class Fake:
        pass

    assert uploads.sweep_abandoned(services.sessions, Fake()) == 0


def test_a_retried_open_or_complete_with_the_same_key_makes_one_session_and_one_task(make_user, client, services):
    from comprimemelo.domain.models import Task

    user = make_user()
    data = os.urandom(1000)
    key = {"Idempotency-Key": "open-1"}
    first = user.client.post("/api/uploads", json={"fileName": "a.bin", "size": 1000}, headers={**user.headers, **key})
    again = user.client.post("/api/uploads", json={"fileName": "a.bin", "size": 1000}, headers={**user.headers, **key})
    assert first.status_code == again.status_code == 201
    assert again.json["id"] == first.json["id"] and again.headers["Idempotent-Replayed"] == "true"
    other = user.client.post("/api/uploads", json={"fileName": "b.bin", "size": 1000}, headers={**user.headers, **key})
    assert other.status_code == 422
    send_all(client, first.json, data)
    complete = {"Idempotency-Key": "complete-1", **user.headers}
    url = f"/api/uploads/{first.json['id']}/complete"
    done = user.client.post(url, json={"newFormat": "zip", "password": "an archive secret"}, headers=complete)
    replay = user.client.post(url, json={"newFormat": "zip", "password": "an archive secret"}, headers=complete)
    assert done.status_code == replay.status_code == 201, replay.json
    assert replay.json["id"] == done.json["id"] and done.json["encrypted"] is True
    with services.sessions() as session:
        assert session.query(UploadSession).count() == 1
        assert session.query(Task).count() == 1


def test_a_task_from_uploads_takes_a_webhook_as_a_multipart_upload_does(make_user, client, services):
    from comprimemelo.domain.models import TaskWebhook

    user = make_user()
    session = start(user, "hooked.txt", 5).json
    send_all(client, session, b"hooks")
    body = {"newFormat": "zip", "webhookUrl": "https://93.184.216.34/hook"}
    no_secret = user.client.post(f"/api/uploads/{session['id']}/complete", json=body, headers=user.headers)
    assert no_secret.status_code == 400 and no_secret.json["error"]["code"] == "webhook_secret_required"
    user.client.post("/api/notifications/webhook-secret", headers=user.headers)
    done = user.client.post(f"/api/uploads/{session['id']}/complete", json=body, headers=user.headers)
    assert done.status_code == 201, done.json
    with services.sessions() as db:
        assert db.get(TaskWebhook, done.json["id"]).url == body["webhookUrl"]
