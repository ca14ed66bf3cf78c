"""POST /api/tasks options: many files in one archive, presets, passwords,
retention and idempotency keys."""

from __future__ import annotations

import datetime as dt
import io
import threading

import pytest
import pyzipper

from comprimemelo.domain.models import IdempotencyKey, Task
from comprimemelo.worker import Worker
from tests.archives import read_members


def upload_many(user, files: list[tuple[str, bytes]], fmt="zip", headers=None, **fields):
    return user.client.post(
        "/api/tasks",
        data={"fileName": [(io.BytesIO(data), name) for name, data in files], "newFormat": fmt, **fields},
        headers={**user.headers, **(headers or {})},
        content_type="multipart/form-data",
    )


def archive_of(services, task_id: int) -> bytes:
    with services.sessions() as session:
        task = session.get(Task, task_id)
        assert task.status == "processed", task.error
        with services.storage.open(task.compressed_key) as handle:
            return handle.read()


@pytest.mark.parametrize("fmt", ["zip", "7z", "tar.gz", "tar.zst"])
def test_many_files_make_one_archive_with_duplicates_disambiguated(make_user, services, fmt):
    user = make_user()
    files = [("report.txt", b"one"), ("dir/report.txt", b"two"), ("REPORT.txt", b"three"), ("b.tar.gz", b"four")]
    response = upload_many(user, files, fmt)
    assert response.status_code == 201, response.json
    task = response.json
    assert [f["filename"] for f in task["files"]] == ["report.txt", "report (1).txt", "REPORT (2).txt", "b.tar.gz"]
    assert task["size_original"] == 3 + 3 + 5 + 4
    Worker(services.settings, services.sessions, services.storage, services.queue).drain()
    assert read_members(archive_of(services, task["id"]), fmt) == {
        "report.txt": b"one", "report (1).txt": b"two", "REPORT (2).txt": b"three", "b.tar.gz": b"four",
    }
    second = user.client.get(f"/api/tasks/{task['id']}/original?file=1", headers=user.headers)
    assert second.data == b"two"


def test_file_count_and_total_size_are_limited(settings, make_user):
    from comprimemelo.bootstrap import build_web
    from tests.conftest import ApiUser

    app = build_web(settings.replace(max_files_per_task=2, max_task_bytes=10))
    user = ApiUser(app.test_client(), "limited")
    too_many = upload_many(user, [("a", b"1"), ("b", b"2"), ("c", b"3")])
    assert too_many.status_code == 400 and too_many.json["error"]["code"] == "too_many_files"
    too_big = upload_many(user, [("a", b"123456"), ("b", b"789012")])
    assert too_big.status_code == 413 and too_big.json["error"]["code"] == "payload_too_large"
    assert user.client.get("/api/tasks", headers=user.headers).json == []


@pytest.mark.parametrize(
    "fmt, level, expected", [("zip", "fastest", 1), ("tar.zst", "SMALLEST", 19), ("tar.xz", "balanced", 6), ("7z", "3", 3)]
)
def test_levels_are_numbers_or_presets(make_user, fmt, level, expected):
    response = upload_many(make_user(), [("a.txt", b"x")], fmt, level=level)
    assert response.status_code == 201 and response.json["level"] == expected


@pytest.mark.parametrize("level", ["20", "-1", "fast", "1.5"])
def test_bad_levels_name_the_range_and_the_presets(make_user, level):
    response = upload_many(make_user(), [("a.txt", b"x")], "tar.zst", level=level)
    assert response.status_code == 400
    assert response.json["error"]["code"] == "invalid_level"
    assert "1 to 19" in response.json["error"]["message"] and "smallest" in response.json["error"]["message"]


def test_a_password_makes_an_aes_zip_and_is_stored_nowhere(make_user, services):
    user = make_user()
    response = upload_many(user, [("secret.txt", b"classified " * 100)], "zip", password="hunter2 but longer")
    assert response.status_code == 201 and response.json["encrypted"] is True
    Worker(services.settings, services.sessions, services.storage, services.queue).drain()
    with pyzipper.AESZipFile(io.BytesIO(archive_of(services, response.json["id"]))) as archive:
        archive.setpassword(b"hunter2 but longer")
        assert archive.read("secret.txt") == b"classified " * 100
    from tests.integration.test_worker_encryption import dump_database

    assert b"hunter2" not in dump_database(services)


def test_a_password_for_a_format_without_encryption_is_refused(make_user):
    response = upload_many(make_user(), [("a.txt", b"x")], "tar.gz", password="secret")
    assert response.status_code == 400 and response.json["error"]["code"] == "encryption_unsupported"


def test_retention_defaults_to_the_deployments_and_accepts_hours_within_the_maximum(make_user, settings):
    user = make_user()
    before = dt.datetime.now(dt.timezone.utc)
    default = upload_many(user, [("a.txt", b"x")]).json
    expires = dt.datetime.fromisoformat(default["expires_at"].replace("Z", "+00:00"))
    assert abs((expires - before).total_seconds() - settings.retention_seconds) < 60
    short = upload_many(user, [("a.txt", b"x")], retentionHours="2").json
    expires = dt.datetime.fromisoformat(short["expires_at"].replace("Z", "+00:00"))
    assert abs((expires - before).total_seconds() - 7200) < 60
    too_long = upload_many(user, [("a.txt", b"x")], retentionHours=str(settings.max_retention_seconds // 3600 + 1))
    assert too_long.status_code == 400 and too_long.json["error"]["code"] == "invalid_retention"


def test_a_retried_upload_with_the_same_key_returns_the_first_task(make_user, services):
    user = make_user()
    key = {"Idempotency-Key": "upload-7f3a9c"}
    first = upload_many(user, [("a.txt", b"hello")], headers=key)
    again = upload_many(user, [("a.txt", b"hello")], headers=key)
    assert first.status_code == again.status_code == 201
    assert again.json == first.json and again.headers["Idempotent-Replayed"] == "true"
    assert again.headers["Location"] == first.headers["Location"]
    assert len(user.client.get("/api/tasks", headers=user.headers).json) == 1
    with services.sessions() as session:
        assert session.query(Task).count() == 1


def test_the_same_key_for_another_request_is_refused(make_user):
    user = make_user()
    key = {"Idempotency-Key": "key-1"}
    assert upload_many(user, [("a.txt", b"hello")], headers=key).status_code == 201
    other = upload_many(user, [("b.txt", b"other")], headers=key)
    assert other.status_code == 422 and other.json["error"]["code"] == "idempotency_key_reused"


def test_keys_belong_to_their_user(make_user):
    alice, bob = make_user("alice"), make_user("bob")
    key = {"Idempotency-Key": "shared-key"}
    assert upload_many(alice, [("a.txt", b"x")], headers=key).status_code == 201
    response = upload_many(bob, [("a.txt", b"x")], headers=key)
    assert response.status_code == 201 and "Idempotent-Replayed" not in response.headers
    assert len(bob.client.get("/api/tasks", headers=bob.headers).json) == 1


def test_a_failed_request_does_not_burn_its_key(make_user):
    user = make_user()
    key = {"Idempotency-Key": "retry-after-fix"}
    assert upload_many(user, [("a.txt", b"x")], "rar", headers=key).status_code == 400
    fixed = upload_many(user, [("a.txt", b"x")], "rar", headers=key)
    assert fixed.status_code == 400  # validated again, not replayed or refused


@pytest.mark.parametrize("key", ["", "has space", "x" * 256, "ñ"])
def test_malformed_keys_are_refused(make_user, key):
    response = upload_many(make_user(), [("a.txt", b"x")], headers={"Idempotency-Key": key})
    assert response.status_code == 400 and response.json["error"]["code"] == "invalid_idempotency_key"


def test_concurrent_retries_with_one_key_create_one_task(app, make_user, services):
    user = make_user()
    results = []

    def send():
        client = app.test_client()
        response = client.post(
            "/api/tasks",
            data={"fileName": (io.BytesIO(b"same body"), "a.txt"), "newFormat": "zip"},
            headers={**user.headers, "Idempotency-Key": "race-key"},
            content_type="multipart/form-data",
        )
        results.append((response.status_code, response.get_json()))

    threads = [threading.Thread(target=send) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    statuses = sorted(status for status, _ in results)
    assert set(statuses) <= {201, 409} and 201 in statuses, results
    ids = {body["id"] for status, body in results if status == 201}
    assert len(ids) == 1
    with services.sessions() as session:
        assert session.query(Task).count() == 1
        assert session.query(IdempotencyKey).count() == 1


def test_formats_list_their_ranges_presets_and_encryption(client):
    formats = {entry["format"]: entry for entry in client.get("/api/formats").json}
    assert set(formats) == {"zip", "7z", "tar.gz", "tar.bz2", "tar.xz", "tar.zst"}
    assert formats["tar.zst"]["levels"] == {"min": 1, "max": 19, "default": 3}
    assert formats["tar.zst"]["presets"] == {"fastest": 1, "balanced": 3, "smallest": 19}
    assert formats["7z"]["encryption"] == "aes-256" and formats["tar.gz"]["encryption"] is None
