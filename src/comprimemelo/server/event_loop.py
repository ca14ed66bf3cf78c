"""Blocking calls kept off a gevent web worker's event loop.

Under gevent (the web's default worker class) all requests of a process run on
one OS thread, so a call that holds it stalls every other request meanwhile:
an argon2 hash takes a core for a tenth of a second, an upload's fsync waits
for the disk. ``off_the_event_loop`` runs such a call in the hub's pool of real
threads there, and plainly everywhere else (the worker, gthread web workers).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def threads_are_greenlets() -> bool:
    """True in a process gevent has monkey-patched (a gevent gunicorn worker)."""
    monkey = sys.modules.get("gevent.monkey")
    return monkey is not None and monkey.is_module_patched("threading")


def off_the_event_loop(function: Callable[..., T], *args) -> T:
    if threads_are_greenlets():
        from gevent import get_hub

        return get_hub().threadpool.apply(function, args)
    return function(*args)
