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

The child is started with ``os.posix_spawnp``, not ``subprocess``:
``subprocess``, ``shutil`` and ``tempfile`` cost the command 13 ms of its
start-up (``comprimemelo compress`` on an empty file). While lbzip2 writes,
the kernel is asked every few MiB to start writing the archive to disk, so
the fsync that ends the task finds little left to do.

Where lbzip2 is not installed (``available()`` is false), ``archive`` falls
back to the in-process writer and logs that once.
"""

from __future__ import annotations

import fcntl
import os
import signal
import threading

TYPE_CHECKING = False  # typing itself costs start-up: ``comprimemelo compress`` imports this
if TYPE_CHECKING:
    from typing import BinaryIO

from comprimemelo.compression.errors import CompressionError
from comprimemelo.compression.parallel import FinishedOrAborted
from comprimemelo.compression.writeback import WRITEBACK_BYTES, start_writeback

LBZIP2 = "lbzip2"
PRLIMIT = "prlimit"
RELAY_BYTES = 1024 * 1024
# A pipe of 1 MiB instead of 64 KiB: lbzip2 and the tar writer wake each other
# 16 times less often.
PIPE_BYTES = 1024 * 1024
STDERR_TAIL_CHARS = 2000
# Input bytes between writeback requests: at level 9 about a quarter of them
# reaches the archive, so the kernel is asked every ``WRITEBACK_BYTES`` or so of output.
WRITEBACK_INPUT_BYTES = 4 * WRITEBACK_BYTES


def _on_path(name: str) -> bool:
    return any(
        os.access(candidate, os.X_OK) and not os.path.isdir(candidate)
        for candidate in (os.path.join(folder, name) for folder in os.get_exec_path())
    )


def available() -> bool:
    """Whether lbzip2 (and prlimit, which caps its memory) are on ``PATH``."""
    return _on_path(LBZIP2) and _on_path(PRLIMIT)


def _file_descriptor(sink) -> int | None:
    """``sink``'s descriptor, its buffer flushed, for lbzip2 to write to directly
    (no relay copying the archive through Python); None for an in-memory stream."""
    try:
        descriptor = sink.fileno()
    except (AttributeError, OSError, ValueError):  # io.UnsupportedOperation is both
        return None
    sink.flush()
    return descriptor


def _error_file() -> int:
    """An anonymous file for lbzip2's stderr: a pipe could fill and stall it."""
    try:
        return os.memfd_create("lbzip2-stderr", os.MFD_CLOEXEC)
    except (AttributeError, OSError):  # not Linux
        import tempfile

        with tempfile.TemporaryFile() as file:
            return os.dup(file.fileno())


def _widen(pipe_end: int) -> None:
    try:
        fcntl.fcntl(pipe_end, fcntl.F_SETPIPE_SZ, PIPE_BYTES)
    except OSError:  # over /proc/sys/fs/pipe-max-size: the default pipe works too
        pass


def _spawn(argv: list[str], stdin: int, stdout: int, stderr: int) -> int:
    """Start ``argv`` with the three descriptors as its standard streams; its pid.

    Each is first copied above 2, so that none is overwritten by another's
    ``dup2`` (and a copy's close-on-exec flag is cleared by its ``dup2``). SIGPIPE is
    reset to its default, as ``subprocess`` does: Python ignores it, and the
    child would inherit that.
    """
    copies = [fcntl.fcntl(descriptor, fcntl.F_DUPFD_CLOEXEC, 3) for descriptor in (stdin, stdout, stderr)]
    try:
        return os.posix_spawnp(
            argv[0], argv, os.environ,
            file_actions=[(os.POSIX_SPAWN_DUP2, copy, target) for target, copy in enumerate(copies)],
            setsigdef=(signal.SIGPIPE,),
        )
    finally:
        for copy in copies:
            os.close(copy)


class Lbzip2Writer(FinishedOrAborted):
    """A write-only stream: bytes written are bzip2-compressed by lbzip2 into ``sink``.

    :raise CompressionError: from ``write`` or ``close`` if lbzip2 fails or
        exceeds ``memory_bytes``.
    """

    def __init__(self, sink: BinaryIO, *, level: int, threads: int, memory_bytes: int) -> None:
        self._sink = sink
        self._written = 0
        self._unstarted = 0
        self._memory_bytes = memory_bytes
        self._returncode: int | None = None
        self._closed = False
        self._relay_error: BaseException | None = None
        self._relay = None
        self._output: BinaryIO | None = None
        self._descriptor = _file_descriptor(sink)
        argv = [PRLIMIT, f"--as={memory_bytes}", "--", LBZIP2, f"-{level}", f"-n{max(1, threads)}", "-c"]
        self._errors = _error_file()
        stdin_read, stdin_write = os.pipe()
        _widen(stdin_write)
        output_read = output_write = None
        try:
            if self._descriptor is None:
                output_read, output_write = os.pipe()
                _widen(output_write)
            self._pid = _spawn(argv, stdin_read, self._descriptor if output_write is None else output_write,
                               self._errors)
        except BaseException:
            for descriptor in (stdin_write, output_read, self._errors):
                if descriptor is not None:
                    os.close(descriptor)
            raise
        finally:
            for descriptor in (stdin_read, output_write):
                if descriptor is not None:
                    os.close(descriptor)
        self._input = open(stdin_write, "wb")
        if output_read is not None:
            self._output = open(output_read, "rb")
            self._relay = threading.Thread(target=self._relay_output, name="lbzip2-relay", daemon=True)
            self._relay.start()

    def _relay_output(self) -> None:
        try:
            while data := self._output.read(RELAY_BYTES):
                self._sink.write(data)
        except BaseException as error:  # the caller's close() raises it
            self._relay_error = error
            self._kill()

    def writable(self) -> bool:
        return True

    def tell(self) -> int:
        """Uncompressed bytes written so far."""
        return self._written

    def write(self, data) -> int:
        try:
            self._input.write(data)
        except BrokenPipeError:
            self._wait()
            raise self._failure() from None
        self._written += len(data)
        self._unstarted += len(data)
        if self._unstarted >= WRITEBACK_INPUT_BYTES and self._descriptor is not None:
            self._unstarted = 0
            start_writeback(self._descriptor)
        return len(data)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            try:
                self._input.close()
            except BrokenPipeError:
                pass
            status = self._wait()
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
        self._kill()
        self._wait()
        if self._relay is not None:
            self._relay.join()
        self._cleanup()

    def _kill(self) -> None:
        if self._returncode is None:
            try:
                os.kill(self._pid, signal.SIGKILL)
            except ProcessLookupError:  # already reaped
                pass

    def _wait(self) -> int:
        if self._returncode is None:
            _, status = os.waitpid(self._pid, 0)
            self._returncode = os.waitstatus_to_exitcode(status)
        return self._returncode

    def _cleanup(self) -> None:
        for stream in (self._input, self._output):
            if stream is None:
                continue
            try:
                stream.close()
            except OSError:  # lbzip2 is gone; nothing is left to flush
                pass
        if self._errors is not None:
            os.close(self._errors)
            self._errors = None

    def _error_text(self) -> str:
        os.lseek(self._errors, 0, os.SEEK_SET)
        chunks = []
        while chunk := os.read(self._errors, 65536):
            chunks.append(chunk)
        return b"".join(chunks).decode(errors="replace")[-STDERR_TAIL_CHARS:].strip()

    def _failure(self) -> CompressionError:
        detail = self._error_text()
        if any(word in detail.lower() for word in ("memory", "allocate", "thread")):
            detail += f" (the task's memory budget is {self._memory_bytes // 2**20} MiB)"
        return CompressionError(f"lbzip2 could not write the archive: {detail or f'exit status {self._returncode}'}")
