"""What must hold when many processes share one PostgreSQL database."""

from __future__ import annotations

import collections
import random
import subprocess
import sys
import threading
import uuid

import pytest
import sqlalchemy as sa
from alembic.config import Config
from alembic.script import ScriptDirectory

from comprimemelo import db
from comprimemelo.db import migrate
from comprimemelo.domain.models import Task, User
from comprimemelo.services import leases
from comprimemelo.services.leases import ClaimOutcome
from comprimemelo.settings import load_settings
from tests.conftest import TEST_SECRET_KEY

pytestmark = pytest.mark.postgres

CONCURRENT_MIGRATIONS = 3
CLAIMING_THREADS = 12
TASKS = 40


def head_revision() -> str:
    config = Config()
    config.set_main_option("script_location", str(migrate.MIGRATIONS_DIR))
    return ScriptDirectory.from_config(config).get_current_head()


def test_concurrent_db_upgrade_processes_all_succeed_and_reach_head(postgres_url, tmp_path):
    env = {
        "COMPRIMEMELO_DATABASE_URL": postgres_url,
        "COMPRIMEMELO_DATA_DIR": str(tmp_path),
        "COMPRIMEMELO_SECRET_KEY": TEST_SECRET_KEY,
        "PATH": "/usr/bin:/bin",
    }
    processes = [
        subprocess.Popen(
            [sys.executable, "-m", "comprimemelo", "db", "upgrade"],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )
        for _ in range(CONCURRENT_MIGRATIONS)
    ]
    results = [(process.wait(120), process.stdout.read()) for process in processes]
    for code, output in results:
        assert code == 0, output
    engine = sa.create_engine(postgres_url)
    try:
        with engine.connect() as connection:
            versions = connection.execute(sa.text("SELECT version_num FROM alembic_version")).scalars().all()
            tables = set(sa.inspect(connection).get_table_names())
    finally:
        engine.dispose()
    assert versions == [head_revision()]
    assert {"users", "tasks", "task_files"} <= tables


def test_each_task_is_claimed_exactly_once_by_racing_workers(postgres_url, tmp_path):
    settings = load_settings({}, data_dir=tmp_path / "data", database_url=postgres_url,
                             secret_key=TEST_SECRET_KEY, db_pool_size=CLAIMING_THREADS)
    engine = db.create_engine(settings)
    db.upgrade(engine, settings)
    sessions = db.session_factory(engine)
    with sessions() as session:
        owner = User(username="racer", email="r@example.com", email_lower="r@example.com", password_hash="x")
        session.add(owner)
        session.flush()
        tasks = [
            Task(owner_id=owner.id, storage_prefix=uuid.uuid4().hex, new_format="zip", status="uploaded", attempts=0)
            for _ in range(TASKS)
        ]
        session.add_all(tasks)
        session.commit()
        task_ids = [task.id for task in tasks]

    outcomes: dict[int, list[tuple[str, ClaimOutcome]]] = collections.defaultdict(list)
    lock = threading.Lock()
    start = threading.Barrier(CLAIMING_THREADS)
    errors: list[BaseException] = []

    def race(worker: str) -> None:
        order = list(task_ids)
        random.Random(worker).shuffle(order)
        try:
            start.wait()
            with sessions() as session:
                for task_id in order:
                    outcome = leases.claim(session, task_id, worker, lease_seconds=60, max_attempts=3)
                    with lock:
                        outcomes[task_id].append((worker, outcome))
        except BaseException as error:  # surfaced below
            errors.append(error)

    threads = [threading.Thread(target=race, args=(f"w{i}",)) for i in range(CLAIMING_THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert not errors, errors

    with sessions() as session:
        rows = {task.id: task for task in session.scalars(sa.select(Task))}
    for task_id in task_ids:
        winners = [worker for worker, outcome in outcomes[task_id] if outcome is ClaimOutcome.CLAIMED]
        assert len(winners) == 1, (task_id, outcomes[task_id])
        assert len(outcomes[task_id]) == CLAIMING_THREADS
        assert {o for _, o in outcomes[task_id]} == {ClaimOutcome.CLAIMED, ClaimOutcome.BUSY}
        assert rows[task_id].lease_owner == winners[0]
        assert rows[task_id].attempts == 1
        assert rows[task_id].status == "processing"
    engine.dispose()
