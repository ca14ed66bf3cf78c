"""Task lists this process has answered, kept while their version holds.

The dashboard polls ``GET /api/tasks``, and most polls find nothing changed.
Each user's list has a version the database bumps on every change
(``users.tasks_version``, migration 0006), so a list built once is answered
again, byte for byte, until the version moves: one indexed read instead of
the list query and 20 task objects (a third of the request).

The version is read before the list is, so a cached body is never older
than the version it is filed under. Bounded by bytes, least recently used
out first.
"""

from __future__ import annotations

import collections
import threading
from collections.abc import Hashable

DEFAULT_MAX_BYTES = 16 * 1024 * 1024
# Where each app keeps its cache: one per process, as gunicorn builds one app per worker.
EXTENSION = "comprimemelo.task_lists"


class ListCache:
    def __init__(self, max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        self._max_bytes = max_bytes
        self._bytes = 0
        self._entries: collections.OrderedDict[Hashable, tuple[int, bytes]] = collections.OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable, version: int) -> bytes | None:
        """The body filed under ``key`` at ``version``, or None."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is None or entry[0] != version:
                return None
            self._entries.move_to_end(key)
            return entry[1]

    def put(self, key: Hashable, version: int, body: bytes) -> None:
        if len(body) > self._max_bytes:
            return
        with self._lock:
            old = self._entries.pop(key, None)
            if old is not None:
                self._bytes -= len(old[1])
            self._entries[key] = (version, body)
            self._bytes += len(body)
            while self._bytes > self._max_bytes:
                _, (_, evicted) = self._entries.popitem(last=False)
                self._bytes -= len(evicted)

    def __len__(self) -> int:
        return len(self._entries)
