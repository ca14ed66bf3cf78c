"""One Core statement run on a pooled driver connection, without SQLAlchemy's Connection around it.

The dashboard's poll runs one statement per request: the token check, which
reads the task list's version too (services/tokens.py). Through a Connection
it cost 40 µs in process on SQLite, of which the database's own work was 10:
the rest was SQLAlchemy's execution context, result objects and events
around one cursor call, about a tenth of a web process's time at 1000
connections. Here the statement is compiled once for the engine's dialect
and run on a connection checked out of the same pool, whose checkout and
checkin events (the idle ping, the pool's reset) still run.

What it gives up, and why that is safe for the statements it is given: no
type processing (refused at construction unless every parameter and column
needs none), and a driver error comes out as the driver's. An engine that
someone observes at the cursor (``before_cursor_execute`` or
``after_cursor_execute`` listeners: statement counters such as
``capacity bench-requests``, tracing) gets the statement through a
Connection instead, so that every listener still sees it. After an error that is
not an ordinary database error, or that the dialect calls a disconnect, the
connection is invalidated, as SQLAlchemy would invalidate it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

import sqlalchemy as sa

from comprimemelo.db.engine import driver_outside_a_transaction, outside_a_transaction


class DriverStatement:
    """``statement``, a read, compiled for ``engine`` and run by ``one`` or ``all`` on the driver."""

    def __init__(self, engine: sa.Engine, statement: sa.Select) -> None:
        dialect = engine.dialect
        compiled = statement.compile(dialect=dialect)
        processed = [name for name, bind in compiled.binds.items() if bind.type.bind_processor(dialect)]
        processed += [column.name for column in statement.selected_columns
                      if column.type.result_processor(dialect, None)]
        if processed:
            raise ValueError(f"{processed} need SQLAlchemy's type processing: run the statement on a Connection")
        self._engine = engine
        self._statement = statement
        self._sql = compiled.string
        self._order = tuple(compiled.positiontup) if compiled.positional else None

    def one(self, params: Mapping[str, object]) -> tuple:
        """The statement's one row for ``params``, outside a transaction.

        :raise sqlalchemy.exc.NoResultFound, MultipleResultsFound: for no row, or more than one.
        """
        rows = self._rows(params, 2)
        if len(rows) != 1:
            raise (sa.exc.NoResultFound if not rows else sa.exc.MultipleResultsFound)(
                f"{len(rows) or 'no'} rows where one was expected")
        return rows[0]

    def all(self, params: Mapping[str, object]) -> list[tuple]:
        """The statement's rows for ``params``, outside a transaction."""
        return self._rows(params, None)

    def _observed(self) -> bool:
        engine = self._engine
        return bool(engine.dispatch.before_cursor_execute or engine.dispatch.after_cursor_execute)

    def _rows(self, params: Mapping[str, object], most: int | None) -> list[tuple]:
        """The rows, or the first ``most`` of them (None: all)."""
        if self._observed():
            with self._engine.connect() as observed, outside_a_transaction(observed):
                result = observed.execute(self._statement, params)
                return [tuple(row) for row in (result.fetchmany(most) if most else result.all())]
        connection = self._engine.raw_connection()
        try:
            return self._run(connection, params, most)
        finally:
            connection.close()

    def _run(self, connection, params: Mapping[str, object], most: int | None) -> list[tuple]:
        """The rows on ``connection`` (a pooled one); invalidated on an error
        that is not an ordinary database error, or is a disconnect."""
        arguments = tuple(params[name] for name in self._order) if self._order is not None else dict(params)
        dialect = self._engine.dialect
        try:
            cursor = None
            with driver_outside_a_transaction(dialect, connection.driver_connection):
                cursor = connection.cursor()
                try:
                    cursor.execute(self._sql, arguments)
                    rows = cursor.fetchmany(most) if most else cursor.fetchall()
                finally:
                    cursor.close()
        except BaseException as error:
            if not isinstance(error, dialect.loaded_dbapi.Error) or \
                    dialect.is_disconnect(error, connection.driver_connection, cursor):
                connection.invalidate(error if isinstance(error, Exception) else None)
            raise
        return [tuple(row) for row in rows]


class HeldSqliteStatement(DriverStatement):
    """A SQLite read on a pooled connection this statement keeps, for a gevent process.

    The pool's checkout and checkin around a 10 µs statement were a third of
    the poll's token check at 1000 connections. Keeping one connection is
    safe where every "thread" is a greenlet of one OS thread: the sqlite3
    module's calls never yield to another greenlet, so no two statements ever
    share the connection at once (a process with OS threads must not use
    this). Outside an explicit transaction each SQLite read takes a new
    snapshot, so a revocation committed elsewhere is seen by the next check,
    as on a freshly checked-out connection. A process that forked opens its
    own; after an error that invalidated it, the next call takes a new one.
    """

    def __init__(self, engine: sa.Engine, statement: sa.Select) -> None:
        if engine.dialect.name != "sqlite":
            raise ValueError("a held connection is for SQLite, where a read never waits on the network")
        super().__init__(engine, statement)
        self._held = None
        self._held_by = 0  # the process id that opened it

    def _rows(self, params: Mapping[str, object], most: int | None) -> list[tuple]:
        if self._observed():
            return super()._rows(params, most)
        held = self._held
        if held is None or self._held_by != os.getpid() or not held.is_valid:
            if held is not None and self._held_by == os.getpid():
                held.close()  # invalidated: the pool discards it
            held = self._held = self._engine.raw_connection()
            self._held_by = os.getpid()
        return self._run(held, params, most)
