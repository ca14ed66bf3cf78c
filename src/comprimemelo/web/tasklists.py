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

import base64
import binascii
import collections
import hashlib
import re
import threading
import unicodedata
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import NamedTuple
from urllib.parse import urlencode

from sqlalchemy.engine import Connection
from werkzeug.http import parse_etags

from comprimemelo.compression import ArchiveFormat, UnsupportedFormat
from comprimemelo.domain.errors import InvalidInput
from comprimemelo.domain.statuses import TaskStatus
from comprimemelo.services import tasks as task_service
from comprimemelo.web.params import int_arg

DEFAULT_MAX_BYTES = 16 * 1024 * 1024
ENTITY_TAG_BYTES = 16
# Where each app keeps its lists: one per process, as gunicorn builds one app per worker.
EXTENSION = "comprimemelo.task_lists"
# A browser may keep the list, but must ask whether it still holds (a 304 is
# cheap); it is per caller, so no shared cache may keep it.
CACHE_CONTROL = "private, no-cache"
VARY = "Authorization, Cookie"


LIST_PATH = "/api/tasks"
# A search longer than any file name (255) finds nothing, and costs a scan to say so.
MAX_SEARCH_CHARS = 255
STATUSES = tuple(status.value for status in TaskStatus)
# A cursor is the order and the id a page ended at, base64url without padding:
# opaque to clients (they follow it, never build it), checked on the way in.
_CURSOR = re.compile(r"([01]):([1-9][0-9]{0,9})")
# Task ids are 32-bit (see api/tasks.MAX_TASK_ID): a larger one is no cursor of ours.
_MAX_TASK_ID = 2**31 - 1


@dataclass(frozen=True, slots=True)
class ListBody:
    """A list as answered: its JSON and its ``Link`` to the next page, if any;
    the entity tag covers both (the same tasks may continue differently)."""

    body: bytes
    etag: str
    link: str | None = None

    @classmethod
    def of(cls, body: bytes, link: str | None = None) -> ListBody:
        digest = hashlib.blake2b(body, digest_size=ENTITY_TAG_BYTES)
        if link is not None:
            digest.update(b"\0" + link.encode())
        return cls(body, digest.hexdigest(), link)


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
    and in which order (``order``: 0 ascending, 1 descending by id; None:
    ascending); only tasks of a ``status``, of a ``format``, with a file whose
    name contains ``search``; and from where (``cursor``: after the task id a
    previous page ended at). Each field keys the cache, so each query has its
    own body and entity tag."""

    limit: int | None
    order: int | None
    status: str | None = None
    format: str | None = None
    search: str | None = None
    after: int | None = None

    @property
    def descending(self) -> bool:
        return self.order == 1

    def filter(self) -> task_service.ListFilter:
        return task_service.ListFilter(after=self.after, status=self.status, new_format=self.format,
                                       search=self.search)


def _invalid(message: str) -> InvalidInput:
    return InvalidInput(message, code="invalid_query")


def cursor_for(order: int | None, last_id: int) -> str:
    return base64.urlsafe_b64encode(f"{order or 0}:{last_id}".encode()).decode().rstrip("=")


def parse_cursor(raw: str, order: int | None) -> int:
    """The id a page ended at, from a cursor we made for a list in ``order``.

    :raise InvalidInput: if it is not one.
    """
    try:
        decoded = base64.urlsafe_b64decode(raw.encode("ascii") + b"=" * (-len(raw) % 4)).decode("ascii")
    except (binascii.Error, ValueError):  # not base64, or not ASCII (UnicodeError is a ValueError)
        decoded = ""
    found = _CURSOR.fullmatch(decoded)
    if found is None or int(found.group(2)) > _MAX_TASK_ID or cursor_for(int(found.group(1)), int(found.group(2))) != raw:
        raise _invalid("query parameter 'cursor' is not one this service gave: follow the Link header's URL")
    if int(found.group(1)) != (order or 0):
        raise _invalid("query parameter 'cursor' is for a list in another order: keep 'order' as it was")
    return int(found.group(2))


def _search_arg(raw: str | None) -> str | None:
    if not raw:
        return None
    if len(raw) > MAX_SEARCH_CHARS:
        raise _invalid(f"query parameter 'search' must be at most {MAX_SEARCH_CHARS} characters")
    if any(unicodedata.category(char).startswith("C") for char in raw):  # PostgreSQL refuses NUL
        raise _invalid("query parameter 'search' must not contain control or invisible characters")
    return raw


def _status_arg(raw: str | None) -> str | None:
    if not raw:
        return None
    if raw not in STATUSES:
        raise _invalid(f"query parameter 'status' must be one of {', '.join(STATUSES)}")
    return raw


def _format_arg(raw: str | None) -> str | None:
    if not raw:
        return None
    try:
        return ArchiveFormat.parse(raw).value
    except UnsupportedFormat:
        choices = ", ".join(fmt.value for fmt in ArchiveFormat)
        raise _invalid(f"query parameter 'format' must be one of {choices}") from None


def parse_query(args: Callable[[str], str | None]) -> Query:
    """The query from ``args(name)`` (the first value of each parameter).

    :raise InvalidInput: if a parameter is out of bounds or a cursor not ours.
    """
    order = int_arg(args("order"), "order", minimum=0, maximum=1)
    cursor = args("cursor")
    return Query(
        int_arg(args("max"), "max", minimum=1),
        order,
        _status_arg(args("status")),
        _format_arg(args("format")),
        _search_arg(args("search")),
        parse_cursor(cursor, order) if cursor else None,
    )


class Page(NamedTuple):
    tasks: list[task_service.TaskView]
    next: Query | None  # the query of the page after, if one follows


def read_page(connection: Connection, owner: int, query: Query) -> Page:
    """The page ``query`` asks for, and the query of the next one."""
    size = min(query.limit or task_service.MAX_LIST_LIMIT, task_service.MAX_LIST_LIMIT)
    found = task_service.list_tasks(
        connection, owner, limit=size, descending=query.descending, only=query.filter(), peek=True
    )
    if len(found) <= size:
        return Page(found, None)
    del found[size:]
    return Page(found, query._replace(after=found[-1].id))


def link_to(query: Query, root: str) -> str:
    """An RFC 8288 ``Link`` to ``query``'s page, relative to the mount ``root``."""
    return f'<{url_of(query, root)}>; rel="next"'


def url_of(query: Query, root: str) -> str:
    """The URL of ``query``'s page under the mount ``root`` (the dashboard's first "Load more")."""
    params = {"max": query.limit, "order": query.order, "status": query.status, "format": query.format,
              "search": query.search}
    pairs = [(name, value) for name, value in params.items() if value is not None]
    if query.after is not None:
        pairs.append(("cursor", cursor_for(query.order, query.after)))
    return f"{root}{LIST_PATH}?{urlencode(pairs)}"


class TaskLists:
    """Lists this process has answered, filed by whose, which query, under which mount."""

    def __init__(self, cache: ListCache | None = None) -> None:
        self._cache = cache or ListCache()

    def lookup(self, owner: int, query: Query, root: str, version: int) -> ListBody | None:
        """The list as last built, if ``version`` (read with the token check,
        before the list: a body is never older than the version it is filed
        under) still holds; else None."""
        return self._cache.get((owner, *query, root), version)

    def store(
        self, owner: int, query: Query, root: str, version: int, body: bytes, link: str | None = None
    ) -> ListBody:
        listed = ListBody.of(body, link)
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
    if listed.link is not None:
        headers["Link"] = listed.link
    if if_none_match is not None and parse_etags(if_none_match).contains_weak(listed.etag):
        return Answer(304, headers)
    return Answer(200, headers)
