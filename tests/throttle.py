"""A TCP proxy on loopback that slows what clients send: a slow link to a backend,
which may also break once."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator

CHUNK_BYTES = 16 * 1024


class ThrottlingProxy:
    """Forwards ``127.0.0.1:<port>`` to ``upstream``; each connection's bytes to the
    upstream beyond ``free_bytes`` go at ``bytes_per_second``. ``sent`` counts
    every byte forwarded upstream so far. With ``break_after`` set, the connection
    that carries byte ``break_after`` (counted from then on) is cut, once: ``broken``
    says it happened."""

    def __init__(self, upstream: tuple[str, int], bytes_per_second: float, free_bytes: int = 64 * 1024) -> None:
        self.upstream = upstream
        self.rate = bytes_per_second
        self.free_bytes = free_bytes
        self.sent = 0
        self.break_after: int | None = None
        self.broken = False
        self._lock = threading.Lock()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            server = socket.create_connection(self.upstream)
            threading.Thread(target=self._pump, args=(client, server, True), daemon=True).start()
            threading.Thread(target=self._pump, args=(server, client, False), daemon=True).start()

    def _pump(self, source: socket.socket, target: socket.socket, throttled: bool) -> None:
        forwarded = 0
        with contextlib.suppress(OSError):
            while data := source.recv(CHUNK_BYTES):
                if throttled and forwarded >= self.free_bytes:
                    time.sleep(len(data) / self.rate)
                if throttled and self._breaks_now(len(data)):
                    break
                target.sendall(data)
                forwarded += len(data)
                if throttled:
                    with self._lock:
                        self.sent += len(data)
        for sock in (source, target):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def break_once_after(self, count: int) -> None:
        """Cut the connection that carries the ``count``-th byte sent from now on."""
        with self._lock:
            self.break_after = self.sent + count

    def _breaks_now(self, length: int) -> bool:
        with self._lock:
            if self.break_after is None or self.sent + length < self.break_after:
                return False
            self.break_after = None
            self.broken = True
            return True

    def close(self) -> None:
        self._closed = True
        self._listener.close()


@contextlib.contextmanager
def throttled(upstream_url: str, bytes_per_second: float) -> Iterator[ThrottlingProxy]:
    host, port = upstream_url.removeprefix("http://").rsplit(":", 1)
    proxy = ThrottlingProxy((host, int(port)), bytes_per_second)
    try:
        yield proxy
    finally:
        proxy.close()
