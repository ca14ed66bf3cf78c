"""Encrypted archives end to end through the worker; the password is never stored."""

from __future__ import annotations

import io

import py7zr
import pytest
import pyzipper
import sqlalchemy as sa

from comprimemelo import intake, sealed
from comprimemelo import worker as worker_module
from comprimemelo.compression import ArchiveFormat
from comprimemelo.models import Task
from comprimemelo.worker import PASSWORD_LOST, Worker
from tests.integration.test_worker import all_finished, run_until

PASSWORD = "open sesame, ñ 42"
DATA = b"confidential figures " * 3000


def create(services, owner_id: int, fmt: ArchiveFormat, sealed_password: str | None) -> int:
    command = intake.CreateTask(
        owner_id=owner_id, fmt=fmt, level=None, sealed_password=sealed_password,
        uploads=[intake.Upload("figures.txt", io.BytesIO(DATA), len(DATA))],
    )
    return intake.create_task(services.sessions, services.storage, services.queue, services.settings, command).id


def dump_database(services) -> bytes:
    """Every value of every row of every table, as one blob to search."""
    with services.engine.connect() as connection:
        rows = []
        for table in sa.inspect(services.engine).get_table_names():
            rows += [repr(tuple(row)) for row in connection.execute(sa.text(f"SELECT * FROM {table}"))]
    return "\n".join(rows).encode()


def test_zip_and_7z_come_out_encrypted_and_the_password_is_never_in_the_database(make_user, services):
    owner = make_user().id
    seal = sealed.seal(PASSWORD, services.settings.secret_key)
    zip_id = create(services, owner, ArchiveFormat.ZIP, seal)
    seven_id = create(services, owner, ArchiveFormat.SEVEN_Z, sealed.seal(PASSWORD, services.settings.secret_key))
    assert PASSWORD.encode() not in dump_database(services)
    worker = Worker(services.settings, services.sessions, services.storage, services.queue)
    run_until(worker, services, all_finished)
    with services.sessions() as session:
        zipped, seven = session.get(Task, zip_id), session.get(Task, seven_id)
        assert zipped.status == seven.status == "processed" and zipped.encrypted
        with services.storage.open(zipped.compressed_key) as handle:
            zip_bytes = handle.read()
        with services.storage.open(seven.compressed_key) as handle:
            seven_bytes = handle.read()
    with pyzipper.AESZipFile(io.BytesIO(zip_bytes)) as archive:
        archive.setpassword(PASSWORD.encode())
        assert archive.read("figures.txt") == DATA
    with py7zr.SevenZipFile(io.BytesIO(seven_bytes), password=PASSWORD) as archive:
        assert archive.needs_password()
    database = dump_database(services)
    assert PASSWORD.encode() not in database and seal.encode() not in database


def test_an_encrypted_task_whose_password_was_lost_fails_at_once_saying_why(make_user, services):
    """A republished message (the sweep's) cannot carry the password: no retries, a clear reason."""
    task_id = create(services, make_user().id, ArchiveFormat.ZIP, sealed_password=None)
    with services.sessions() as session:
        session.execute(sa.update(Task).where(Task.id == task_id).values(encrypted=True))
        session.commit()
    worker = Worker(services.settings, services.sessions, services.storage, services.queue)
    run_until(worker, services, all_finished)
    with services.sessions() as session:
        task = session.get(Task, task_id)
    assert task.status == "failed" and task.attempts == 1
    assert PASSWORD_LOST in task.error


@pytest.mark.parametrize("password", ["\x00secret", "line\u2028break", "tab\tinside"])
def test_a_password_with_control_characters_is_a_400_on_both_upload_paths(make_user, client, services, password):
    from tests.integration.test_api_task_options import upload_many
    from tests.integration.test_uploads_api import send_all

    user = make_user()
    response = upload_many(user, [("a.txt", b"x" * 100)], "7z", password=password)
    assert response.status_code == 400, response.json
    assert response.json["error"]["code"] == "invalid_password"
    assert "control or invisible characters" in response.json["error"]["message"]
    opened = user.client.post("/api/uploads", json={"fileName": "b.txt", "size": 100}, headers=user.headers)
    send_all(client, opened.json, b"y" * 100)
    completed = user.client.post(f"/api/uploads/{opened.json['id']}/complete",
                                 json={"newFormat": "zip", "password": password}, headers=user.headers)
    assert completed.status_code == 400 and completed.json["error"]["code"] == "invalid_password"
    with services.sessions() as session:
        assert session.query(Task).count() == 0


@pytest.mark.parametrize("fmt", [ArchiveFormat.ZIP, ArchiveFormat.SEVEN_Z])
def test_an_archive_the_prover_rejects_is_never_published(make_user, services, monkeypatch, fmt):
    """An engine that drops the password (as 7-Zip's did at a NUL) stands in for
    any such bug: the task fails saying why, and no archive reaches storage."""
    real_compress = worker_module.compress

    def engine_dropping_the_password(*args, password=None, **kwargs):
        assert password == PASSWORD
        return real_compress(*args, **kwargs)

    monkeypatch.setattr(worker_module, "compress", engine_dropping_the_password)
    stored = []
    real_put = services.storage.put_file
    monkeypatch.setattr(services.storage, "put_file", lambda key, path: stored.append(key) or real_put(key, path))
    task_id = create(services, make_user().id, fmt, sealed.seal(PASSWORD, services.settings.secret_key))
    run_until(Worker(services.settings, services.sessions, services.storage, services.queue), services, all_finished)
    with services.sessions() as session:
        task = session.get(Task, task_id)
        assert task.status == "failed" and task.attempts == 1 and task.compressed_key is None
        assert "not encrypted as asked" in task.error
    assert not [key for key in stored if "/archive/" in key]
    if hasattr(services.storage, "root"):
        assert not [path for path in services.storage.root.rglob("*") if "archive" in path.parts]
