"""The statements a database receives, counted at the driver (SQLite's trace
callback, pg8000's execute calls): what runs around SQLAlchemy's Connection
(db/driver_statement.py) is counted too, BEGIN and ROLLBACK included."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import sqlalchemy as sa

PG8000_CALLS = ("execute_simple", "execute_unnamed")


@contextlib.contextmanager
def driver_statements(engine: sa.Engine) -> Iterator[list[str]]:
    """The statements sent on every connection checked out of ``engine``'s pool while inside."""
    statements: list[str] = []
    watched = []

    def watch(dbapi_connection, _record, _proxy) -> None:
        if engine.dialect.driver == "pysqlite":
            dbapi_connection.set_trace_callback(statements.append)
        else:
            for name in PG8000_CALLS:
                real = getattr(type(dbapi_connection), name)
                setattr(dbapi_connection, name, lambda statement, *args, _real=real, **kwargs:
                        (statements.append(statement), _real(dbapi_connection, statement, *args, **kwargs))[1])
        watched.append(dbapi_connection)

    sa.event.listen(engine, "checkout", watch)
    try:
        yield statements
    finally:
        sa.event.remove(engine, "checkout", watch)
        for dbapi_connection in watched:
            if engine.dialect.driver == "pysqlite":
                dbapi_connection.set_trace_callback(None)
            else:
                for name in PG8000_CALLS:
                    dbapi_connection.__dict__.pop(name, None)
