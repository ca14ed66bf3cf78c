"""Creating a task (``services.intake``) with in-memory fakes of the ports: the
order of its steps, and what is left behind when one fails. Milliseconds: no
server, no file."""

from __future__ import annotations

import io

import pytest
import sqlalchemy as sa

from comprimemelo.compression import ArchiveFormat
from comprimemelo.domain.errors import InvalidInput
from comprimemelo.domain.models import Task, User
from comprimemelo.services import intake
from comprimemelo.services.quotas import QuotaExceeded
from comprimemelo.settings import Settings
from comprimemelo.storage import StorageError
from tests.conftest import TEST_SECRET_KEY
from tests.fakes import FakeQueue, FakeStorage, InMemoryUnitOfWork


@pytest.fixture
def settings() -> Settings:
    return Settings(secret_key=TEST_SECRET_KEY, quota_storage_bytes=100)


@pytest.fixture
def uow(settings):
    unit = InMemoryUnitOfWork(settings)
    with unit() as session:
        session.add(User(id=1, username="ana", email="ana@example.com", email_lower="ana@example.com",
                         password_hash="-"))
        session.commit()
    return unit


def command(*files: tuple[str, bytes], **changes) -> intake.CreateTask:
    uploads = [intake.Upload(name, io.BytesIO(data), len(data)) for name, data in files]
    return intake.CreateTask(owner_id=1, fmt=ArchiveFormat.ZIP, level=None, uploads=uploads, **changes)


def tasks_in(uow) -> list[Task]:
    with uow() as session:
        return list(session.scalars(sa.select(Task)))


def test_bytes_go_to_storage_with_no_turn_held_and_the_publish_follows_the_commit(uow, settings):
    storage, queue = FakeStorage(), FakeQueue()
    turns_while_storing, tasks_at_publish = [], []
    storage.on_put = lambda key: turns_while_storing.append(uow.open_turns)
    queue.on_publish = lambda message: tasks_at_publish.append((uow.open_turns, len(tasks_in(uow))))
    task = intake.create_task(uow, storage, queue, settings, command(("a.txt", b"alpha"), ("b.txt", b"beta")))
    assert turns_while_storing == [0, 0]
    assert tasks_at_publish == [(0, 1)]  # committed, and no turn held, before the message goes
    assert [m.task_id for m in queue.published] == [task.id]
    assert sorted(storage.objects.values()) == [b"alpha", b"beta"]
    assert task.published_at is not None and task.size_original == 9


def test_over_a_quota_at_first_look_nothing_is_stored(uow, settings):
    storage, queue = FakeStorage(), FakeQueue()
    intake.create_task(uow, storage, queue, settings, command(("a.bin", b"x" * 60)))
    with pytest.raises(QuotaExceeded) as refused:
        intake.create_task(uow, storage, queue, settings, command(("b.bin", b"y" * 50)))
    assert refused.value.quota.value == "storage_bytes"
    assert list(storage.objects.values()) == [b"x" * 60] and len(queue.published) == 1


def test_a_commit_refused_after_the_bytes_were_stored_deletes_them(uow, settings):
    """Another upload takes the room while this one's bytes go to storage: the
    binding check at commit refuses, and what was stored goes."""
    storage, queue = FakeStorage(), FakeQueue()

    def another_upload_lands(_key):
        with uow() as session:
            session.execute(sa.update(User).values(stored_bytes=90))
            session.commit()

    storage.on_put = another_upload_lands
    with pytest.raises(QuotaExceeded):
        intake.create_task(uow, storage, queue, settings, command(("b.bin", b"y" * 50)))
    assert storage.objects == {} and queue.published == [] and tasks_in(uow) == []


def test_a_storage_outage_leaves_nothing(uow, settings):
    storage, queue = FakeStorage(), FakeQueue()
    storage.down = True
    with pytest.raises(StorageError):
        intake.create_task(uow, storage, queue, settings, command(("a.txt", b"a")))
    assert storage.objects == {} and queue.published == [] and tasks_in(uow) == []


def test_a_failed_publish_keeps_the_task_for_the_sweep(uow, settings):
    storage, queue = FakeStorage(), FakeQueue()
    queue.down = True
    task = intake.create_task(uow, storage, queue, settings, command(("a.txt", b"a")))
    [kept] = tasks_in(uow)
    assert kept.id == task.id and kept.status == "uploaded" and kept.published_at is not None


def test_limits_are_checked_before_anything_is_stored(uow, settings):
    storage, queue = FakeStorage(), FakeQueue()
    for wrong, code in ((command(), "missing_file"),
                        (command(*[(f"{n}.txt", b"x") for n in range(3)]), "too_many_files")):
        with pytest.raises(InvalidInput) as refused:
            intake.create_task(uow, storage, queue, settings.replace(max_files_per_task=2), wrong)
        assert refused.value.code == code
    assert storage.objects == {} and tasks_in(uow) == []
