"""The dashboard's poll, ``GET /api/tasks``: the one home of its logic, which
the view and the fast path in front of Flask (``middleware/fastlist.py``) both
call: the query it takes, the cache of lists this process has answered (kept
while their version holds), and the answer (entity tag, headers, 304).

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
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import NamedTuple

from werkzeug.http import parse_etags

from comprimemelo.web.params import int_arg

DEFAULT_MAX_BYTES = 16 * 1024 * 1024
ENTITY_TAG_BYTES = 16
# Where each app keeps its lists: one per process, as gunicorn builds one app per worker.
EXTENSION = "comprimemelo.task_lists"
# A browser may keep the list, but must ask whether it still holds (a 304 is
# cheap); it is per caller, so no shared cache may keep it.
CACHE_CONTROL = "private, no-cache"
VARY = "Authorization, Cookie"


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


class Query(NamedTuple):
    """What a list asks for: how many (``max``; None: up to the service's most)
    and in which order (``order``: 0 ascending, 1 descending by id; None: ascending)."""

    limit: int | None
    order: int | None

    @property
    def descending(self) -> bool:
        return self.order == 1


def parse_query(args: Callable[[str], str | None]) -> Query:
    """The query from ``args(name)`` (the first value of each parameter).

    :raise InvalidInput: if ``max`` or ``order`` is out of bounds.
    """
    return Query(int_arg(args("max"), "max", minimum=1), int_arg(args("order"), "order", minimum=0, maximum=1))


class TaskLists:
    """Lists this process has answered, filed by whose, which query, under which mount."""

    def __init__(self, cache: ListCache | None = None) -> None:
        self._cache = cache or ListCache()

    def lookup(self, owner: int, query: Query, root: str, version: int) -> ListBody | None:
        """The list as last built, if ``version`` (read with the token check,
        before the list: a body is never older than the version it is filed
        under) still holds; else None."""
        return self._cache.get((owner, *query, root), version)

    def store(self, owner: int, query: Query, root: str, version: int, body: bytes) -> ListBody:
        listed = ListBody.of(body)
        self._cache.put((owner, *query, root), version, listed)
        return listed

    def __len__(self) -> int:
        return len(self._cache)


class Answer(NamedTuple):
    status: int  # 200, or 304 when the client's entity tag is the list's
    headers: dict[str, str]


def answer(listed: ListBody, if_none_match: str | None) -> Answer:
    """The status and headers for ``listed``, given the ``If-None-Match`` sent."""
    headers = {"ETag": f'"{listed.etag}"', "Cache-Control": CACHE_CONTROL, "Vary": VARY}
    if if_none_match is not None and parse_etags(if_none_match).contains_weak(listed.etag):
        return Answer(304, headers)
    return Answer(200, headers)
