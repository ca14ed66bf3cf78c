"""Encrypted archives end to end through the worker. The password is never stored in
clear; sealed, it stays on the task until the task finishes, fails or expires."""

from __future__ import annotations

import datetime as dt
import io

import py7zr
import pytest
import pyzipper
import sqlalchemy as sa

from comprimemelo.compression import ArchiveFormat
from comprimemelo.domain.models import Task, utcnow
from comprimemelo.queue import TaskMessage
from comprimemelo.services import intake, sealed, tasks
from comprimemelo.worker import PASSWORD_LOST, Worker
from comprimemelo.worker import loop as worker_module
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
    worker.drain()
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


def read_zip(services, task_id: int) -> bytes:
    with services.sessions() as session:
        task = session.get(Task, task_id)
        assert task.status == "processed" and task.encrypted, (task.status, task.error)
        with services.storage.open(task.compressed_key) as handle:
            data = handle.read()
    with pyzipper.AESZipFile(io.BytesIO(data)) as archive:
        assert archive.getinfo("figures.txt").flag_bits & 0x1, "encrypted"
        archive.setpassword(PASSWORD.encode())
        return archive.read("figures.txt")


def sealed_password_of(services, task_id: int) -> str | None:
    with services.sessions() as session:
        return session.get(Task, task_id).sealed_password


def test_an_encrypted_task_whose_message_was_lost_is_republished_and_still_encrypted(make_user, services):
    """The sealed password is on the task, so the sweep can publish the task again (it failed
    with ``PASSWORD_LOST`` when the lost message alone carried the password)."""
    seal = sealed.seal(PASSWORD, services.settings.secret_key)
    task_id = create(services, make_user().id, ArchiveFormat.ZIP, seal)
    assert sealed_password_of(services, task_id) == seal
    services.queue._lease_available(10)  # the message is lost
    with services.sessions() as session:
        session.execute(sa.update(Task).values(published_at=None))
        session.commit()
    worker = Worker(services.settings.replace(republish_after_seconds=0), services.sessions, services.storage,
                    services.queue)
    worker.sweeps.run()  # publishes the task again
    worker.drain()
    assert read_zip(services, task_id) == DATA
    assert sealed_password_of(services, task_id) is None


def test_messages_carry_a_copy_of_the_sealed_password_for_workers_from_before_the_upgrade(make_user, services):
    """Those read it from the message only: webs and workers of both versions work together."""
    seal = sealed.seal(PASSWORD, services.settings.secret_key)
    task_id = create(services, make_user().id, ArchiveFormat.ZIP, seal)
    (published,) = services.queue.receive(10, timeout=1)
    with services.sessions() as session:
        tasks.republish_stale(session, services.queue, dt.timedelta(0))
    (republished,) = services.queue.receive(10, timeout=1)
    assert published.message.task_id == republished.message.task_id == task_id
    assert published.message.sealed_password == republished.message.sealed_password == seal


def test_a_message_from_before_the_upgrade_hands_its_sealed_password_to_the_task(make_user, services):
    """Messages published before migration 0007 alone carried the sealed password."""
    seal = sealed.seal(PASSWORD, services.settings.secret_key)
    task_id = create(services, make_user().id, ArchiveFormat.ZIP, sealed_password=None)
    with services.sessions() as session:
        session.execute(sa.update(Task).where(Task.id == task_id).values(encrypted=True))
        session.commit()
    services.queue._lease_available(10)  # drop the new-style message...
    services.queue.publish(TaskMessage(task_id=task_id, format="zip", sealed_password=seal))  # ...for an old one
    worker = Worker(services.settings, services.sessions, services.storage, services.queue)
    worker.drain()
    assert read_zip(services, task_id) == DATA


def test_the_sealed_password_is_erased_when_the_task_fails_or_expires(make_user, services):
    owner = make_user().id
    seal = sealed.seal(PASSWORD, services.settings.secret_key)
    doomed, expiring = (create(services, owner, ArchiveFormat.SEVEN_Z, seal) for _ in range(2))
    with services.sessions() as session:
        services.storage.delete(session.get(Task, doomed).files[0].storage_key)
        session.execute(sa.update(Task).where(Task.id == expiring)
                        .values(expires_at=utcnow() - dt.timedelta(seconds=1)))
        session.commit()
    worker = Worker(services.settings.replace(max_attempts=1), services.sessions, services.storage, services.queue)
    assert worker.sweeps.expire_due() == 1
    run_until(worker, services, lambda session: session.get(Task, doomed).status == "failed")
    with services.sessions() as session:
        assert session.get(Task, expiring).status == "expired"
    assert seal.encode() not in dump_database(services)


def test_an_encrypted_task_whose_password_was_lost_fails_at_once_saying_why(make_user, services):
    """A task accepted before the password was kept on the task, whose message
    (which alone carried it) was lost: no retries, a clear reason."""
    task_id = create(services, make_user().id, ArchiveFormat.ZIP, sealed_password=None)
    with services.sessions() as session:
        session.execute(sa.update(Task).where(Task.id == task_id).values(encrypted=True))
        session.commit()
    worker = Worker(services.settings, services.sessions, services.storage, services.queue)
    worker.drain()
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
