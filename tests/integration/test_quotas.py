"""Per-user quotas on SQLite and PostgreSQL: each refuses with its name and
when it frees, frees again, is race-free, and the usage the database keeps
stays equal to what the tables hold."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
import sqlalchemy as sa

from comprimemelo.domain.models import Task, UploadSession, User, utcnow
from comprimemelo.domain.statuses import TaskStatus
from comprimemelo.services import leases, quotas
from tests.conftest import ApiUser, app_with


@pytest.fixture
def quota_client(settings):
    def make(**limits):
        changes = dict(quota_storage_bytes=0, quota_live_tasks=0, quota_open_uploads=0, quota_tasks_per_hour=0)
        changes.update(limits)
        app = app_with(settings, **changes)
        app.config["TESTING"] = True
        return app, app.test_client()

    return make


def assert_quota(response, quota: str, status: int, used: int, limit: int, path: str = "/api/tasks"):
    from tests.integration.test_api_documented_errors import assert_documented

    assert response.status_code == status, response.json
    assert_documented("POST", path, response)
    error = response.json["error"]
    assert (error["code"], error["quota"], error["used"], error["limit"]) == ("quota_exceeded", quota, used, limit)
    return error


def recomputed(engine, owner_id: int) -> tuple[int, int, int]:
    """Usage as the tables hold it, summed from scratch."""
    with engine.connect() as connection:
        tasks = connection.execute(
            sa.select(Task.status, Task.size_original, Task.size_compressed).where(Task.owner_id == owner_id)
        ).all()
        sessions = connection.execute(
            sa.select(UploadSession.state, UploadSession.size).where(UploadSession.owner_id == owner_id)
        ).all()
    stored = sum(o + (c or 0) for s, o, c in tasks if s != "expired") + sum(n for s, n in sessions if s != "submitted")
    live = sum(1 for s, _o, _c in tasks if s in ("uploaded", "processing"))
    return stored, live, sum(1 for s, _n in sessions if s != "submitted")


def kept(engine, owner_id: int) -> tuple[int, int, int]:
    with engine.connect() as connection:
        return tuple(connection.execute(
            sa.select(User.stored_bytes, User.live_tasks, User.open_uploads).where(User.id == owner_id)
        ).one())


def test_the_storage_quota_refuses_the_upload_that_would_pass_it_and_frees_on_delete(quota_client):
    _app, client = quota_client(quota_storage_bytes=1000)
    user = ApiUser(client, "keeper")
    first = user.upload("a.bin", b"a" * 600)
    assert first.status_code == 201
    error = assert_quota(user.upload("b.bin", b"b" * 600), "storage_bytes", 413, 600, 1000)
    assert error["frees_at"] == first.json["expires_at"]
    assert client.delete(f"/api/tasks/{first.json['id']}", headers=user.headers).status_code == 204
    assert user.upload("b.bin", b"b" * 600).status_code == 201


def test_the_live_tasks_quota_frees_when_a_task_finishes(quota_client, services):
    app, client = quota_client(quota_live_tasks=2)
    user = ApiUser(client, "busy")
    ids = [user.upload(f"{n}.txt", b"x").json["id"] for n in range(2)]
    assert_quota(user.upload("3.txt", b"x"), "live_tasks", 429, 2, 2)
    sessions = app.extensions["comprimemelo"].sessions
    with sessions() as session:
        leases.claim(session, ids[0], "w", lease_seconds=60, max_attempts=3)
        assert leases.complete(session, ids[0], "w", key="k", size=1)
    assert user.upload("3.txt", b"x").status_code == 201


def test_the_hourly_quota_says_when_it_resets_and_resets(quota_client):
    app, client = quota_client(quota_tasks_per_hour=2)
    user = ApiUser(client, "hourly")
    assert [user.upload(f"{n}.txt", b"x").status_code for n in range(2)] == [201, 201]
    refused = user.upload("3.txt", b"x")
    error = assert_quota(refused, "tasks_per_hour", 429, 2, 2)
    assert 3590 <= int(refused.headers["Retry-After"]) <= 3600 and error["frees_at"]
    account = client.get("/api/account", headers=user.headers).json
    assert account["quotas"]["tasks_per_hour"] == {"used": 2, "limit": 2}
    engine = app.extensions["comprimemelo"].engine
    with engine.begin() as connection:  # an hour has passed
        connection.execute(sa.update(User).where(User.id == user.id)
                           .values(quota_window_started_at=utcnow() - dt.timedelta(minutes=61)))
    assert user.upload("3.txt", b"x").status_code == 201
    assert client.get("/api/account", headers=user.headers).json["quotas"]["tasks_per_hour"]["used"] == 1


def test_open_upload_sessions_and_their_declared_bytes_count(quota_client):
    _app, client = quota_client(quota_open_uploads=1, quota_storage_bytes=10_000)
    user = ApiUser(client, "sessions")
    first = client.post("/api/uploads", json={"fileName": "a.bin", "size": 6000}, headers=user.headers)
    assert first.status_code == 201
    assert_quota(client.post("/api/uploads", json={"fileName": "b.bin", "size": 10}, headers=user.headers),
                 "open_uploads", 429, 1, 1, path="/api/uploads")
    assert client.delete(f"/api/uploads/{first.json['id']}", headers=user.headers).status_code == 204
    assert_quota(client.post("/api/uploads", json={"fileName": "c.bin", "size": 10_001}, headers=user.headers),
                 "storage_bytes", 413, 0, 10_000, path="/api/uploads")
    assert client.post("/api/uploads", json={"fileName": "d.bin", "size": 10}, headers=user.headers).status_code == 201


def test_the_dashboard_and_the_api_show_usage_against_the_quotas(quota_client):
    _app, client = quota_client(quota_storage_bytes=5000, quota_live_tasks=7)
    user = ApiUser(client, "watcher")
    user.upload("a.txt", b"x" * 1234)
    account = client.get("/api/account", headers=user.headers).json
    assert account["quotas"]["storage_bytes"] == {"used": 1234, "limit": 5000}
    assert account["quotas"]["live_tasks"] == {"used": 1, "limit": 7}
    assert account["quotas"]["open_uploads"]["limit"] == 0  # unlimited


def test_two_concurrent_tasks_cannot_both_take_the_last_room(services, make_user):
    """The first transaction holds the owner's row; the second waits, then sees its count."""
    owner = make_user("racer").id
    limits = quotas.Limits(storage_bytes=1000, live_tasks=0, open_uploads=0, tasks_per_hour=0)
    first_took, outcome = threading.Event(), {}

    def insert(session) -> None:
        session.add(Task(owner_id=owner, storage_prefix=f"p{threading.get_ident()}", new_format="zip",
                         status=TaskStatus.UPLOADED.value, size_original=600, attempts=0))

    def first() -> None:
        with services.sessions() as session:
            quotas.take_task(session, owner, limits, 600)
            insert(session)
            session.flush()
            first_took.set()
            threading.Event().wait(1.0)  # the second is waiting on the row meanwhile
            session.commit()

    def second() -> None:
        first_took.wait(10)
        with services.sessions() as session:
            try:
                quotas.take_task(session, owner, limits, 600)
                insert(session)
                session.commit()
                outcome["second"] = "took"
            except quotas.QuotaExceeded as error:
                outcome["second"] = error.quota

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert outcome == {"second": quotas.Quota.STORAGE_BYTES}
    assert kept(services.engine, owner)[0] == 600


def test_usage_stays_what_the_tables_hold_through_a_tasks_life(client, make_user, services):
    from comprimemelo.services.tasks import expire_due

    user = make_user("ledger")
    task = user.upload("a.txt", b"a" * 300).json
    other = user.upload("b.txt", b"b" * 50).json
    session_row = client.post("/api/uploads", json={"fileName": "c.bin", "size": 4}, headers=user.headers).json
    assert kept(services.engine, user.id) == recomputed(services.engine, user.id) == (354, 2, 1)
    client.put(session_row["upload_url"], data=b"cccc", headers={"Content-Range": "bytes 0-3/4"})
    assert client.post(f"/api/uploads/{session_row['id']}/complete", json={"newFormat": "zip"},
                       headers=user.headers).status_code == 201
    assert kept(services.engine, user.id) == recomputed(services.engine, user.id) == (354, 3, 0)
    with services.sessions() as session:
        leases.claim(session, task["id"], "w", lease_seconds=60, max_attempts=3)
        leases.complete(session, task["id"], "w", key="archive", size=20)
        leases.claim(session, other["id"], "w", lease_seconds=60, max_attempts=3)
        leases.fail(session, other["id"], "w", error="broken")
    assert kept(services.engine, user.id) == recomputed(services.engine, user.id) == (374, 1, 0)
    with services.sessions() as session:
        expire_due(session, services.storage, now=utcnow() + dt.timedelta(days=400))
    # Every task expired (the resumable one too, never processed): nothing kept, nothing live.
    assert kept(services.engine, user.id) == recomputed(services.engine, user.id) == (0, 0, 0)
    assert client.delete(f"/api/tasks/{other['id']}", headers=user.headers).status_code == 204
    assert kept(services.engine, user.id) == recomputed(services.engine, user.id)


def test_the_migration_counts_what_an_older_installation_already_holds(settings):
    from comprimemelo import db

    engine = db.create_engine(settings)
    try:
        db.upgrade(engine, settings, "0008")
        with engine.begin() as connection:
            connection.execute(sa.text(
                "INSERT INTO users (id, username, email, email_lower, password_hash, created_at) "
                "VALUES (1, 'old', 'old@example.com', 'old@example.com', '-', CURRENT_TIMESTAMP)"))
            for prefix, status, compressed in (("a", "processed", 7), ("b", "uploaded", None), ("c", "expired", 9)):
                connection.execute(sa.text(
                    "INSERT INTO tasks (owner_id, storage_prefix, new_format, status, size_original, "
                    "size_compressed, attempts, created_at, encrypted) "
                    "VALUES (1, :prefix, 'zip', :status, 100, :compressed, 0, CURRENT_TIMESTAMP, false)"),
                    {"prefix": prefix, "status": status, "compressed": compressed})
        db.upgrade(engine, settings)
        assert kept(engine, 1) == recomputed(engine, 1) == (207, 1, 0)
    finally:
        engine.dispose()
