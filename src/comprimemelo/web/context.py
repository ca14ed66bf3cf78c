"""Request-scoped access to the services and the database session."""

from __future__ import annotations

from flask import current_app, g
from sqlalchemy.orm import Session

from comprimemelo.bootstrap import Services


def services() -> Services:
    return current_app.extensions["comprimemelo"]


def db_session() -> Session:
    """One session per request, closed at teardown."""
    if "db_session" not in g:
        g.db_session = services().sessions()
    return g.db_session
