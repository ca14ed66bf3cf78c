"""Deleting an account leaves nothing of it: every table and the storage are
listed to prove it, on SQLite and PostgreSQL, in embedded mode (local files);
the Cloud Storage side: tests/integration/test_uploads_gcs.py."""

from __future__ import annotations

import io

import sqlalchemy as sa

from comprimemelo.worker import Worker
from tests.conftest import PASSWORD


def everything_of(services, owner_id: int, username: str) -> dict[str, list]:
    """Every row of every table that names the user, their tasks or their name."""
    found = {}
    with services.engine.connect() as connection:
        inspector = sa.inspect(connection)
        task_ids = {row[0] for row in connection.execute(sa.text("SELECT id FROM tasks WHERE owner_id = :o"),
                                                         {"o": owner_id})}
        for table in inspector.get_table_names():
            columns = {column["name"] for column in inspector.get_columns(table)}
            rows = connection.execute(sa.text(f"SELECT * FROM {table}")).mappings().all()
            mine = [
                dict(row) for row in rows
                if any(row.get(name) == owner_id for name in ("owner_id", "user_id") if name in columns)
                or (table == "users" and row["id"] == owner_id)
                or ("task_id" in columns and row["task_id"] in task_ids)
                or any(isinstance(value, str) and username in value for value in row.values())
            ]
            if mine:
                found[table] = mine
    return found


def stored_files(services) -> list[str]:
    root = services.storage.root
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


def test_deleting_an_account_leaves_no_row_and_no_file_of_it(client, make_user, services):
    user, other = make_user("leaving"), make_user("staying")
    user.verify_email()
    client.post("/api/notifications/webhook-secret", headers=user.headers)
    client.put("/api/notifications", json={"email": True, "webhook_url": "https://93.184.216.34/hook"},
               headers=user.headers)
    done = user.upload("done.txt", b"processed " * 100, webhookUrl="https://93.184.216.34/task")
    queued = client.post("/api/tasks", content_type="multipart/form-data",
                         headers={**user.headers, "Idempotency-Key": "key-of-leaving"},
                         data={"fileName": (io.BytesIO(b"waiting"), "queued.txt"), "newFormat": "7z",
                               "password": "an archive secret"})
    assert done.status_code == queued.status_code == 201
    worker = Worker(services.settings, services.sessions, services.storage, services.queue)
    for delivery in services.queue.receive(1, timeout=1):
        worker.handle(delivery)  # one task processed (with its notifications), one still queued
    session = client.post("/api/uploads", json={"fileName": "half.bin", "size": 10}, headers=user.headers).json
    client.put(session["upload_url"], data=b"12345", headers={"Content-Range": "bytes 0-4/10"})
    kept = other.upload("theirs.txt", b"not yours").json
    before = stored_files(services)
    assert everything_of(services, user.id, "leaving") and len(before) >= 5

    wrong = client.delete("/api/account", json={"password": "not the password"}, headers=user.headers)
    assert wrong.status_code == 403 and wrong.json["error"]["code"] == "wrong_password"
    assert client.delete("/api/account", json={"password": PASSWORD}, headers=user.headers).status_code == 204

    # The queued task's message is dropped by the worker that receives it.
    for delivery in services.queue.receive(5, timeout=1):
        worker.handle(delivery)
    assert everything_of(services, user.id, "leaving") == {}
    theirs = [f"tasks/{prefix}" for prefix in other_prefixes(services, other.id)]
    assert all(any(name.startswith(prefix) for prefix in theirs) for name in stored_files(services))
    assert client.get("/api/tasks", headers=user.headers).status_code == 401
    assert client.get(f"/api/tasks/{kept['id']}", headers=other.headers).status_code == 200
    assert client.post("/api/auth/login", json={"username": "leaving", "password": PASSWORD}).status_code == 401


def other_prefixes(services, owner_id: int) -> list[str]:
    with services.engine.connect() as connection:
        return [row[0] for row in connection.execute(sa.text("SELECT storage_prefix FROM tasks WHERE owner_id = :o"),
                                                     {"o": owner_id})]


def test_files_storage_could_not_delete_go_at_the_next_sweep(client, make_user, services, monkeypatch):
    from comprimemelo.storage import StorageError

    user = make_user("unlucky")
    user.upload("a.txt", b"a")

    def down(_key):
        raise StorageError("storage is down")

    with monkeypatch.context() as patched:
        patched.setattr(services.storage, "delete", down)
        assert client.delete("/api/account", json={"password": PASSWORD}, headers=user.headers).status_code == 204
    assert stored_files(services)  # still there, and recorded
    with services.engine.connect() as connection:
        assert connection.scalar(sa.text("SELECT count(*) FROM storage_garbage")) == 1
    Worker(services.settings, services.sessions, services.storage, services.queue).sweeps.run()
    assert stored_files(services) == []
    with services.engine.connect() as connection:
        assert connection.scalar(sa.text("SELECT count(*) FROM storage_garbage")) == 0
