"""tar.bz2 through lbzip2, in a child process.

lbzip2's bzip2 encoder is its own, not libbz2's: on two cores ``lbzip2 -9
-n2`` ran 1.5-1.6x as fast as ``pbzip2 -9 -p2`` (libbz2, as our in-process
``ParallelBzip2Writer``) for archives 0.2% smaller, and no Python library
binds it. So the tar stream goes to ``lbzip2 -c`` on its stdin, and lbzip2
writes the archive file itself (its stdout is the file's descriptor; for a
stream without one, a thread relays its output). Its output is one standard
bzip2 stream.

The child runs under ``prlimit --as``: its address space is capped at the
task's memory budget (``memory.budget_bytes``), so a bug or a hostile input
cannot take the machine's memory.

Where lbzip2 is not installed (``available()`` is false), ``archive`` falls
back to the in-process writer and logs that once.
"""

from __future__ import annotations

import fcntl
import shutil
import subprocess
import tempfile
import threading

TYPE_CHECKING = False  # typing itself costs start-up: ``comprimemelo compress`` imports this
if TYPE_CHECKING:
    from typing import BinaryIO

from comprimemelo.compression.errors import CompressionError
from comprimemelo.compression.parallel import FinishedOrAborted

LBZIP2 = "lbzip2"
PRLIMIT = "prlimit"
RELAY_BYTES = 1024 * 1024
# A pipe of 1 MiB instead of 64 KiB: lbzip2 and the tar writer wake each other
# 16 times less often.
PIPE_BYTES = 1024 * 1024
STDERR_TAIL_CHARS = 2000


def available() -> bool:
    """Whether lbzip2 (and prlimit, which caps its memory) are on ``PATH``."""
    return shutil.which(LBZIP2) is not None and shutil.which(PRLIMIT) is not None


def _file_descriptor(sink) -> int | None:
    """``sink``'s descriptor, its buffer flushed, for lbzip2 to write to directly
    (no relay copying the archive through Python); None for an in-memory stream."""
    try:
        descriptor = sink.fileno()
    except (AttributeError, OSError, ValueError):  # io.UnsupportedOperation is both
        return None
    sink.flush()
    return descriptor


class Lbzip2Writer(FinishedOrAborted):
    """A write-only stream: bytes written are bzip2-compressed by lbzip2 into ``sink``.

    :raise CompressionError: from ``write`` or ``close`` if lbzip2 fails or
        exceeds ``memory_bytes``.
    """

    def __init__(self, sink: BinaryIO, *, level: int, threads: int, memory_bytes: int) -> None:
        self._sink = sink
        self._written = 0
        self._memory_bytes = memory_bytes
        self._errors = tempfile.TemporaryFile()
        descriptor = _file_descriptor(sink)
        self._process = subprocess.Popen(
            [PRLIMIT, f"--as={memory_bytes}", "--", LBZIP2, f"-{level}", f"-n{max(1, threads)}", "-c"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE if descriptor is None else descriptor, stderr=self._errors,
        )
        for pipe in (self._process.stdin, self._process.stdout):
            if pipe is None:
                continue
            try:
                fcntl.fcntl(pipe.fileno(), fcntl.F_SETPIPE_SZ, PIPE_BYTES)
            except OSError:  # over /proc/sys/fs/pipe-max-size: the default pipe works too
                pass
        self._relay_error: BaseException | None = None
        self._relay = None
        if descriptor is None:
            self._relay = threading.Thread(target=self._relay_output, name="lbzip2-relay", daemon=True)
            self._relay.start()
        self._closed = False

    def _relay_output(self) -> None:
        try:
            while data := self._process.stdout.read(RELAY_BYTES):
                self._sink.write(data)
        except BaseException as error:  # the caller's close() raises it
            self._relay_error = error
            self._process.kill()

    def writable(self) -> bool:
        return True

    def tell(self) -> int:
        """Uncompressed bytes written so far."""
        return self._written

    def write(self, data) -> int:
        try:
            self._process.stdin.write(data)
        except BrokenPipeError:
            self._process.wait()
            raise self._failure() from None
        self._written += len(data)
        return len(data)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            try:
                self._process.stdin.close()
            except BrokenPipeError:
                pass
            status = self._process.wait()
            if self._relay is not None:
                self._relay.join()
            if self._relay_error is not None:
                raise self._relay_error
            if status != 0:
                raise self._failure()
        finally:
            self._cleanup()

    def abort(self) -> None:
        """Stop lbzip2 without finishing the stream (the caller discards the output)."""
        self._closed = True
        self._process.kill()
        self._process.wait()
        if self._relay is not None:
            self._relay.join()
        self._cleanup()

    def _cleanup(self) -> None:
        for stream in (self._process.stdin, self._process.stdout):
            if stream is None:
                continue
            try:
                stream.close()
            except OSError:  # lbzip2 is gone; nothing is left to flush
                pass
        self._errors.close()

    def _failure(self) -> CompressionError:
        self._errors.seek(0)
        detail = self._errors.read().decode(errors="replace")[-STDERR_TAIL_CHARS:].strip()
        if any(word in detail.lower() for word in ("memory", "allocate", "thread")):
            detail += f" (the task's memory budget is {self._memory_bytes // 2**20} MiB)"
        return CompressionError(
            f"lbzip2 could not write the archive: {detail or f'exit status {self._process.returncode}'}"
        )
