"""``/api/tasks`` and ``/api/files`` through the Flask test client, on real
storage and the real queue (the worker is not running here)."""

import datetime as dt
import io
import zipfile

import pytest

from comprimemelo.bootstrap import build_web, open_backends
from comprimemelo.domain.models import Task


def error_code(response):
    assert response.is_json, response.data
    return response.json["error"]["code"]


def test_upload_returns_201_with_the_task_and_its_location(make_user):
    user = make_user()
    response = user.upload("report.txt", b"hello world", "ZIP")
    assert response.status_code == 201
    task = response.json
    assert response.headers["Location"].endswith(f"/api/tasks/{task['id']}")
    assert task["filename"] == "report.txt"
    assert task["new_format"] == "zip"
    assert task["status"] == "uploaded"
    assert task["size_original"] == 11
    assert task["size_compressed"] is None and task["compressed_url"] is None
    assert task["original_url"] == f"/api/tasks/{task['id']}/original"


@pytest.mark.parametrize("raw, expected", [("zip", "zip"), (".tar.gz", "tar.gz"), ("TAR.ZST", "tar.zst"), ("7Z", "7z")])
def test_format_is_case_insensitive_and_may_start_with_a_dot(make_user, raw, expected):
    assert make_user().upload("a.txt", b"x", raw).json["new_format"] == expected


def test_upload_queues_the_task(make_user, services):
    task = make_user().upload("a.txt", b"x", "tar.xz").json
    deliveries = services.queue.receive(10, timeout=1)
    assert [(d.message.task_id, d.message.format) for d in deliveries] == [(task["id"], "tar.xz")]


@pytest.mark.parametrize(
    "fields, code",
    [
        ({"newFormat": "rar"}, "invalid_format"),
        ({"newFormat": ""}, "missing_field"),
        ({"level": "99"}, "invalid_level"),
        ({"level": "fast"}, "invalid_level"),
    ],
)
def test_upload_rejects_bad_fields(make_user, fields, code):
    user = make_user()
    data = {"fileName": (io.BytesIO(b"x"), "a.txt"), "newFormat": "zip", **fields}
    response = user.client.post("/api/tasks", data=data, headers=user.headers, content_type="multipart/form-data")
    assert response.status_code == 400
    assert error_code(response) == code


def test_upload_without_a_file_is_400(make_user):
    user = make_user()
    response = user.client.post(
        "/api/tasks", data={"newFormat": "zip"}, headers=user.headers, content_type="multipart/form-data"
    )
    assert response.status_code == 400
    assert error_code(response) == "missing_file"


def test_upload_that_is_not_multipart_is_415(make_user):
    user = make_user()
    response = user.client.post("/api/tasks", json={"newFormat": "zip"}, headers=user.headers)
    assert response.status_code == 415


def test_upload_needs_a_token(client):
    response = client.post(
        "/api/tasks", data={"fileName": (io.BytesIO(b"x"), "a.txt"), "newFormat": "zip"},
        content_type="multipart/form-data",
    )
    assert response.status_code == 401


def test_a_rejected_upload_leaves_nothing_behind(make_user, services):
    make_user().upload("a.txt", b"x", "rar")
    assert not [p for p in services.storage.root.rglob("*") if p.is_file()]


def test_upload_over_the_limit_is_413(settings, make_user, tmp_path):
    small = open_backends(settings.replace(max_upload_bytes=1000))
    client = build_web(small.settings, backends=small).test_client()
    from tests.conftest import ApiUser

    user = ApiUser(client, "bob")
    response = user.upload("big.bin", b"x" * 5000)
    assert response.status_code == 413
    assert error_code(response) == "request_entity_too_large"
    assert "1000 bytes" in response.json["error"]["message"]
    small.close()


@pytest.mark.parametrize(
    "hostile, safe",
    [
        ("../../etc/passwd", "passwd"),
        ("/etc/shadow", "shadow"),
        # Multipart parsers differ on backslashes (Werkzeug >= 3.1.9 reads them as
        # quoted-string escapes): either way no separator may survive.
        ("C:\\Windows\\evil.exe", None),
        ("a\x00b.txt", None),
        ("x" * 1000 + ".txt", None),
    ],
)
def test_hostile_file_names_never_escape_storage(make_user, services, hostile, safe):
    response = make_user().upload(hostile, b"data")
    assert response.status_code == 201
    name = response.json["filename"]
    assert "/" not in name and "\\" not in name and "\x00" not in name
    assert len(name.encode()) <= 255
    if safe:
        assert name == safe
    root = services.storage.root
    stored = [p for p in root.rglob("*") if p.is_file()]
    assert len(stored) == 1 and root in stored[0].parents
    assert name not in str(stored[0])


def test_list_orders_and_limits(make_user):
    user = make_user()
    ids = [user.upload(f"{i}.txt", b"x").json["id"] for i in range(5)]
    client = user.client
    assert [t["id"] for t in client.get("/api/tasks", headers=user.headers).json] == ids
    assert [t["id"] for t in client.get("/api/tasks?order=1", headers=user.headers).json] == ids[::-1]
    assert [t["id"] for t in client.get("/api/tasks?order=1&max=2", headers=user.headers).json] == ids[-1:-3:-1]
    assert [t["id"] for t in client.get("/api/tasks?max=3", headers=user.headers).json] == ids[:3]


@pytest.mark.parametrize("query", ["max=0", "max=x", "order=2", "order=-1"])
def test_list_rejects_bad_query_parameters(make_user, query):
    user = make_user()
    response = user.client.get(f"/api/tasks?{query}", headers=user.headers)
    assert response.status_code == 400


def test_users_see_only_their_own_tasks(make_user):
    alice, bob = make_user("alice"), make_user("bob")
    task = alice.upload("secret.txt", b"alice only").json
    client = alice.client
    assert client.get("/api/tasks", headers=bob.headers).json == []
    for method, path in [
        ("get", f"/api/tasks/{task['id']}"),
        ("get", f"/api/tasks/{task['id']}/original"),
        ("get", f"/api/tasks/{task['id']}/compressed"),
        ("delete", f"/api/tasks/{task['id']}"),
        ("get", "/api/files/secret.txt"),
    ]:
        response = getattr(client, method)(path, headers=bob.headers)
        assert response.status_code == 404, (method, path)
    assert client.get(f"/api/tasks/{task['id']}", headers=alice.headers).status_code == 200


def test_get_unknown_task_is_404(make_user):
    user = make_user()
    response = user.client.get("/api/tasks/999", headers=user.headers)
    assert response.status_code == 404
    assert error_code(response) == "not_found"


@pytest.mark.parametrize("task_id", [2**31, 2**63, 25442576464058096377921536])
@pytest.mark.parametrize("suffix", ["", "/original", "/compressed"])
def test_task_ids_beyond_the_database_range_are_404(make_user, task_id, suffix):
    user = make_user()
    response = user.client.get(f"/api/tasks/{task_id}{suffix}", headers=user.headers)
    assert response.status_code == 404 and error_code(response) == "not_found"
    response = user.client.delete(f"/api/tasks/{task_id}", headers=user.headers)
    assert response.status_code == 404 and error_code(response) == "not_found"


def test_original_downloads_as_an_attachment(make_user):
    user = make_user()
    task = user.upload("résumé.txt", b"the original bytes").json
    response = user.client.get(task["original_url"], headers=user.headers)
    assert response.status_code == 200
    assert response.data == b"the original bytes"
    assert "attachment" in response.headers["Content-Disposition"]
    by_name = user.client.get("/api/files/résumé.txt", headers=user.headers)
    assert by_name.data == b"the original bytes"


def test_compressed_is_409_until_processed(make_user):
    user = make_user()
    task = user.upload("a.txt", b"x").json
    response = user.client.get(f"/api/tasks/{task['id']}/compressed", headers=user.headers)
    assert response.status_code == 409
    assert error_code(response) == "not_processed"


def test_delete_removes_the_task_and_its_files(make_user, services):
    user = make_user()
    task = user.upload("a.txt", b"x").json
    assert user.client.delete(f"/api/tasks/{task['id']}", headers=user.headers).status_code == 204
    assert user.client.get(f"/api/tasks/{task['id']}", headers=user.headers).status_code == 404
    assert not [p for p in services.storage.root.rglob("*") if p.is_file()]


def test_delete_while_processing_is_409(make_user, services):
    from comprimemelo.services import leases

    user = make_user()
    task = user.upload("a.txt", b"x").json
    with services.sessions() as session:
        leases.claim(session, task["id"], "w1", lease_seconds=60, max_attempts=3)
    response = user.client.delete(f"/api/tasks/{task['id']}", headers=user.headers)
    assert response.status_code == 409
    assert error_code(response) == "task_busy"


def test_processed_archive_downloads_with_its_media_type(make_user, services):
    from comprimemelo.worker import Worker

    user = make_user()
    task = user.upload("notes.txt", b"compress me " * 100, "zip").json
    worker = Worker(services.settings, services.sessions, services.storage, services.queue)
    for delivery in services.queue.receive(1, timeout=1):
        worker.handle(delivery)
    done = user.client.get(f"/api/tasks/{task['id']}", headers=user.headers).json
    assert done["status"] == "processed"
    response = user.client.get(done["compressed_url"], headers=user.headers)
    assert response.status_code == 200
    assert response.mimetype == "application/zip"
    assert 'filename=notes.txt.zip' in response.headers["Content-Disposition"]
    with zipfile.ZipFile(io.BytesIO(response.data)) as archive:
        assert archive.read("notes.txt") == b"compress me " * 100
    by_name = user.client.get("/api/files/notes.txt.zip", headers=user.headers)
    assert by_name.data == response.data
    assert "Accept" in response.headers["Vary"]
    as_bytes = user.client.get(done["compressed_url"], headers={**user.headers, "Accept": "application/octet-stream"})
    assert as_bytes.mimetype == "application/octet-stream" and as_bytes.data == response.data
    preferred = user.client.get(done["compressed_url"], headers={**user.headers, "Accept": "application/zip, */*;q=0.1"})
    assert preferred.mimetype == "application/zip"


def test_unknown_routes_and_methods_answer_json(client):
    response = client.get("/api/nope")
    assert response.status_code == 404 and error_code(response) == "not_found"
    response = client.put("/api/tasks")
    assert response.status_code == 405 and error_code(response) == "method_not_allowed"


def test_health_and_readiness(client):
    assert client.get("/healthz").json == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json["checks"] == {"database": "ok", "storage": "ok", "queue": "ok"}


def test_openapi_document_is_valid_and_lists_every_route(client, app):
    from openapi_spec_validator import validate

    document = client.get("/api/openapi.json").json
    validate(document)
    documented = {path.replace("{", "<").replace("}", ">") for path in document["paths"]}
    for rule in app.url_map.iter_rules():
        path = str(rule).replace("<int:", "<").replace("<path:", "<")
        if path.startswith("/api/") and path not in ("/api/openapi.json", "/api/docs"):
            assert path in documented, path
    assert client.get("/api/docs").status_code == 200


def test_listed_urls_are_the_routes_own_under_a_mount_prefix(app, make_user):
    """The list formats its URLs instead of calling url_for (cost): they must
    still be url_for's, also when the app is mounted under a path."""
    from flask import url_for

    user = make_user()
    task_id = user.upload("a.txt", b"x", "zip").json["id"]
    mounted = "http://localhost/mounted/"
    listed = user.client.get("/api/tasks", headers=user.headers, base_url=mounted).json
    with app.test_request_context("/", base_url=mounted):
        assert listed[0]["original_url"] == url_for("api_tasks.download_original", task_id=task_id)
        assert listed[0]["original_url"].startswith("/mounted/api/")


def test_a_list_shows_every_file_of_each_task_in_order(make_user):
    user = make_user()
    response = user.client.post(
        "/api/tasks",
        data={"fileName": [(io.BytesIO(b"1"), "one.txt"), (io.BytesIO(b"22"), "two.txt")], "newFormat": "zip"},
        headers=user.headers, content_type="multipart/form-data",
    )
    assert response.status_code == 201
    user.upload("single.txt", b"333", "zip")
    listed = user.client.get("/api/tasks?order=1", headers=user.headers).json
    assert [[f["filename"] for f in task["files"]] for task in listed] == [["single.txt"], ["one.txt", "two.txt"]]
    assert [task["size_original"] for task in listed] == [3, 3]


@pytest.mark.parametrize(
    "when",
    [
        dt.datetime(2026, 3, 1, 12, 0, 0, tzinfo=dt.timezone.utc),  # whole second: still 6 digits
        dt.datetime(2026, 3, 1, 13, 30, 5, 42, tzinfo=dt.timezone(dt.timedelta(hours=2))),  # not UTC
    ],
)
def test_listed_timestamps_are_the_single_tasks_written_by_the_database(make_user, services, when):
    user = make_user()
    task_id = user.upload("a.txt", b"x", "zip").json["id"]
    with services.sessions() as session:
        task = session.get(Task, task_id)
        task.created_at = task.processed_at = task.expires_at = when
        session.commit()
    single = user.client.get(f"/api/tasks/{task_id}", headers=user.headers).json
    (listed,) = user.client.get("/api/tasks", headers=user.headers).json
    expected = when.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    for field in ("created_at", "processed_at", "expires_at"):
        assert listed[field] == single[field] == expected


def test_a_file_is_found_by_name_in_one_statement_whatever_the_number_of_tasks(make_user, services):
    """The newest match wins, archives of one file and of several are found by
    their names, another user's files never; and it is one statement, not one per task."""
    import sqlalchemy as sa

    from comprimemelo.domain.models import Task
    from comprimemelo.services import tasks as task_service

    user, other = make_user("finder"), make_user("other")
    for index in range(30):
        assert user.upload(f"f{index}.txt", b"x").status_code == 201
    old = user.upload("same.txt", b"old").json
    new = user.upload("same.txt", b"new").json
    assert other.upload("theirs.txt", b"not yours").status_code == 201
    many = user.client.post(
        "/api/tasks", headers=user.headers, content_type="multipart/form-data",
        data={"fileName": [(io.BytesIO(b"1"), "one.txt"), (io.BytesIO(b"2"), "two.txt")], "newFormat": "tar.gz"},
    ).json
    with services.engine.begin() as connection:  # as if a worker had made their archives
        for task_id, key in ((old["id"], "tasks/x/archive/old.zip"), (many["id"], "tasks/x/archive/many.tar.gz")):
            connection.execute(sa.update(Task).where(Task.id == task_id)
                               .values(status="processed", compressed_key=key, size_compressed=1))
    statements = []

    def count(_connection, _cursor, statement, *_args):
        statements.append(statement)

    sa.event.listen(services.engine, "before_cursor_execute", count)
    try:
        with services.engine.connect() as connection:
            found = [
                task_service.find_file_by_name(connection, user.id, name)
                for name in ("same.txt", "same.txt.zip", f"archive-{many['id']}.tar.gz", "two.txt", "f7.txt")
            ]
    finally:
        sa.event.remove(services.engine, "before_cursor_execute", count)
    assert len(statements) == len(found)
    assert [(item.task_id, item.kind) for item in found] == [
        (new["id"], "original"), (old["id"], "compressed"), (many["id"], "compressed"),
        (many["id"], "original"), (found[-1].task_id, "original"),
    ]
    assert found[1].storage_key == "tasks/x/archive/old.zip" and found[1].media_type == "application/zip"
    with services.engine.connect() as connection:
        for name in ("theirs.txt", "f7.txt.zip", f"archive-{many['id']}.zip", "archive-1.tar.gz"):
            with pytest.raises(task_service.NotFound):
                task_service.find_file_by_name(connection, user.id, name)
