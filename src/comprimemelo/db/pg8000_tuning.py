"""Four pg8000 costs that dominated a task list on PostgreSQL, removed.

pg8000 is pure Python (cloud-sql-python-connector speaks through it). Profiled
on ``GET /api/tasks``, 3.3 ms per request in-process:

- it rewrites every statement's ``%s`` placeholders to ``$n`` by scanning the
  SQL a character at a time, 0.3 ms per statement, on every execution. The
  rewrite depends only on the SQL text, so it is cached here (SQLAlchemy sends
  the same few statements again and again);
- it parses each ``timestamptz`` with ``datetime.strptime``, 19 µs a value;
  ``datetime.fromisoformat`` reads PostgreSQL's text form in a tenth of that.
  Anything it cannot read (infinity, BC dates) goes to pg8000's own parser;
- it waits for the server three times per statement: after Parse, after
  Describe, and after Bind and Execute. The protocol needs one wait: the
  answers come back in order, so the row description still arrives before the
  rows, and an error in any step is reported at the one Sync. A cached task
  list cost 8 round trips (the pool's ping, BEGIN, the query, ROLLBACK); it
  now costs 4, and every statement of the web and the worker one instead of
  three;
- the server parsed, analysed and planned every statement anew, and the
  client decoded its parameter and row descriptions anew: pg8000 sends each
  one unnamed. A statement a connection runs a second time is prepared under
  a name and from then on sent as Bind and Execute only (psycopg prepares
  after five runs; ours are the same few statements run thousands of times).
  PostgreSQL re-plans a prepared statement when a table it reads changes.
"""

from __future__ import annotations

import collections
import datetime as dt
import functools

import pg8000.converters
import pg8000.core
import pg8000.dbapi
import pg8000.exceptions
import pg8000.legacy
from pg8000.exceptions import InterfaceError

# Paramstyles whose converted query does not depend on the arguments
# (pg8000 passes the arguments through unchanged for them).
_POSITIONAL_STYLES = frozenset({"format", "numeric", "qmark"})
_CACHED_STATEMENTS = 1024
# Per connection: prepared on the second run, at most this many (past it,
# statements stay unnamed: no eviction, so no Close that could fail mid-transaction).
PREPARE_ON_RUN = 2
PREPARED_PER_CONNECTION = 256
SEEN_PER_CONNECTION = 1024
# "cached plan must not change result type": a table's columns changed under a
# prepared statement (a migration while the process runs); prepared anew next time.
RESULT_TYPE_CHANGED = "0A000"
_original_convert = pg8000.dbapi.convert_paramstyle


@functools.lru_cache(maxsize=_CACHED_STATEMENTS)
def _converted(style: str, query: str) -> str:
    return _original_convert(style, query, ())[0]


def convert_paramstyle(style, query, args):
    if style in _POSITIONAL_STYLES:
        return _converted(style, query), args
    return _original_convert(style, query, args)


def timestamptz_in(data: str):
    try:
        return dt.datetime.fromisoformat(data)
    except ValueError:
        return pg8000.converters.timestamptz_in(data)


class _Statements:
    """One connection's prepared statements (name, columns, row readers) and how
    often it ran each statement not yet prepared."""

    __slots__ = ("prepared", "seen")

    def __init__(self) -> None:
        self.prepared: dict[str, tuple] = {}
        self.seen: collections.OrderedDict[str, int] = collections.OrderedDict()

    def named(self, connection, statement: str):
        """The statement prepared under a name, preparing it now if this is its
        ``PREPARE_ON_RUN``-th run; None while it stays unnamed."""
        found = self.prepared.get(statement)
        if found is not None or len(self.prepared) >= PREPARED_PER_CONNECTION:
            return found
        runs = self.seen.pop(statement, 0) + 1
        if runs < PREPARE_ON_RUN:
            self.seen[statement] = runs
            if len(self.seen) > SEEN_PER_CONNECTION:
                self.seen.popitem(last=False)
            return None
        # Parse and Describe: an error here is one the unnamed statement's Parse would raise.
        found = self.prepared[statement] = connection.prepare_statement(statement, ())
        return found


def execute_unnamed(self, statement, vals=(), oids=(), stream=None):
    """pg8000's ``CoreConnection.execute_unnamed``, in one round trip, and as a
    prepared statement (Bind and Execute only) from its second run on."""
    if stream is None and not oids:
        statements = self.__dict__.get("_comprimemelo_statements")
        if statements is None:
            statements = self.__dict__["_comprimemelo_statements"] = _Statements()
        named = statements.named(self, statement)
        if named is not None:
            return _execute_named(self, statements, statement, named, vals)
    return _execute_in_one_round_trip(self, statement, vals, oids, stream)


def _execute_named(self, statements: _Statements, statement: str, named: tuple, vals):
    name, columns, input_funcs = named
    try:
        return self.execute_named(name, pg8000.converters.make_params(self.py_types, vals), columns, input_funcs,
                                  statement)
    except pg8000.exceptions.DatabaseError as error:
        if _sqlstate(error) == RESULT_TYPE_CHANGED:
            statements.prepared.pop(statement, None)
        raise


def _sqlstate(error: Exception) -> str | None:
    details = error.args[0] if error.args and isinstance(error.args[0], dict) else {}
    return details.get("C")


def _execute_in_one_round_trip(self, statement, vals=(), oids=(), stream=None):
    """Parse, Describe, Bind, Execute and Sync sent together."""
    context = pg8000.core.Context(statement, stream=stream)
    self.send_PARSE(pg8000.core.NULL_BYTE, statement, oids)
    self.send_DESCRIBE_STATEMENT(pg8000.core.NULL_BYTE)
    self.send_BIND(pg8000.core.NULL_BYTE, pg8000.converters.make_params(self.py_types, vals))
    self.send_EXECUTE()
    pg8000.core._write(self._sock, pg8000.core.SYNC_MSG)
    try:
        pg8000.core._flush(self._sock)
    except AttributeError:
        if self._sock is None:
            raise InterfaceError("connection is closed") from None
        raise
    self.handle_messages(context)
    return context


def install() -> None:
    """Cache placeholder rewriting, send each statement in one round trip and
    prepare those run again, for every pg8000 connection (idempotent). ``pg8000.connect``, which
    SQLAlchemy calls, makes ``legacy`` cursors."""
    pg8000.dbapi.convert_paramstyle = convert_paramstyle
    pg8000.legacy.convert_paramstyle = convert_paramstyle
    pg8000.core.CoreConnection.execute_unnamed = execute_unnamed


def tune_connection(dbapi_connection) -> None:
    """Read timestamps of one new pg8000 connection quickly."""
    dbapi_connection.register_in_adapter(pg8000.converters.TIMESTAMPTZ, timestamptz_in)
