"""Request-scoped access to the services and the database."""

from __future__ import annotations

from flask import current_app, g
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from comprimemelo.bootstrap import Services


def services() -> Services:
    return current_app.extensions["comprimemelo"]


def db_connection() -> Connection:
    """The request's connection, for reads: the session's if one is open,
    else a Core connection of its own. The token check and the task list need
    no Session, which cost them 30 µs a request (7% of a list)."""
    session = g.get("db_session")
    if session is not None:
        return session.connection()
    if "db_connection" not in g:
        g.db_connection = services().engine.connect()
    return g.db_connection


def db_session() -> Session:
    """One session per request, closed at teardown."""
    if "db_session" not in g:
        # Back to the pool first: a request never holds two connections, which
        # could wait on each other when the pool is empty.
        close_request_connections()
        g.db_session = services().sessions()
    return g.db_session


def close_request_connections() -> None:
    connection = g.pop("db_connection", None)
    if connection is not None:
        connection.close()
    session = g.pop("db_session", None)
    if session is not None:
        session.close()
