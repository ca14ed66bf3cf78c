"""Task lists this process has answered, kept while their version holds.

The dashboard polls ``GET /api/tasks``, and most polls find nothing changed.
Each user's list has a version the database bumps on every change
(``users.tasks_version``, migration 0006), so a list built once is answered
again, byte for byte, until the version moves: one indexed read instead of
the list query and 20 task objects (a third of the request).

The version is read before the list is (with the token check), so a cached
body is never older than the version it is filed under. Bounded by bytes,
least recently used out first.

Each body carries an entity tag, a hash of its bytes, so a client that sends
it back (``If-None-Match``) is answered 304 without the body. The tag names
the bytes, not the version: it cannot match another user's list or another
release's rendering of the same one.
"""

from __future__ import annotations

import collections
import hashlib
import threading
from collections.abc import Hashable
from dataclasses import dataclass

DEFAULT_MAX_BYTES = 16 * 1024 * 1024
ENTITY_TAG_BYTES = 16
# Where each app keeps its cache: one per process, as gunicorn builds one app per worker.
EXTENSION = "comprimemelo.task_lists"


@dataclass(frozen=True, slots=True)
class ListBody:
    body: bytes
    etag: str

    @classmethod
    def of(cls, body: bytes) -> ListBody:
        return cls(body, hashlib.blake2b(body, digest_size=ENTITY_TAG_BYTES).hexdigest())


class ListCache:
    def __init__(self, max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        self._max_bytes = max_bytes
        self._bytes = 0
        self._entries: collections.OrderedDict[Hashable, tuple[int, ListBody]] = collections.OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable, version: int) -> ListBody | None:
        """The body filed under ``key`` at ``version``, or None."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is None or entry[0] != version:
                return None
            self._entries.move_to_end(key)
            return entry[1]

    def put(self, key: Hashable, version: int, listed: ListBody) -> None:
        if len(listed.body) > self._max_bytes:
            return
        with self._lock:
            old = self._entries.pop(key, None)
            if old is not None:
                self._bytes -= len(old[1].body)
            self._entries[key] = (version, listed)
            self._bytes += len(listed.body)
            while self._bytes > self._max_bytes:
                _, (_, evicted) = self._entries.popitem(last=False)
                self._bytes -= len(evicted.body)

    def __len__(self) -> int:
        return len(self._entries)
