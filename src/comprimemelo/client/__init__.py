"""A Python client of the comprimemelo REST API, and the remote commands
(``comprimemelo login``, ``submit``, ``tasks``, ``get``, ``rm``, ``logout``).

``from comprimemelo.client import Client``. The names below load on first use:
the command line's parsers live in this package (``parsers``), and building
them must not load the HTTP stack for ``comprimemelo serve`` or ``compress``.
"""

from __future__ import annotations

import importlib

_EXPORTS = {
    "Client": "comprimemelo.client.api",
    "RESUMABLE_ABOVE_BYTES": "comprimemelo.client.api",
    "RetryPolicy": "comprimemelo.client.http",
    "ApiError": "comprimemelo.client.errors",
    "ClientError": "comprimemelo.client.errors",
    "NetworkError": "comprimemelo.client.errors",
    "NotLoggedIn": "comprimemelo.client.errors",
    "Task": "comprimemelo.client.models",
    "TaskFile": "comprimemelo.client.models",
    "UploadSession": "comprimemelo.client.models",
    "UploadJournal": "comprimemelo.client.journal",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(_EXPORTS[name]), name)
