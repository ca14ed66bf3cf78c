"""Block-parallel gzip, bzip2 and xz, with output every standard reader accepts.

The input is cut into blocks that are compressed on their own threads (zlib,
bz2 and lzma release the GIL) and written in order, the way pigz, pbzip2 and
``xz -T`` do it:

- gzip: one member; each block (deflated by zlib-ng) is raw deflate primed with the previous 32 KiB
  as a preset dictionary (so the ratio stays within a fraction of a percent of
  a single stream) and ended with a sync flush, so the pieces concatenate into
  one valid deflate stream. The CRC is computed in order on the calling thread.
- bzip2 and xz: each block is a complete stream; concatenated streams are valid
  files for ``bzip2``/``xz`` and for Python's ``bz2``/``lzma``.

At most ``2 * threads`` blocks are in flight, so memory stays flat.
"""

from __future__ import annotations

import bz2
import collections
import lzma
import struct
from concurrent.futures import Future, ThreadPoolExecutor
from typing import BinaryIO

# zlib-ng: the same deflate format as zlib, about twice as fast at the same level.
from zlib_ng import zlib_ng as zlib

MIB = 1024 * 1024
GZIP_BLOCK_BYTES = 1 * MIB
# pbzip2's block: bzip2's own 900 kB block at level 9.
BZIP2_BLOCK_BYTES = 900 * 1000
# xz -T's default block is three times the dictionary of the preset.
XZ_BLOCK_BYTES = {0: 3 * MIB, 1: 3 * MIB, 2: 6 * MIB, 3: 12 * MIB, 4: 12 * MIB,
                  5: 24 * MIB, 6: 24 * MIB, 7: 48 * MIB, 8: 96 * MIB, 9: 192 * MIB}
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


class _BlockWriter:
    """A write-only binary stream that compresses fixed-size blocks in threads."""

    block_bytes = MIB

    def __init__(self, sink: BinaryIO, *, level: int, threads: int) -> None:
        self._sink = sink
        self._level = level
        self._threads = max(1, threads)
        self._pool = ThreadPoolExecutor(self._threads, thread_name_prefix="compress")
        self._pending: collections.deque[Future[bytes]] = collections.deque()
        self._buffer = bytearray()
        self._blocks = 0
        self._closed = False

    def writable(self) -> bool:
        return True

    def write(self, data: bytes) -> int:
        self._buffer += data
        while len(self._buffer) >= self.block_bytes:
            block = bytes(self._buffer[: self.block_bytes])
            del self._buffer[: self.block_bytes]
            self._submit(block, last=False)
        return len(data)

    def _submit(self, block: bytes, *, last: bool) -> None:
        self._pending.append(self._pool.submit(*self._job(block, last)))
        self._blocks += 1
        while len(self._pending) > 2 * self._threads:
            self._sink.write(self._pending.popleft().result())

    def _job(self, block: bytes, last: bool) -> tuple:
        raise NotImplementedError

    def _finish(self) -> None:
        """Submit what is left in the buffer (always one block for an empty input)."""
        if self._buffer or not self._blocks:
            self._submit(bytes(self._buffer), last=True)
            self._buffer.clear()

    def _trailer(self) -> bytes:
        return b""

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            self._finish()
            while self._pending:
                self._sink.write(self._pending.popleft().result())
            self._sink.write(self._trailer())
        finally:
            self._pool.shutdown(wait=True)

    def abort(self) -> None:
        """Stop without finishing the stream (the caller discards the output)."""
        self._closed = True
        for future in self._pending:
            future.cancel()
        self._pool.shutdown(wait=True)

    def __enter__(self):
        return self

    def __exit__(self, kind, value, traceback) -> None:
        if kind is None:
            self.close()
        else:
            self.abort()


class ParallelDeflateWriter(_BlockWriter):
    """One raw deflate stream (no header): what a zip entry holds."""

    block_bytes = GZIP_BLOCK_BYTES

    def __init__(self, sink: BinaryIO, *, level: int = 6, threads: int = 2) -> None:
        super().__init__(sink, level=level, threads=threads)
        self._dictionary = b""

    def _job(self, block: bytes, last: bool) -> tuple:
        dictionary = self._dictionary
        if len(block) >= WINDOW_BYTES:
            self._dictionary = block[-WINDOW_BYTES:]
        else:
            self._dictionary = (self._dictionary + block)[-WINDOW_BYTES:]
        return _deflate_block, block, dictionary, self._level, last

    def _finish(self) -> None:
        # The deflate stream must end with a final block, even an empty one.
        self._submit(bytes(self._buffer), last=True)
        self._buffer.clear()


class ParallelGzipWriter(ParallelDeflateWriter):
    """One gzip member: header, parallel deflate, CRC-32 and size trailer."""

    def __init__(self, sink: BinaryIO, *, level: int = 6, threads: int = 2) -> None:
        sink.write(GZIP_HEADER)
        super().__init__(sink, level=level, threads=threads)
        self._crc = 0
        self._size = 0

    def _job(self, block: bytes, last: bool) -> tuple:
        self._crc = zlib.crc32(block, self._crc)
        self._size += len(block)
        return super()._job(block, last)

    def _trailer(self) -> bytes:
        return struct.pack("<II", self._crc, self._size & 0xFFFFFFFF)


class ParallelDeflateCompressor:
    """``zipfile``'s compressor interface (``compress``/``flush``) over a
    ``ParallelDeflateWriter``; zipfile itself keeps computing the CRC."""

    def __init__(self, *, level: int, threads: int) -> None:
        self._chunks: list[bytes] = []
        self._writer = ParallelDeflateWriter(self, level=level, threads=threads)

    def write(self, data: bytes) -> int:  # the writer's sink
        self._chunks.append(data)
        return len(data)

    def _take(self) -> bytes:
        data = b"".join(self._chunks)
        self._chunks.clear()
        return data

    def compress(self, data: bytes) -> bytes:
        self._writer.write(data)
        return self._take()

    def flush(self) -> bytes:
        self._writer.close()
        return self._take()

    def abort(self) -> None:
        self._writer.abort()


class ParallelBzip2Writer(_BlockWriter):
    block_bytes = BZIP2_BLOCK_BYTES

    def _job(self, block: bytes, last: bool) -> tuple:
        return bz2.compress, block, self._level


class ParallelXzWriter(_BlockWriter):
    def __init__(self, sink: BinaryIO, *, level: int = 6, threads: int = 2) -> None:
        super().__init__(sink, level=level, threads=threads)
        self.block_bytes = XZ_BLOCK_BYTES[level]

    def _job(self, block: bytes, last: bool) -> tuple:
        return _xz_block, block, self._level


def _xz_block(block: bytes, level: int) -> bytes:
    return lzma.compress(block, format=lzma.FORMAT_XZ, check=lzma.CHECK_CRC64, preset=level)
