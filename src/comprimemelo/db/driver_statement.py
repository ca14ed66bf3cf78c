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

    def _rows(self, params: Mapping[str, object], most: int | None) -> list[tuple]:
        """The rows, or the first ``most`` of them (None: all)."""
        engine = self._engine
        if engine.dispatch.before_cursor_execute or engine.dispatch.after_cursor_execute:
            with engine.connect() as observed, outside_a_transaction(observed):
                result = observed.execute(self._statement, params)
                return [tuple(row) for row in (result.fetchmany(most) if most else result.all())]
        arguments = tuple(params[name] for name in self._order) if self._order is not None else dict(params)
        dialect = engine.dialect
        connection = engine.raw_connection()
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
        finally:
            connection.close()
        return [tuple(row) for row in rows]
