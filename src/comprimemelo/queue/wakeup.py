"""Wake receivers in other processes on this machine the moment a message is published.

``serve`` runs web and worker as separate processes that share the embedded
queue's table; without this, a worker would only see a new message at its
next look at the table. Each receiving process binds a Unix datagram socket in
a shared folder; a publisher sends one byte to every socket there. Best effort:
a lost wake-up only costs the receiver's fallback poll.
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import select
import socket
from pathlib import Path

log = logging.getLogger(__name__)

SUFFIX = ".sock"
# sockaddr_un.sun_path holds 108 bytes: deeper folders fall back to polling.
MAX_SOCKET_PATH_BYTES = 107


class Wakeup:
    def __init__(self, folder: Path) -> None:
        self._folder = folder
        self._socket: socket.socket | None = None
        self._path: Path | None = None
        self._unavailable = False

    def notify(self) -> None:
        """Send a wake-up to every receiver; forget the sockets of dead ones."""
        try:
            paths = list(self._folder.glob(f"*{SUFFIX}"))
        except OSError:
            return
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sender:
            sender.setblocking(False)
            for path in paths:
                try:
                    sender.sendto(b"!", str(path))
                except (ConnectionRefusedError, FileNotFoundError):
                    with contextlib.suppress(OSError):
                        path.unlink()  # its process is gone
                except OSError:
                    pass  # full buffer: that receiver is awake already

    def wait(self, timeout: float) -> bool:
        """Sleep until a wake-up arrives or ``timeout`` passes; ``False`` at
        once if this process cannot receive wake-ups (the caller polls)."""
        receiver = self._receiver()
        if receiver is None:
            return False
        try:
            readable, _, _ = select.select([receiver], [], [], timeout)
        except (OSError, ValueError):  # closed meanwhile (shutdown)
            return True
        if readable:
            with contextlib.suppress(OSError):
                while receiver.recv(64):
                    pass
        return True

    def _receiver(self) -> socket.socket | None:
        if self._socket is not None or self._unavailable:
            return self._socket
        path = self._folder / f"{os.getpid()}-{secrets.token_hex(4)}{SUFFIX}"
        if len(os.fsencode(path)) > MAX_SOCKET_PATH_BYTES:
            self._unavailable = True
            return None
        try:
            self._folder.mkdir(parents=True, exist_ok=True)
            receiver = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
            receiver.bind(str(path))
            receiver.setblocking(False)
        except OSError as error:
            log.warning("no cross-process queue wake-up (%s); polling instead", error)
            self._unavailable = True
            return None
        self._socket, self._path = receiver, path
        return receiver

    def close(self) -> None:
        if self._socket is not None:
            self._socket.close()
            with contextlib.suppress(OSError):
                self._path.unlink()
            self._socket = self._path = None
