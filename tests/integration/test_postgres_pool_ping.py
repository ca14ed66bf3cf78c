"""Pooled PostgreSQL connections are pinged before use only after sitting idle:
one that died while idle is replaced unseen; one used moments ago is trusted,
and if it died meanwhile the error is the request's and the pool recovers."""

from __future__ import annotations

import time

import pytest
import sqlalchemy as sa

from comprimemelo import db
from comprimemelo.settings import load_settings
from tests.conftest import TEST_SECRET_KEY

pytestmark = pytest.mark.postgres


@pytest.fixture
def engine(postgres_url, tmp_path):
    settings = load_settings({}, data_dir=tmp_path, database_url=postgres_url, secret_key=TEST_SECRET_KEY)
    built = db.create_engine(settings)
    yield built
    built.dispose()


def backend_pid(engine) -> int:
    with engine.connect() as connection:
        return connection.execute(sa.text("SELECT pg_backend_pid()")).scalar_one()


def terminate(postgres_url, pid: int) -> None:
    """Kill one server backend from outside the pool, as a restart or a dropped link would."""
    outside = sa.create_engine(postgres_url, poolclass=sa.pool.NullPool)
    try:
        with outside.connect() as connection:
            assert connection.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": pid}).scalar_one()
    finally:
        outside.dispose()
    time.sleep(0.2)  # the backend exits


def test_a_connection_that_died_while_idle_is_replaced_before_use(engine, postgres_url, monkeypatch):
    monkeypatch.setattr(db.engine, "PING_AFTER_IDLE_SECONDS", 0.1)
    dead = backend_pid(engine)
    terminate(postgres_url, dead)  # longer ago than the idle limit
    assert backend_pid(engine) != dead  # no error: the ping found it dead


def test_a_connection_used_moments_ago_is_not_pinged(engine, postgres_url, monkeypatch):
    monkeypatch.setattr(db.engine, "PING_AFTER_IDLE_SECONDS", 60)
    dead = backend_pid(engine)
    terminate(postgres_url, dead)
    with pytest.raises(sa.exc.DBAPIError) as raised:  # the web answers this 503
        backend_pid(engine)
    assert raised.value.connection_invalidated
    assert backend_pid(engine) != dead  # and the next request is served


def test_a_busy_connection_costs_no_extra_statement(engine, monkeypatch):
    """Counted at the driver: SQLAlchemy's pre-ping sent ``SELECT 1`` at every checkout."""
    sent = []
    with engine.connect() as connection:
        cursor_class = type(connection.connection.driver_connection.cursor())
    original = cursor_class.execute

    def execute(self, operation, *args, **kwargs):
        sent.append(operation)
        return original(self, operation, *args, **kwargs)

    monkeypatch.setattr(cursor_class, "execute", execute)
    backend_pid(engine)
    sent.clear()
    for _ in range(3):
        backend_pid(engine)
    assert sent == ["SELECT pg_backend_pid()"] * 3
