"""Engines and sessions for SQLite, PostgreSQL and Cloud SQL.

Engines are built lazily by the composition root, never at import time, so a
gunicorn worker that forks gets its own pool and, on Cloud SQL, its own
connector.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from comprimemelo.private_files import PRIVATE_DIR_MODE, private_sqlite_database

if TYPE_CHECKING:
    from comprimemelo.settings import Settings

log = logging.getLogger(__name__)

SQLITE_BUSY_TIMEOUT_MS = 30_000
# A pooled connection idle longer than this is pinged before use (see _ping_when_idle).
PING_AFTER_IDLE_SECONDS = 2.0
RETURNED_AT = "comprimemelo.returned_at"


def create_engine(settings: Settings) -> Engine:
    url = sa.make_url(settings.effective_database_url)
    pool = dict(pool_size=settings.effective_db_pool_size, max_overflow=settings.db_max_overflow)
    if url.get_backend_name() == "sqlite":
        return _sqlite_engine(url, pool)
    options = dict(pool_recycle=settings.db_pool_recycle_seconds, **pool)
    if settings.cloudsql_instance:
        from comprimemelo.db.cloudsql import cloudsql_creator

        engine = sa.create_engine(url, creator=cloudsql_creator(settings), **options)
    else:
        engine = sa.create_engine(url, **options)
    _ping_when_idle(engine)
    return engine


def _ping_when_idle(engine: Engine) -> None:
    """Ping a pooled connection at checkout only if it sat idle ``PING_AFTER_IDLE_SECONDS``.

    SQLAlchemy's ``pool_pre_ping`` pings at every checkout: on PostgreSQL a
    round trip of four for a cached task list. A connection that answered
    moments ago is as likely to work as one just pinged; one that sat idle
    through a restart or a dropped link is pinged, and a failed ping drops it
    and every connection pooled before it, as ``pool_pre_ping`` does.
    """

    @event.listens_for(engine, "checkin")
    def _returned(_dbapi_connection, record) -> None:
        record.info[RETURNED_AT] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _checkout(dbapi_connection, record, _proxy) -> None:
        returned = record.info.get(RETURNED_AT)
        if returned is None or time.monotonic() - returned < PING_AFTER_IDLE_SECONDS:
            return  # just connected, or just used
        try:
            engine.dialect.do_ping(dbapi_connection)
        except engine.dialect.loaded_dbapi.Error as error:
            raise sa.exc.InvalidatePoolError(f"ping failed: {error}") from error


@contextlib.contextmanager
def outside_a_transaction(connection: sa.Connection) -> Iterator[sa.Connection]:
    """For reads that need no transaction: on pg8000, no BEGIN before them and
    no ROLLBACK when the connection goes back to the pool (two round trips of
    three for a single statement).

    Each statement still sees a consistent snapshot, as under READ COMMITTED
    any statement does. SQLAlchemy's own ``isolation_level="AUTOCOMMIT"``
    would cost two more round trips to restore the level at check-in; the
    driver's ``autocommit`` flag costs none. Other drivers are left as they are.
    """
    with driver_outside_a_transaction(connection.dialect, connection.connection.driver_connection):
        yield connection


@contextlib.contextmanager
def driver_outside_a_transaction(dialect: sa.Dialect, driver_connection) -> Iterator[None]:
    """``outside_a_transaction`` for a driver's own connection (``dialect``'s)."""
    if dialect.driver != "pg8000":
        yield
        return
    driver_connection.autocommit = True
    try:
        yield
    finally:
        driver_connection.autocommit = False


def _sqlite_engine(url: sa.URL, pool: dict) -> Engine:
    file_based = bool(url.database) and url.database != ":memory:"
    if file_based:
        # A folder made here is private; one the operator chose is left as it is.
        Path(url.database).parent.mkdir(mode=PRIVATE_DIR_MODE, parents=True, exist_ok=True)
        private_sqlite_database(Path(url.database))
    engine = sa.create_engine(
        url,
        connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000},
        # A new SQLite connection re-reads the schema on its first query: an
        # overflow connection per request made the list 10x slower under load.
        **(pool if file_based else {}),
    )

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_connection, _record):  # pragma: no cover - trivial
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    return engine


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


def ping(engine: Engine) -> None:
    with engine.connect() as connection:
        connection.execute(sa.text("SELECT 1"))
