"""Request-scoped access to what the composition root built: the backends,
the settings, passwords and tokens, and the request's turn at the database."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from flask import current_app, g, request
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from comprimemelo.bootstrap import Backends
from comprimemelo.db import turns
from comprimemelo.services.passwords import Passwords
from comprimemelo.services.tokens import Tokens
from comprimemelo.settings import Settings
from comprimemelo.storage.resumable import UploadTarget

# Where the app keeps what ``create_app`` was given.
BACKENDS = "comprimemelo"
PASSWORDS = "comprimemelo.services.passwords"
TOKENS = "comprimemelo.services.tokens"


def backends() -> Backends:
    return current_app.extensions[BACKENDS]


def current_settings() -> Settings:
    return current_app.extensions[BACKENDS].settings


def passwords() -> Passwords:
    return current_app.extensions[PASSWORDS]


def tokens() -> Tokens:
    return current_app.extensions[TOKENS]


def upload_target() -> UploadTarget:
    """The resumable uploads' backend (``Backends.uploads``)."""
    return current_app.extensions[BACKENDS].uploads


def db_connection() -> Connection:
    """The request's connection, for reads: the session's if one is open,
    else a Core connection of its own. The token check and the task list need
    no Session, which cost them 30 µs a request (7% of a list)."""
    session = g.get("db_session")
    if session is not None:
        return session.connection()
    if "db_connection" not in g:
        _take_turn()
        g.db_connection = backends().engine.connect()
    return g.db_connection


def db_session() -> Session:
    """One session per request, closed at teardown."""
    if "db_session" not in g:
        # Back to the pool first: a request never holds two connections, which
        # could wait on each other when the pool is empty.
        _close_connections()
        _take_turn()
        g.db_session = backends().sessions()
    return g.db_session


def _take_turn() -> None:
    """Wait for a turn at the database (db/turns.py); kept until teardown."""
    if "db_turn" not in g:
        turns.enter(current_app.extensions[turns.EXTENSION], waited=turns.WAITED in request.environ)
        g.db_turn = True


def _close_connections() -> None:
    connection = g.pop("db_connection", None)
    if connection is not None:
        connection.close()
    session = g.pop("db_session", None)
    if session is not None:
        session.close()


def close_request_connections() -> None:
    """At teardown: the connections go back to the pool, then the turn is passed on."""
    try:
        _close_connections()
    finally:
        if g.pop("db_turn", None):
            current_app.extensions[turns.EXTENSION].release()


def release_database() -> None:
    """Done with the database for now (before reading a large body from the
    client, which may take minutes): the connection goes back to the pool and
    the turn to the next request; the next query waits for a new turn.
    Objects loaded so far stay readable, detached from any session."""
    close_request_connections()


@contextlib.contextmanager
def database_turn() -> Iterator[Session]:
    """One short turn at the database, as a unit of work: the request's
    session, closed and the turn passed on when the block ends, for work that
    must not hold the database in between (bytes to storage, a publish)."""
    release_database()
    try:
        yield db_session()
    finally:
        release_database()
