"""Encrypted archives end to end through the worker; the password is never stored."""

from __future__ import annotations

import io

import py7zr
import pyzipper
import sqlalchemy as sa

from comprimemelo import intake, sealed
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
