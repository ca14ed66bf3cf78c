"""Migrations: the schema brought to the code's, safely from many processes at once."""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.engine import Engine

if TYPE_CHECKING:
    from comprimemelo.settings import Settings

# Arbitrary but fixed: every process that migrates takes this PostgreSQL lock.
MIGRATION_ADVISORY_LOCK_ID = 0x636F6D70  # "comp"
MIGRATIONS_DIR = Path(__file__).parent / "migrations"
# An upgrade holds two connections on PostgreSQL: the advisory lock's and its own.
MIGRATION_CONNECTIONS = 2


def upgrade(engine: Engine, settings: Settings, revision: str = "heads") -> None:
    """Bring the schema to ``revision`` (default: every branch's head, as
    features add their own migrations); safe when several processes start at once.

    PostgreSQL: a session-level advisory lock serialises concurrent upgrades
    across VMs. SQLite: an ``flock`` on a file beside the database does the same
    across processes on one machine.
    """
    from alembic import command

    _run_alembic(command.upgrade, engine, settings, revision)


def downgrade(engine: Engine, settings: Settings, revision: str) -> None:
    """Take the schema back to ``revision`` (``base``: empty), e.g. to undo a release."""
    from alembic import command

    _run_alembic(command.downgrade, engine, settings, revision)


def _run_alembic(step, engine: Engine, settings: Settings, revision: str) -> None:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    with _migration_lock(engine, settings), engine.connect() as connection:
        config.attributes["connection"] = connection
        step(config, revision)
        connection.commit()


@contextlib.contextmanager
def _migration_lock(engine: Engine, settings: Settings) -> Iterator[None]:
    if engine.dialect.name == "postgresql":
        with engine.connect() as lock_connection:
            lock_connection.execute(
                sa.text("SELECT pg_advisory_lock(:id)"), {"id": MIGRATION_ADVISORY_LOCK_ID}
            )
            try:
                yield
            finally:
                lock_connection.execute(
                    sa.text("SELECT pg_advisory_unlock(:id)"),
                    {"id": MIGRATION_ADVISORY_LOCK_ID},
                )
        return
    database = engine.url.database
    if not database or database == ":memory:":
        yield
        return
    lock_path = Path(database).with_suffix(".migrate.lock")
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)
