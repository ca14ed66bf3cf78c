"""Gzip on several cores, the way pigz does it, with output any gunzip reads.

The input is cut into blocks; each block is deflated on its own thread (zlib
releases the GIL), primed with the previous 32 KiB as a preset dictionary so
the ratio stays within a fraction of a percent of a single stream, and ended
with a sync flush so the pieces concatenate into one valid deflate stream. The
CRC is computed in order on the calling thread. At most ``2 * threads`` blocks
are in flight, so memory stays flat.
"""

from __future__ import annotations

import collections
import struct
import zlib
from concurrent.futures import Future, ThreadPoolExecutor
from typing import BinaryIO

BLOCK_BYTES = 1024 * 1024
WINDOW_BYTES = 32 * 1024
RAW_DEFLATE = -15
# ID1 ID2 CM=deflate FLG=0 MTIME=0 XFL=0 OS=255 (unknown): reproducible output.
GZIP_HEADER = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff"


def _deflate_block(block: bytes, dictionary: bytes, level: int, last: bool) -> bytes:
    if dictionary:
        compressor = zlib.compressobj(level, zlib.DEFLATED, RAW_DEFLATE, zdict=dictionary)
    else:
        compressor = zlib.compressobj(level, zlib.DEFLATED, RAW_DEFLATE)
    return compressor.compress(block) + compressor.flush(zlib.Z_FINISH if last else zlib.Z_SYNC_FLUSH)


class ParallelGzipWriter:
    """A write-only binary stream producing one gzip member on ``sink``."""

    def __init__(self, sink: BinaryIO, *, level: int = 6, threads: int = 2) -> None:
        self._sink = sink
        self._level = level
        self._threads = max(1, threads)
        self._pool = ThreadPoolExecutor(self._threads, thread_name_prefix="deflate")
        self._pending: collections.deque[Future[bytes]] = collections.deque()
        self._buffer = bytearray()
        self._dictionary = b""
        self._crc = 0
        self._size = 0
        self._closed = False
        sink.write(GZIP_HEADER)

    def writable(self) -> bool:
        return True

    def write(self, data: bytes) -> int:
        self._buffer += data
        while len(self._buffer) >= BLOCK_BYTES:
            block = bytes(self._buffer[:BLOCK_BYTES])
            del self._buffer[:BLOCK_BYTES]
            self._submit(block, last=False)
        return len(data)

    def _submit(self, block: bytes, *, last: bool) -> None:
        self._crc = zlib.crc32(block, self._crc)
        self._size += len(block)
        self._pending.append(
            self._pool.submit(_deflate_block, block, self._dictionary, self._level, last)
        )
        if len(block) >= WINDOW_BYTES:
            self._dictionary = block[-WINDOW_BYTES:]
        else:
            self._dictionary = (self._dictionary + block)[-WINDOW_BYTES:]
        while len(self._pending) > 2 * self._threads:
            self._sink.write(self._pending.popleft().result())

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            self._submit(bytes(self._buffer), last=True)
            self._buffer.clear()
            while self._pending:
                self._sink.write(self._pending.popleft().result())
            self._sink.write(struct.pack("<II", self._crc, self._size & 0xFFFFFFFF))
        finally:
            self._pool.shutdown(wait=True)

    def abort(self) -> None:
        """Stop without writing the trailer (the caller discards the output)."""
        self._closed = True
        for future in self._pending:
            future.cancel()
        self._pool.shutdown(wait=True)

    def __enter__(self) -> ParallelGzipWriter:
        return self

    def __exit__(self, kind, value, traceback) -> None:
        if kind is None:
            self.close()
        else:
            self.abort()
