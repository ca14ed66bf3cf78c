"""Cloud SQL for PostgreSQL through the Cloud SQL Python Connector (pg8000).

Used when ``COMPRIMEMELO_CLOUDSQL_INSTANCE=project:region:instance`` is set.
The connector authenticates to the database with IAM (no password anywhere):
``COMPRIMEMELO_DATABASE_USER`` is the IAM database user, for a service account
its email without ``.gserviceaccount.com``. It connects over private IP by
default (``COMPRIMEMELO_CLOUDSQL_IP_TYPE``: ``private``, ``public`` or ``psc``).

Each process gets its own ``Connector``, made on the first connection after
gunicorn has forked (a connector runs a background event loop thread, which
does not survive ``fork``) and closed when the process exits.
"""

from __future__ import annotations

import atexit
import os
import re
import threading
from collections.abc import Callable
from typing import Any

from comprimemelo.settings import PREFIX, Settings, SettingsError

DRIVER = "pg8000"
# "lazy" fetches the instance metadata and the ephemeral certificate when a
# connection is opened, instead of refreshing them on a background schedule:
# what Google recommends where CPU can be throttled between requests, and with
# a connection pool new connections are rare enough that it costs nothing.
REFRESH_STRATEGY = "lazy"
IP_TYPES = ("private", "public", "psc")
INSTANCE_PATTERN = re.compile(r"^[a-z0-9.:-]+:[a-z0-9-]+:[a-z0-9-]+$")


def _default_connector_factory(**options: Any) -> Any:
    from google.cloud.sql.connector import Connector

    return Connector(**options)


class ProcessConnectors:
    """At most one connector per process id, created on demand, closed at exit."""

    def __init__(self, factory: Callable[..., Any] = _default_connector_factory) -> None:
        self._factory = factory
        self._connectors: dict[int, Any] = {}
        self._lock = threading.Lock()

    def get(self, **options: Any) -> Any:
        pid = os.getpid()
        with self._lock:
            connector = self._connectors.get(pid)
            if connector is None:
                connector = self._factory(**options)
                self._connectors[pid] = connector
                atexit.register(self.close, pid)
            return connector

    def close(self, pid: int | None = None) -> None:
        """Close this process's connector (``pid`` guards against an inherited
        exit handler closing a parent's connector in a forked child)."""
        pid = os.getpid() if pid is None else pid
        if pid != os.getpid():
            return
        with self._lock:
            connector = self._connectors.pop(pid, None)
        if connector is not None:
            connector.close()


_PROCESS_CONNECTORS = ProcessConnectors()


def cloudsql_creator(
    settings: Settings, *, connectors: ProcessConnectors | None = None
) -> Callable[[], Any]:
    """A SQLAlchemy ``creator``: each call opens a new pg8000 connection to
    ``settings.cloudsql_instance`` with IAM database authentication.

    :raise SettingsError: if the instance name, IP type or user is malformed or missing.
    """
    instance = settings.cloudsql_instance
    if not INSTANCE_PATTERN.match(instance):
        raise SettingsError(f"{PREFIX}CLOUDSQL_INSTANCE must be project:region:instance, not {instance!r}")
    if settings.cloudsql_ip_type not in IP_TYPES:
        raise SettingsError(f"{PREFIX}CLOUDSQL_IP_TYPE must be one of {', '.join(IP_TYPES)}")
    if not settings.database_user:
        raise SettingsError(f"{PREFIX}DATABASE_USER (the IAM database user) is required with Cloud SQL")
    connectors = connectors or _PROCESS_CONNECTORS
    ip_type = _ip_type(settings.cloudsql_ip_type)

    def connect() -> Any:
        connector = connectors.get(
            ip_type=ip_type, enable_iam_auth=True, refresh_strategy=REFRESH_STRATEGY
        )
        return connector.connect(
            instance,
            DRIVER,
            user=settings.database_user,
            db=settings.database_name,
            enable_iam_auth=True,
            ip_type=ip_type,
        )

    return connect


def _ip_type(name: str) -> Any:
    try:
        from google.cloud.sql.connector import IPTypes
    except ImportError:  # pragma: no cover - the connector is a dependency
        return name
    return IPTypes[name.upper()]
