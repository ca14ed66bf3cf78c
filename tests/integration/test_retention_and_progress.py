"""Retention ends in ``expired`` with the files gone; progress is recorded while processing."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from comprimemelo.domain.models import Task, utcnow
from comprimemelo.services import leases
from comprimemelo.storage import ObjectNotFound
from comprimemelo.worker import ProgressReporter, Worker


def backdate(services, task_id: int) -> None:
    with services.sessions() as session:
        session.execute(sa.update(Task).where(Task.id == task_id).values(expires_at=utcnow() - dt.timedelta(seconds=1)))
        session.commit()


def test_an_expired_task_loses_its_files_and_answers_410(make_user, services):
    user = make_user()
    task_id = user.upload("old.txt", b"old news " * 100).json["id"]
    worker = Worker(services.settings, services.sessions, services.storage, services.queue)
    worker.drain()
    with services.sessions() as session:
        task = session.get(Task, task_id)
        keys = [f.storage_key for f in task.files] + [task.compressed_key]
    assert worker.sweeps.expire_due() == 0  # not due yet
    backdate(services, task_id)
    assert worker.sweeps.expire_due() == 1
    for key in keys:
        try:
            services.storage.open(key).close()
            raise AssertionError(f"{key} survived its retention")
        except ObjectNotFound:
            pass
    shown = user.client.get(f"/api/tasks/{task_id}", headers=user.headers).json
    assert shown["status"] == "expired" and shown["original_url"] is None and shown["compressed_url"] is None
    for path in (f"/api/tasks/{task_id}/original", f"/api/tasks/{task_id}/compressed", "/api/files/old.txt"):
        response = user.client.get(path, headers=user.headers)
        assert response.status_code == 410 and response.json["error"]["code"] == "expired", path
    assert worker.sweeps.expire_due() == 0  # once


def test_a_task_being_processed_expires_only_after_it_ends(make_user, services):
    user = make_user()
    task_id = user.upload("busy.txt", b"x").json["id"]
    with services.sessions() as session:
        leases.claim(session, task_id, "other-worker", lease_seconds=60, max_attempts=3)
    backdate(services, task_id)
    worker = Worker(services.settings, services.sessions, services.storage, services.queue)
    assert worker.sweeps.expire_due() == 0
    with services.sessions() as session:
        assert session.get(Task, task_id).status == "processing"


def test_progress_is_recorded_for_the_lease_holder_at_most_once_a_second(make_user, services):
    user = make_user()
    task_id = user.upload("big.txt", b"x").json["id"]
    worker = Worker(services.settings, services.sessions, services.storage, services.queue)
    with services.sessions() as session:
        leases.claim(session, task_id, worker.id, lease_seconds=60, max_attempts=3)

    def progress() -> int | None:
        return user.client.get(f"/api/tasks/{task_id}", headers=user.headers).json["progress"]

    assert progress() == 0
    reporter = ProgressReporter(worker, task_id)
    reporter.update(50, 100)
    assert progress() == 50
    reporter.update(70, 100)  # too soon after the last write
    assert progress() == 50
    reporter.update(100, 100)  # the end is always written
    assert progress() == 100
    stranger = ProgressReporter(Worker(services.settings, services.sessions, services.storage, services.queue), task_id)
    stranger.update(10, 100)  # not the lease holder: ignored
    assert progress() == 100
