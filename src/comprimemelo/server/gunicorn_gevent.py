"""gunicorn's gevent worker, accepting new connections while it is busy.

With more than one worker, gunicorn's gevent worker accepts one connection per
turn of its event loop (``max_accept = 1``), so that the first worker to wake
does not take every waiting connection. But a busy turn runs every request
whose bytes have arrived before the loop looks at the listening socket again:
at 1000 connections on 2 cores a turn took over 100 ms, so the workers took
about 10 connections a second, and after 30 s 680 of the 1000 connections
were still waiting in the listen queue, unanswered, while the rest were served
(``capacity bench-api`` counted them with ``ss``). Taking up to
``ACCEPT_PER_TURN`` per turn empties the queue in a few turns and still
leaves some for the other workers.

Request bodies: for a body of known length gunicorn reads up to 1 MiB from
the socket when the application asks for less, and keeps the rest by copying
it into a new buffer on every read. With werkzeug's 256 KiB multipart reads
that copying was a fifth of a web process's time during uploads (py-spy);
socket reads no larger than werkzeug's leave little to copy. gunicorn reads
large to spare OS threads the GIL hand-over per ``recv``; greenlets have none.

Keep-alive turns (``FairGeventWorker``): a greenlet that has answered a
request reads the connection's next one at once, and gevent's ``recv``
returns without yielding when the bytes are already there. A client on
another core sends its next request as soon as it reads the answer, so a
greenlet kept serving its own connection while the others waited: at 1000
connections (wrk, 2 cores) the median request took 0.2-0.5 ms and one in ten
over 0.9 s, with timeouts past 10 s (issue 20). After each request the
greenlet now goes to the back of the loop's queue, so every ready
connection is served once per turn. Measured (capacity/reports/api-tail; wrk
-c1000, 20 s, two interleaved rounds, load 0.2-2.3): ``GET /api/tasks`` p90
175-177 ms and p99 226-232 ms with 0 timeouts, against 2.2-3.0 s, 4.8-6.0 s
and 87-157 timeouts with ``GeventWorker``, but at 0.88x its req/s (6,306
against 7,132). The production default for ``gevent``: the tail
first, at 0.92x bare Flask served the same way. Yielding after
every fourth request only lost on both counts (bare Flask, medians of two
rounds: 0.88x the req/s, p90 0.55 s, p99 0.76-0.86 s).

One send per answer (``OneSendResponse``): gunicorn sends a response's
headers, then its body, in two ``send`` calls. On loopback or a VM's
network a send carries the kernel's whole transmit path, and py-spy on
``GET /api/tasks`` at 1000 connections (PostgreSQL) put a quarter of a web
process's samples in ``send``, half of that in the headers' own. The headers
now leave with the first piece of the body when it is small; a large piece
is not copied to join them.

The ``Date`` header (``http_date``): gunicorn formats it anew for every
response with ``email.utils.formatdate``, 2.5% of a web process's samples on
the task list; it changes once a second, so it is formatted once a second.
"""

from __future__ import annotations

import time

import gevent
from gevent.server import StreamServer
from gunicorn import util
from gunicorn.http import unreader, wsgi
from gunicorn.workers import ggevent

ACCEPT_PER_TURN = 16
# The most body bytes copied to go out with the headers in one send.
JOIN_BODY_BYTES = 64 * 1024


class _StreamServer(StreamServer):
    @property
    def max_accept(self) -> int:
        return ACCEPT_PER_TURN

    @max_accept.setter
    def max_accept(self, _value: int) -> None:
        """gunicorn's ``max_accept = 1`` (see the module's docstring) is not taken."""


class OneSendResponse(wsgi.Response):
    """gunicorn's response, its headers held until the first piece of the body
    and sent with it (see the module's docstring)."""

    _held = b""
    _direct = False

    def send_headers(self) -> None:
        if self.headers_sent:
            return
        if self._direct or self._omits_body or self.chunked:
            super().send_headers()
            return
        # What gunicorn's send_headers writes, kept for the first body write.
        lines = [*self.default_headers(), *(f"{name}: {value}\r\n" for name, value in self.headers)]
        self._held = util.to_bytestring("%s\r\n" % "".join(lines), "latin-1")
        self.headers_sent = True

    def _emit_body(self, data) -> None:
        if self._held and len(data) <= JOIN_BODY_BYTES:
            held, self._held = self._held, b""
            util.write(self.sock, held + data)
            return
        self._send_held()
        super()._emit_body(data)

    def sendfile(self, respiter) -> bool:
        self._direct = True  # headers straight out, before the file's bytes
        return super().sendfile(respiter)

    def close(self) -> None:
        self.send_headers()
        self._send_held()  # no body was written after all (or none was allowed)
        super().close()

    def _send_held(self) -> None:
        if self._held:
            held, self._held = self._held, b""
            util.write(self.sock, held)


class _HttpDate:
    """gunicorn's ``util.http_date``, the current second's formatted once."""

    def __init__(self, format_date=util.http_date) -> None:
        self._format = format_date
        self._second: int | None = None
        self._text = ""

    def __call__(self, timestamp: float | None = None) -> str:
        if timestamp is not None:
            return self._format(timestamp)
        second = int(time.time())
        if second != self._second:
            self._text, self._second = self._format(second), second
        return self._text


class GeventWorker(ggevent.GeventWorker):
    def run(self) -> None:
        # The names gunicorn's ``run`` builds its server and responses with; this process's only.
        ggevent.StreamServer = _StreamServer
        wsgi.Response = OneSendResponse
        util.http_date = _HttpDate()
        # Imported here, once gevent has patched the process: it brings in Flask.
        from comprimemelo.web.middleware.multipart import MULTIPART_READ_BYTES

        unreader.SocketUnreader.max_body_chunk = MULTIPART_READ_BYTES
        super().run()


class FairGeventWorker(GeventWorker):
    """Our gevent worker whose keep-alive connections take turns (see the module's docstring)."""

    def handle_request(self, listener_name, req, sock, addr) -> bool:
        keep_alive = super().handle_request(listener_name, req, sock, addr)
        gevent.sleep(0)  # to the back of the queue: every other ready connection goes first
        return keep_alive
