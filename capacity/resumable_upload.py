"""A resumable upload of a large generated file through ``/api/uploads``, and
the 5 GiB check of issue 9, run by hand::

    comprimemelo serve --data-dir /tmp/big --port 8000 &
    python -m capacity.resumable_upload --base-url http://127.0.0.1:8000 --size 5GiB --interrupt-at 3GiB

It signs a user up, opens a session, sends the file in ``chunk_bytes`` chunks
(``http.client``: one request per chunk with an exact ``Content-Length``), and
with ``--interrupt-at`` drops the connection in the middle of the chunk that
holds that byte, asks the server for the offset and resumes from it. Then it
submits the upload as a task, waits until it is processed and downloads the
original, checking it byte for byte (SHA-256). Prints one JSON line of figures
plus the machine.

The file is never held anywhere: byte ``i`` is a function of the seed and
``i`` (a random 1 MiB block, its first 8 bytes replaced by the block number),
so any range can be regenerated, e.g. to resume.
"""

from __future__ import annotations

import argparse
import hashlib
import http.client
import json
import random
import re
import socket
import time
from collections.abc import Iterator
from urllib.parse import urlsplit

import requests

BLOCK = 1024 * 1024
WRITE_BYTES = 1024 * 1024
RESUME_INCOMPLETE = 308
TIMEOUT_SECONDS = 120
PASSWORD = "a long secret for the upload check"
_SIZE = re.compile(r"(\d+(?:\.\d+)?)\s*(B|KiB|MiB|GiB|MB|GB)?")
_UNITS = {None: 1, "B": 1, "KiB": 1024, "MiB": 1024**2, "GiB": 1024**3, "MB": 1000**2, "GB": 1000**3}


class Pattern:
    """The generated file: deterministic, any range on demand, no memory."""

    def __init__(self, seed: int) -> None:
        self._block = random.Random(seed).randbytes(BLOCK)

    def pieces(self, start: int, length: int) -> Iterator[bytes]:
        """Bytes ``start`` to ``start + length`` in pieces of at most ``WRITE_BYTES``."""
        end = start + length
        while start < end:
            number, within = divmod(start, BLOCK)
            block = number.to_bytes(8, "big") + self._block[8:]
            piece = block[within:min(BLOCK, within + end - start)]
            yield piece
            start += len(piece)

    def sha256(self, size: int) -> str:
        digest = hashlib.sha256()
        for piece in self.pieces(0, size):
            digest.update(piece)
        return digest.hexdigest()


class ChunkSender:
    """The client side of the resumable protocol against any upload URL
    (this app's ``PUT /api/uploads/<id>`` or a Cloud Storage session URI)."""

    def __init__(self, upload_url: str, size: int, pattern: Pattern, headers: dict | None = None) -> None:
        self.url = urlsplit(upload_url)
        self.size = size
        self.pattern = pattern
        self.headers = headers or {}

    def _connection(self) -> http.client.HTTPConnection:
        kind = http.client.HTTPSConnection if self.url.scheme == "https" else http.client.HTTPConnection
        return kind(self.url.netloc, timeout=TIMEOUT_SECONDS)

    def _target(self) -> str:
        return self.url.path + (f"?{self.url.query}" if self.url.query else "")

    def _send(self, content_range: str, first: int, length: int, cut_after: int | None = None, on_cut=None):
        connection = self._connection()
        try:
            connection.putrequest("PUT", self._target(), skip_accept_encoding=True)
            for name, value in {**self.headers, "Content-Range": content_range,
                                "Content-Length": str(length),
                                "Content-Type": "application/octet-stream"}.items():
                connection.putheader(name, value)
            connection.endheaders()
            sent = 0
            for piece in self.pattern.pieces(first, length):
                if cut_after is not None and sent + len(piece) > cut_after:
                    connection.send(piece[:cut_after - sent])
                    if on_cut is not None:
                        on_cut()  # e.g. SIGKILL this process
                    connection.sock.shutdown(socket.SHUT_RDWR)  # the connection drops mid-chunk
                    return None, None
                connection.send(piece)
                sent += len(piece)
            response = connection.getresponse()
            body = response.read()
            return response, body
        finally:
            connection.close()

    def offset(self) -> int:
        """Where the stored bytes end, asked with ``Content-Range: bytes */SIZE``."""
        response, _body = self._send(f"bytes */{self.size}", 0, 0)
        return _offset(response, self.size)

    def send(self, start: int, chunk_bytes: int, *, cut_at: int | None = None, on_cut=None) -> int:
        """Send from ``start`` to the end; with ``cut_at``, drop the connection in
        the middle of the chunk that holds that byte and return what the server
        then says it has. Returns the final offset."""
        offset = start
        while offset < self.size:
            length = min(chunk_bytes, self.size - offset)
            last = offset + length - 1
            cut_after = cut_at - offset if cut_at is not None and offset <= cut_at <= last else None
            response, _body = self._send(f"bytes {offset}-{last}/{self.size}", offset, length, cut_after, on_cut)
            if response is None:
                time.sleep(0.5)  # let the server notice and fsync what arrived
                return self.offset()
            offset = _offset(response, self.size)
        return offset


def _offset(response, size: int) -> int:
    if response.status in (200, 201):
        return size
    if response.status != RESUME_INCOMPLETE:
        raise RuntimeError(f"upload answered {response.status}")
    stored = response.getheader("Range")
    return int(stored.rsplit("-", 1)[1]) + 1 if stored else 0


def parse_size(text: str) -> int:
    match = _SIZE.fullmatch(text.strip())
    if not match:
        raise argparse.ArgumentTypeError(f"not a size: {text!r} (e.g. 5GiB, 300MB, 1048576)")
    return int(float(match.group(1)) * _UNITS[match.group(2)])


def run(base_url: str, size: int, *, seed: int, interrupt_at: int | None, fmt: str) -> dict:
    http = requests.Session()
    username = f"big{int(time.time() * 1000)}"
    http.post(f"{base_url}/api/auth/signup", json={"username": username, "email": f"{username}@example.com",
              "password1": PASSWORD, "password2": PASSWORD}, timeout=60).raise_for_status()
    token = http.post(f"{base_url}/api/auth/login", json={"username": username, "password": PASSWORD},
                      timeout=60).json()["access_token"]
    http.headers["Authorization"] = f"Bearer {token}"
    session = http.post(f"{base_url}/api/uploads", json={"fileName": "big.bin", "size": size}, timeout=60)
    session.raise_for_status()
    session = session.json()
    pattern = Pattern(seed)
    sender = ChunkSender(session["upload_url"], size, pattern)
    figures: dict = {"size": size, "chunk_bytes": session["chunk_bytes"]}
    began = time.monotonic()
    offset = sender.send(0, session["chunk_bytes"], cut_at=interrupt_at)
    if interrupt_at is not None:
        figures["interrupted_at"] = interrupt_at
        figures["resumed_from"] = offset
        offset = sender.send(offset, session["chunk_bytes"])
    figures["upload_seconds"] = round(time.monotonic() - began, 1)
    figures["upload_mib_per_second"] = round(size / BLOCK / max(figures["upload_seconds"], 0.001), 1)
    began = time.monotonic()
    task = http.post(f"{base_url}/api/uploads/{session['id']}/complete", json={"newFormat": fmt, "level": 1},
                     timeout=120)
    task.raise_for_status()
    task = task.json()
    figures["complete_seconds"] = round(time.monotonic() - began, 2)
    began = time.monotonic()
    while (status := http.get(f"{base_url}/api/tasks/{task['id']}", timeout=60).json())["status"] not in (
            "processed", "failed"):
        time.sleep(1)
    figures["processing_seconds"] = round(time.monotonic() - began, 1)
    figures["status"], figures["size_compressed"] = status["status"], status["size_compressed"]
    began = time.monotonic()
    digest = hashlib.sha256()
    with http.get(f"{base_url}{task['original_url']}", stream=True, timeout=TIMEOUT_SECONDS) as original:
        original.raise_for_status()
        for piece in original.iter_content(WRITE_BYTES):
            digest.update(piece)
    figures["download_seconds"] = round(time.monotonic() - began, 1)
    figures["original_matches"] = digest.hexdigest() == pattern.sha256(size)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base-url", default="http://127.0.0.1:8000")
    parser.add_argument("--size", type=parse_size, default=parse_size("5GiB"))
    parser.add_argument("--interrupt-at", type=parse_size, default=None)
    parser.add_argument("--seed", type=int, default=9)
    parser.add_argument("--format", default="tar.zst")
    args = parser.parse_args()
    from capacity.machine import machine_facts

    figures = run(args.base_url, args.size, seed=args.seed, interrupt_at=args.interrupt_at, fmt=args.format)
    print(json.dumps({"figures": figures, "machine": machine_facts()}))


if __name__ == "__main__":
    main()
