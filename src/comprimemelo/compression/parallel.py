"""Block-parallel deflate (gzip, zip), bzip2 and xz, with output every standard reader accepts.

The input is cut into blocks that are compressed on their own threads (zlib,
libdeflate, bz2 and lzma release the GIL) and written in order, the way pigz,
pbzip2 and ``xz -T`` do it:

- zip's deflate: one stream (a zip member must be one). Each block is raw
  deflate by libdeflate, its final-block bit cleared and a sync flush's
  empty stored block appended (``deflate_join``), so the pieces concatenate
  into one valid stream. Where libz cannot be loaded for that, each block is
  zlib's, primed with the previous 32 KiB as a preset dictionary and ended
  with a sync flush, as pigz does.
- gzip: one complete gzip member per block, by libdeflate (see
  ``ParallelGzipWriter``).
- bzip2 and xz: each block is a complete stream; concatenated streams are valid
  files for ``bzip2``/``xz`` and for Python's ``bz2``/``lzma``.

Not zlib-ng: it is twice zlib's speed, but at level 6 it is 5% larger on
executables, past the 2% we allow against pigz; libdeflate is as fast and smaller.

At most two blocks per thread are in flight, so memory stays flat whatever
the input size.

xz blocks are large (tens of MiB), so a fixed size leaves a core idle at the
end: 64 MiB in 24 MiB blocks is 24+24+16, two rounds for two threads. When
the caller knows about how many bytes are coming, ``balanced_block_bytes``
picks a size near the nominal one that fills every round (4 x 16 MiB there,
as xz asks for two rounds). Deflate and gzip instead cut the last ``threads``
blocks' worth of an expected input into blocks a quarter (an eighth for zlib) as large.
"""

from __future__ import annotations

import collections
import zlib
from collections.abc import Callable

TYPE_CHECKING = False  # typing itself costs start-up: ``comprimemelo compress`` imports this
if TYPE_CHECKING:
    from typing import BinaryIO

from comprimemelo.compression.workers import Job, Workers

# libdeflate, libbz2, liblzma and libz-through-ctypes load with the first writer
# that needs them: ``comprimemelo compress`` imports this module for every format.

MIB = 1024 * 1024
GZIP_BLOCK_BYTES = 1 * MIB
# pigz's block size, for the last blocks (``_BlockWriter.tail_block_bytes``).
GZIP_TAIL_BLOCK_BYTES = 128 * 1024
# A gzip member per block (libdeflate): each starts with no history, so larger
# blocks cost less ratio (text: 1.0042x pigz's size in 1 MiB members and
# 128 KiB tail members, 1.0022x in 2 MiB and 512 KiB).
GZIP_MEMBER_BYTES = 2 * MIB
GZIP_TAIL_MEMBER_BYTES = 512 * 1024
# pbzip2's block: bzip2's own 900 kB block at level 9.
BZIP2_BLOCK_BYTES = 900 * 1000
# xz -T's default block is three times the dictionary of the preset.
XZ_BLOCK_BYTES = {0: 3 * MIB, 1: 3 * MIB, 2: 6 * MIB, 3: 12 * MIB, 4: 12 * MIB,
                  5: 24 * MIB, 6: 24 * MIB, 7: 48 * MIB, 8: 96 * MIB, 9: 192 * MIB}
# 64 MiB of mixed files in 2 x 32 MiB blocks ran at 0.71x ``xz -T2``: one half
# was much harder. 4 x 16 MiB lets the thread with the easy block take the next.
XZ_MIN_ROUNDS = 2
WINDOW_BYTES = 32 * 1024
RAW_DEFLATE = -15


def balanced_block_bytes(expected: int | None, nominal: int, threads: int, minimum: int, min_rounds: int = 1) -> int:
    """A block size near ``nominal`` that cuts ``expected`` bytes into whole rounds of
    ``threads`` blocks, never below ``minimum`` (smaller blocks would cost ratio).
    ``nominal`` when nothing is expected.

    ``min_rounds`` asks for at least that many rounds where the blocks stay above
    the minimum: data is rarely equally hard throughout, and with one block per
    thread the thread on the hard half finishes last while the other idles.
    """
    if not expected or expected <= 0:
        return nominal
    rounds = max(1, round(expected / (nominal * threads)))
    if rounds < min_rounds:
        rounds = max(rounds, min(min_rounds, expected // (minimum * threads)))
    return max(minimum, -(-expected // (rounds * threads)))


def _deflate_block(block: bytes, dictionary: bytes, level: int, last: bool) -> bytes:
    if dictionary:
        compressor = zlib.compressobj(level, zlib.DEFLATED, RAW_DEFLATE, zdict=dictionary)
    else:
        compressor = zlib.compressobj(level, zlib.DEFLATED, RAW_DEFLATE)
    return compressor.compress(block) + compressor.flush(zlib.Z_FINISH if last else zlib.Z_SYNC_FLUSH)


class FinishedOrAborted:
    """A writer used in ``with``: finished (``close``) if the block succeeds,
    else ``abort``-ed, leaving an output the caller discards."""

    def __enter__(self):
        return self

    def __exit__(self, kind, value, traceback) -> None:
        if kind is None:
            self.close()
        else:
            self.abort()


class _BlockWriter(FinishedOrAborted):
    """A write-only binary stream that compresses fixed-size blocks in threads."""

    block_bytes = MIB
    # Smaller blocks for the last ``threads`` blocks' worth of an expected
    # input, so one core does not finish a whole block alone (None: never).
    tail_block_bytes: int | None = None
    max_pending_per_thread = 2

    def __init__(self, sink: BinaryIO, *, level: int, threads: int, expected_bytes: int | None = None) -> None:
        self._sink = sink
        self._expected = expected_bytes
        self._submitted = 0
        self._level = level
        self._threads = max(1, threads)
        self._pool = Workers(self._threads, "compress")
        # Each compressing block with its uncompressed size.
        self._pending: collections.deque[tuple[Job, int]] = collections.deque()
        self._pending_input = 0
        self._buffer = bytearray()
        # Called after each block's output is written: progress follows
        # compressed blocks, not bytes merely handed over.
        self.on_emit: Callable[[], None] | None = None
        self._blocks = 0
        self._closed = False
        self.compressed_bytes = 0
        self._written = 0

    def writable(self) -> bool:
        return True

    def tell(self) -> int:
        """Uncompressed bytes written so far."""
        return self._written

    def write(self, data: bytes) -> int:
        self._written += len(data)
        size = self._next_block_bytes()
        if not self._buffer and len(data) == size and isinstance(data, bytes):
            # A whole block (zip's reads are block-sized): no copy at all.
            self._submit(data, last=False)
            return len(data)
        self._buffer += data
        while len(self._buffer) >= size:
            with memoryview(self._buffer) as view:
                block = bytes(view[:size])  # one copy, not two
            del self._buffer[:size]
            self._submit(block, last=False)
            size = self._next_block_bytes()
        return len(data)

    def _next_block_bytes(self) -> int:
        if self.tail_block_bytes and self._expected is not None:
            if self._expected - self._submitted <= self._threads * self.block_bytes:
                return self.tail_block_bytes
        return self.block_bytes

    def _submit(self, block: bytes, *, last: bool) -> None:
        self._pending.append((self._pool.submit(*self._job(block, last)), len(block)))
        self._submitted += len(block)
        self._pending_input += len(block)
        self._blocks += 1
        while len(self._pending) > self.max_pending_per_thread * self._threads:
            self._emit_oldest()

    def _emit_oldest(self) -> None:
        future, size = self._pending.popleft()
        self._emit(future.result())
        self._pending_input -= size
        if self.on_emit:
            self.on_emit()

    def pending_bytes(self) -> int:
        """Uncompressed bytes written here whose output is not out yet."""
        return len(self._buffer) + self._pending_input

    def _emit(self, data: bytes) -> None:
        self._sink.write(data)
        self.compressed_bytes += len(data)

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
                self._emit_oldest()
            self._emit(self._trailer())
        finally:
            self._pool.shutdown()

    def abort(self) -> None:
        """Stop without finishing the stream (the caller discards the output)."""
        self._closed = True
        for future, _size in self._pending:
            future.cancel()
        self._pool.shutdown()


class ParallelDeflateWriter(_BlockWriter):
    """One raw deflate stream (no header): what a zip entry holds.

    Joined libdeflate blocks (``deflate_join``): on the 64 MiB corpora, 2.0-2.4x
    zlib's speed on one thread, and 0.985-1.004x the size of one zlib stream.
    Blocks start with no history, so they are as large as gzip's members.
    """

    block_bytes = GZIP_MEMBER_BYTES
    tail_block_bytes = GZIP_TAIL_MEMBER_BYTES

    def __init__(self, sink: BinaryIO, *, level: int = 6, threads: int = 2, expected_bytes: int | None = None,
                 joined: bool | None = None) -> None:
        super().__init__(sink, level=level, threads=threads, expected_bytes=expected_bytes)
        from comprimemelo.compression import deflate_join

        self._joined = deflate_join.available() if joined is None else joined
        self._compress_piece = deflate_join.compress_piece
        if not self._joined:
            self.block_bytes, self.tail_block_bytes = GZIP_BLOCK_BYTES, GZIP_TAIL_BLOCK_BYTES
        self._dictionary = b""

    def _job(self, block: bytes, last: bool) -> tuple:
        if self._joined:
            return self._compress_piece, block, self._level, last
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


class ParallelGzipWriter(_BlockWriter):
    """Concatenated gzip members, one per block, each written by libdeflate.

    libdeflate compresses 1.9x as fast as zlib at level 6 and smaller (mixed
    corpus: 0.2752 of the input against zlib's 0.2770), but it has no
    streaming and no preset dictionary, so blocks cannot be chained into one
    deflate stream as pigz chains them. A gzip file may hold any number of
    members (RFC 1952, 2.2), which every reader concatenates: GNU tar (through
    gzip), Python's tarfile and gzip, 7-Zip and libarchive (bsdtar) were
    checked (``tests/unit/test_compression_readers.py``).
    """

    block_bytes = GZIP_MEMBER_BYTES
    tail_block_bytes = GZIP_TAIL_MEMBER_BYTES

    def __init__(self, sink: BinaryIO, *, level: int = 6, threads: int = 2, expected_bytes: int | None = None) -> None:
        super().__init__(sink, level=level, threads=threads, expected_bytes=expected_bytes)
        import deflate

        self._gzip_compress = deflate.gzip_compress

    def _job(self, block: bytes, last: bool) -> tuple:
        return self._gzip_compress, block, self._level


class ParallelDeflateCompressor:
    """``zipfile``'s compressor interface (``compress``/``flush``) over a
    ``ParallelDeflateWriter``; zipfile itself keeps computing the CRC."""

    def __init__(self, *, level: int, threads: int, expected_bytes: int | None = None) -> None:
        self._chunks: list[bytes] = []
        self._writer = ParallelDeflateWriter(self, level=level, threads=threads, expected_bytes=expected_bytes)

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
        import bz2

        return bz2.compress, block, self._level


class ParallelXzWriter(_BlockWriter):
    """Concatenated xz streams; ``expected_bytes`` (about how much will be written) balances the blocks."""

    def __init__(self, sink: BinaryIO, *, level: int = 6, threads: int = 2, expected_bytes: int | None = None) -> None:
        super().__init__(sink, level=level, threads=threads)
        nominal = XZ_BLOCK_BYTES[level]
        self.block_bytes = balanced_block_bytes(expected_bytes, nominal, self._threads, nominal // 2,
                                                min_rounds=XZ_MIN_ROUNDS)

    def _job(self, block: bytes, last: bool) -> tuple:
        return _xz_block, block, self._level


def _xz_block(block: bytes, level: int) -> bytes:
    import lzma

    return lzma.compress(block, format=lzma.FORMAT_XZ, check=lzma.CHECK_CRC64, preset=level)
