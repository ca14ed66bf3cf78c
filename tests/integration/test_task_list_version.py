"""The database moves a user's task-list version on every change the list
shows, whoever writes it, so cached lists are never stale (migration 0006)."""

import dataclasses
import datetime as dt
import importlib

import pytest
import sqlalchemy as sa

from comprimemelo.domain.models import Task, TaskFile, User
from comprimemelo.services import tasks as task_service
from tests.statements import driver_statements

VERSIONS = importlib.import_module("comprimemelo.db.migrations.versions.0006_tasks_version")
LISTED = [f.name for f in dataclasses.fields(task_service.TaskView) if f.name not in ("id", "files")]
NEW_VALUES = {
    "new_format": "7z", "level": 9, "status": "processing", "size_original": 99, "size_compressed": 7,
    "created_at": dt.datetime(2030, 1, 1, tzinfo=dt.timezone.utc),
    "processed_at": dt.datetime(2030, 1, 2, tzinfo=dt.timezone.utc), "attempts": 3, "error": "boom",
    "progress": 42, "encrypted": True, "expires_at": dt.datetime(2030, 1, 3, tzinfo=dt.timezone.utc),
}


def version(services, owner_id):
    with services.engine.connect() as connection:
        return connection.execute(sa.select(User.tasks_version).where(User.id == owner_id)).scalar_one()


def test_the_triggers_watch_exactly_the_columns_the_list_shows():
    assert sorted(VERSIONS.LISTED_COLUMNS) == sorted(LISTED) == sorted(NEW_VALUES)


@pytest.fixture
def task(make_user, services):
    user = make_user()
    task_id = user.upload("a.txt", b"x", "zip").json["id"]
    return user.id, task_id


@pytest.mark.parametrize("column", LISTED)
def test_changing_a_listed_column_moves_the_version(services, task, column):
    owner_id, task_id = task
    before = version(services, owner_id)
    with services.sessions() as session:
        session.execute(sa.update(Task).where(Task.id == task_id).values({column: NEW_VALUES[column]}))
        session.commit()
    assert version(services, owner_id) > before


def test_lease_and_publish_bookkeeping_leave_the_version_alone(services, task):
    owner_id, task_id = task
    before = version(services, owner_id)
    with services.sessions() as session:
        session.execute(sa.update(Task).where(Task.id == task_id).values(
            lease_owner="w1", lease_expires_at=dt.datetime(2030, 1, 1, tzinfo=dt.timezone.utc),
            published_at=dt.datetime(2030, 1, 1, tzinfo=dt.timezone.utc)))
        session.commit()
    assert version(services, owner_id) == before  # heartbeats do not empty the caches


def test_files_and_deletes_move_the_version_of_their_owner_only(make_user, services, task):
    owner_id, task_id = task
    other = make_user("bob")
    other_before = version(services, other.id)
    before = version(services, owner_id)
    with services.sessions() as session:
        session.add(TaskFile(task_id=task_id, position=1, filename="b.txt", size=1, storage_key="k"))
        session.commit()
    after_file = version(services, owner_id)
    assert after_file > before
    with services.sessions() as session:
        session.execute(sa.delete(Task).where(Task.id == task_id))
        session.commit()
    assert version(services, owner_id) > after_file
    assert version(services, other.id) == other_before


def test_a_cached_list_shows_what_another_process_changed(make_user, services):
    user = make_user()
    task_id = user.upload("a.txt", b"x", "zip").json["id"]
    first = user.client.get("/api/tasks", headers=user.headers).json
    again = user.client.get("/api/tasks", headers=user.headers).json  # from the cache
    assert first == again and first[0]["status"] == "uploaded"
    with services.sessions() as session:  # as a worker would, through its own connection
        session.execute(sa.update(Task).where(Task.id == task_id).values(status="processing", progress=30))
        session.commit()
    (listed,) = user.client.get("/api/tasks", headers=user.headers).json
    assert (listed["status"], listed["progress"]) == ("processing", 30)


def test_a_client_holding_the_current_list_is_answered_304_until_it_changes(make_user, services):
    user = make_user()
    user.upload("a.txt", b"x", "zip")
    first = user.client.get("/api/tasks", headers=user.headers)
    assert first.status_code == 200 and first.headers["Cache-Control"] == "private, no-cache"
    etag = first.headers["ETag"]
    for _ in range(2):  # built, then from the cache: the same tag
        unchanged = user.client.get("/api/tasks", headers={**user.headers, "If-None-Match": etag})
        assert (unchanged.status_code, unchanged.data, unchanged.headers["ETag"]) == (304, b"", etag)
    user.upload("b.txt", b"y", "zip")
    changed = user.client.get("/api/tasks", headers={**user.headers, "If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["ETag"] != etag
    assert [task["files"][0]["filename"] for task in changed.json] == ["a.txt", "b.txt"]


def test_another_users_tag_does_not_get_their_list_answered_304(make_user):
    alice, bob = make_user("alice"), make_user("bob")
    alice.upload("a.txt", b"x", "zip")
    bob.upload("a.txt", b"x", "zip")
    etag = alice.client.get("/api/tasks", headers=alice.headers).headers["ETag"]
    answer = bob.client.get("/api/tasks", headers={**bob.headers, "If-None-Match": etag})
    assert answer.status_code == 200 and answer.json[0]["id"] != alice.client.get(
        "/api/tasks", headers=alice.headers).json[0]["id"]


def test_an_unchanged_list_costs_one_database_statement(make_user, services):
    """The token check reads the list's version in the same statement."""
    user = make_user()
    user.upload("a.txt", b"x", "zip")
    user.client.get("/api/tasks", headers=user.headers)  # fills the cache
    with driver_statements(services.engine) as statements:
        assert user.client.get("/api/tasks", headers=user.headers).status_code == 200
    # Transaction control aside: the plain path (COMPRIMEMELO_TUNING=off) reads in a transaction on pg8000;
    # the fast path sends none (tests/integration/test_driver_statement.py).
    queries = [text for text in statements if text.split()[0].lower() not in ("begin", "rollback", "commit")]
    assert len(queries) == 1, statements
