"""The web's turns at the database: a first-come, first-served gate in front
of each process's connection pool.

A gevent web process serves hundreds of requests at once, far more than its
pool holds. SQLAlchemy's pool lets them race: a returned connection goes to
whichever request asks next, often a newcomer, while one that has waited
wakes to an empty pool and queues again at the back. On PostgreSQL at 1000
connections the median request took 230 ms and the 95th percentile 3.6 s.
The requests that found the pool empty also opened overflow connections,
and closed them again on return: a new PostgreSQL backend per request.

Here a request takes a permit (one per pooled connection) before its first
query and keeps it until teardown. A returned permit goes straight to the
longest waiter, so nobody overtakes, and the pool itself never runs dry.
A request that waits longer than ``WAIT_SECONDS`` (SQLAlchemy's own pool
timeout) is answered 503 with ``Retry-After``, as in any database outage.
"""

from __future__ import annotations

import collections
import threading

from comprimemelo.domain.errors import Unavailable

# Where each app keeps its gate: one per process, as gunicorn builds one app per worker.
EXTENSION = "comprimemelo.db_gate"
WAIT_SECONDS = 30.0
# Set in a WSGI environ whose request waited its turn in vain before Flask saw it.
WAITED = "comprimemelo.db_gate_waited"


class FairGate:
    """At most ``permits`` holders at once; the others are let in in arrival order.

    Built on ``threading``, so it serves OS threads and, once gevent has
    patched ``threading``, greenlets alike.
    """

    def __init__(self, permits: int) -> None:
        if permits < 1:
            raise ValueError("a gate needs at least one permit")
        self._free = permits
        self._waiting: collections.deque[threading.Event] = collections.deque()
        self._lock = threading.Lock()

    def acquire(self, timeout: float | None = None) -> bool:
        """Take a permit, waiting at most ``timeout`` seconds; False if none came."""
        with self._lock:
            if self._free and not self._waiting:
                self._free -= 1
                return True
            turn = threading.Event()
            self._waiting.append(turn)
        if turn.wait(timeout):
            return True
        with self._lock:
            if turn.is_set():  # handed over just as the wait ran out
                return True
            self._waiting.remove(turn)
            return False

    @property
    def free(self) -> int:
        """Permits nobody holds."""
        return self._free

    @property
    def waiting(self) -> int:
        """Requests in line for a permit."""
        return len(self._waiting)

    def release(self) -> None:
        """Give the permit back: to the longest waiter, if any, never to a newcomer."""
        with self._lock:
            if self._waiting:
                self._waiting.popleft().set()
            else:
                self._free += 1


def enter(gate: FairGate, *, waited: bool = False) -> None:
    """Wait for this request's turn at the database.

    ``waited``: the request already waited its ``WAIT_SECONDS`` in vain
    (web/middleware/fastlist.py tried first), so it takes a free permit or none.

    :raise Unavailable: if no turn came within ``WAIT_SECONDS``.
    """
    if not gate.acquire(0 if waited else WAIT_SECONDS):
        raise Unavailable("the database is busy; try again shortly")
