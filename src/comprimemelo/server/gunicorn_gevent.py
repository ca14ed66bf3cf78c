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
"""

from __future__ import annotations

from gevent.server import StreamServer
from gunicorn.http import unreader
from gunicorn.workers import ggevent

ACCEPT_PER_TURN = 16


class _StreamServer(StreamServer):
    @property
    def max_accept(self) -> int:
        return ACCEPT_PER_TURN

    @max_accept.setter
    def max_accept(self, _value: int) -> None:
        """gunicorn's ``max_accept = 1`` (see the module's docstring) is not taken."""


class GeventWorker(ggevent.GeventWorker):
    def run(self) -> None:
        # The name gunicorn's ``run`` builds its server with; this process's only.
        ggevent.StreamServer = _StreamServer
        # Imported here, once gevent has patched the process: it brings in Flask.
        from comprimemelo.web.middleware.multipart import MULTIPART_READ_BYTES

        unreader.SocketUnreader.max_body_chunk = MULTIPART_READ_BYTES
        super().run()
