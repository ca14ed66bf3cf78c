"""``compress``: files in, one archive out, streamed and written atomically.

Memory stays flat whatever the input size: every format is written through a
streaming encoder fed in fixed-size chunks (7z by 7-Zip, in a child process,
which reads the files itself). The archive appears under its name only when
complete (temp file in the same folder, fsync, ``os.replace``).
"""

from __future__ import annotations

import collections
import contextlib
import functools
import os
import time
from collections.abc import Callable, Iterator, Sequence

from comprimemelo.compression import extensions, memory
from comprimemelo.compression.errors import CompressionError, InvalidLevel
from comprimemelo.compression.formats import ArchiveFormat
from comprimemelo.compression.parallel import (
    GZIP_BLOCK_BYTES,
    ParallelBzip2Writer,
    ParallelDeflateCompressor,
    ParallelGzipWriter,
    ParallelXzWriter,
)
from comprimemelo.compression.tar import BLOCK_BYTES as TAR_BLOCK_BYTES
from comprimemelo.compression.tar import CHUNK_BYTES, FILE_MODE, write_tar
from comprimemelo.compression.tar import RECORD_BYTES as TAR_RECORD_BYTES
from comprimemelo.compression.writeback import EarlyWriteback

# typing, dataclasses, pathlib and zipfile (with shutil) would cost a third of
# ``comprimemelo compress``'s start-up: paths are os.PathLike or str, and each
# format's modules load when that format is written.
TYPE_CHECKING = False
if TYPE_CHECKING:
    import zipfile
    from typing import BinaryIO

    from comprimemelo.compression.workers import Workers

    PathLike = str | os.PathLike[str]

PROGRESS_STEP_BYTES = 1024 * 1024
ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)
ZIP_LAST = (2107, 12, 31, 23, 59, 58)
RESERVE_ATTEMPTS = 100
# A tar member's header block, plus a PAX header for a long or non-ASCII name.
TAR_HEADER_ALLOWANCE = 3 * TAR_BLOCK_BYTES

ZSTD_SMALL_JOB_WINDOW_LOG = 21
ZSTD_SMALL_JOB_BYTES = 4 * 1024 * 1024

Progress = Callable[[int, int], None]


class InputFile(collections.namedtuple("InputFile", "path arcname")):
    """``path``: a file on disk; ``arcname``: its name inside the archive, chosen
    (and sanitised) by the caller."""

    __slots__ = ()


class CompressionResult(collections.namedtuple("CompressionResult", "format level input_bytes output_bytes seconds files")):
    """What ``compress`` did: ``format``, ``level``, bytes in and out, seconds, files."""

    __slots__ = ()

    @property
    def ratio(self) -> float:
        """Archive size over input size (smaller is better); 0 for empty input."""
        return self.output_bytes / self.input_bytes if self.input_bytes else 0.0


def compress(
    inputs: Sequence[InputFile],
    output: PathLike,
    fmt: ArchiveFormat,
    level: int | None = None,
    *,
    threads: int | None = None,
    progress: Progress | None = None,
    password: str | None = None,
    memory_budget: int = memory.TASK_BUDGET_BYTES,
) -> CompressionResult:
    """Write ``inputs`` into one archive of format ``fmt`` at ``output``.

    ``threads`` cores are used (default: all); ``progress(done, total)`` is
    called with input bytes read, about every ``PROGRESS_STEP_BYTES``. With a
    ``password`` (zip and 7z only) the archive is AES-256 encrypted.

    :raise UnsupportedFormat: if ``fmt`` is a string that names no format.
    :raise InvalidLevel: if ``level`` is outside ``fmt.level_range``.
    :raise CompressionError: if an input cannot be read or the output written;
        any exception (including one raised by ``progress``) leaves no file behind.
    """
    fmt = fmt if isinstance(fmt, ArchiveFormat) else ArchiveFormat.parse(fmt)
    level = fmt.default_level if level is None else level
    low, high = fmt.level_range
    if not low <= level <= high:
        raise InvalidLevel(f"level for {fmt.value} must be from {low} to {high}, not {level}")
    if password is not None:
        from comprimemelo.compression import encryption

        encryption.check_password(fmt, password)
    threads = max(1, threads or os.cpu_count() or 1)
    output = os.fspath(output)
    started = time.perf_counter()
    try:
        sizes = [os.stat(item.path).st_size for item in inputs]
    except OSError as error:
        raise CompressionError(f"cannot read input: {error}") from error
    tracker = _Tracker(sum(sizes), progress)
    try:
        fd, temp_name = _reserve(output)
    except OSError as error:
        raise CompressionError(f"cannot write {output}: {error}") from error
    try:
        if fmt is ArchiveFormat.SEVEN_Z:
            os.close(fd)
            # Each format's modules load when used: ``comprimemelo compress`` starts in tens of milliseconds.
            from comprimemelo.compression.sevenzip import write_7z

            write_7z([(item.path, item.arcname) for item in inputs], temp_name, total=tracker.total,
                     level=level, threads=threads, password=password, advance=tracker.advance,
                     memory_bytes=memory_budget)
        else:
            with os.fdopen(fd, "wb") as file:
                sink = EarlyWriteback(file)
                if password is None:
                    _WRITERS[fmt](inputs, sink, level, threads, tracker, memory_budget)
                else:
                    encryption.write_encrypted_zip(inputs, sink, level, password, tracker.advance)
                file.flush()
                os.fsync(file.fileno())
        os.replace(temp_name, output)
    except BaseException as error:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp_name)
        if isinstance(error, OSError):
            raise CompressionError(f"cannot write {os.path.basename(output)}: {error}") from error
        raise
    return CompressionResult(
        format=fmt,
        level=level,
        input_bytes=tracker.total,
        output_bytes=os.stat(output).st_size,
        seconds=time.perf_counter() - started,
        files=len(inputs),
    )


def _reserve(output: str) -> tuple[int, str]:
    """A new, empty, private file next to ``output`` (``tempfile.mkstemp`` costs
    its imports at start-up): its descriptor and name."""
    folder, name = os.path.split(output)
    for attempt in range(RESERVE_ATTEMPTS):
        temp = os.path.join(folder, f".{name}.{os.getpid()}.{time.monotonic_ns()}.{attempt}.part")
        try:
            return os.open(temp, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600), temp
        except FileExistsError:
            continue
    raise FileExistsError(f"no free temporary name next to {output}")


class _Tracker:
    """Counts input bytes done; reports about every ``PROGRESS_STEP_BYTES`` read
    or done, and at the end.

    Bytes read are done unless a parallel writer being ``follow``-ed still
    holds them (it compresses up to two blocks per thread behind the reads:
    128 MiB for xz), so the reported figure moves with the output.
    """

    def __init__(self, total: int, callback: Progress | None) -> None:
        self.total = total
        self.read = 0
        self._reported = 0
        self._read_at_report = 0
        self._callback = callback
        self._held: Callable[[], int] = lambda: 0

    def follow(self, writer) -> None:
        self._held = writer.pending_bytes
        writer.on_emit = self._report

    def advance(self, count: int) -> None:
        self.read += count
        self._report()

    def _report(self) -> None:
        if not self._callback:
            return
        done = max(self._reported, min(self.total, self.read - self._held()))
        if (
            done - self._reported >= PROGRESS_STEP_BYTES
            or self.read - self._read_at_report >= PROGRESS_STEP_BYTES
            or (done == self.total and self._reported < done)
        ):
            self._reported, self._read_at_report = done, self.read
            self._callback(done, self.total)


def _chunks(path: PathLike, tracker: _Tracker) -> Iterator[bytes]:
    with open(path, "rb") as source:
        while chunk := source.read(CHUNK_BYTES):
            yield chunk
            tracker.advance(len(chunk))


# -- tar family ---------------------------------------------------------------


def _write_tar(inputs: Sequence[InputFile], stream: BinaryIO, tracker: _Tracker) -> None:
    write_tar([(item.path, item.arcname) for item in inputs], stream, tracker.advance)


def _tar_gz(inputs, sink, level, threads, tracker, budget) -> None:
    threads = memory.writer_threads(ArchiveFormat.TAR_GZ, level, threads, budget)
    with ParallelGzipWriter(sink, level=level, threads=threads,
                            expected_bytes=_tar_bytes(inputs, tracker.total)) as stream:
        tracker.follow(stream)
        _write_tar(inputs, stream, tracker)


def _tar_bz2(inputs, sink, level, threads, tracker, budget) -> None:
    from comprimemelo.compression import lbzip2

    if lbzip2.available():
        threads = memory.lbzip2_threads(threads, budget)
        with lbzip2.Lbzip2Writer(sink, level=level, threads=threads, memory_bytes=budget) as stream:
            _write_tar(inputs, stream, tracker)
        return
    _warn_lbzip2_missing()
    threads = memory.writer_threads(ArchiveFormat.TAR_BZ2, level, threads, budget)
    with ParallelBzip2Writer(sink, level=level, threads=threads) as stream:
        tracker.follow(stream)
        _write_tar(inputs, stream, tracker)


@functools.cache
def _warn_lbzip2_missing() -> None:
    import logging

    logging.getLogger(__name__).warning("lbzip2 (or prlimit) is not installed: tar.bz2 is written in-process with libbz2, "
                "about 0.65x as fast (install the lbzip2 package)")


def _tar_bytes(inputs: Sequence[InputFile], total: int) -> int:
    """About how long the tar stream of ``inputs`` is: data, headers, end-of-archive padding."""
    return total + len(inputs) * TAR_HEADER_ALLOWANCE + TAR_RECORD_BYTES


def _tar_xz(inputs, sink, level, threads, tracker, budget) -> None:
    threads = memory.writer_threads(ArchiveFormat.TAR_XZ, level, threads, budget)
    with ParallelXzWriter(sink, level=level, threads=threads,
                          expected_bytes=_tar_bytes(inputs, tracker.total)) as stream:
        tracker.follow(stream)
        _write_tar(inputs, stream, tracker)


def _tar_zst(inputs, sink, level, threads, tracker, budget) -> None:
    zstandard = extensions.zstandard()

    threads = memory.writer_threads(ArchiveFormat.TAR_ZST, level, threads, budget)
    params = zstandard.ZstdCompressionParameters.from_level(
        level, threads=threads if threads > 1 else 0, write_checksum=True, **_zstd_job(level, threads)
    )
    compressor = zstandard.ZstdCompressor(compression_params=params)
    with compressor.stream_writer(sink, closefd=False) as stream:
        _write_tar(inputs, stream, tracker)


def _zstd_job(level: int, threads: int) -> dict[str, int]:
    """Smaller jobs where libzstd's window is 2 MiB (levels 3-8 here): its default
    job is four windows, 8 MiB, and 4 MiB jobs kept both threads busier (64 MiB
    corpora, 2 threads: level 3 5-11% faster, level 6 8%, archive 0.06-0.3%
    larger). Levels with other windows measured no better and keep the default."""
    zstandard = extensions.zstandard()

    if threads > 1 and zstandard.ZstdCompressionParameters.from_level(level).window_log == ZSTD_SMALL_JOB_WINDOW_LOG:
        return {"job_size": ZSTD_SMALL_JOB_BYTES}
    return {}


# -- zip ----------------------------------------------------------------------


def _zip(inputs, sink, level, threads, tracker, budget) -> None:
    import zipfile

    threads = memory.writer_threads(ArchiveFormat.ZIP, level, threads, budget)
    method = zipfile.ZIP_DEFLATED if level > 0 else zipfile.ZIP_STORED
    with zipfile.ZipFile(sink, "w", compression=method, compresslevel=level or None, allowZip64=True) as archive:
        with _SmallMembers(archive, level, threads) as small:
            for item in inputs:
                info = zip_entry(zipfile.ZipInfo, item, method)
                if method == zipfile.ZIP_DEFLATED and info.file_size <= GZIP_BLOCK_BYTES:
                    small.add(item, info, tracker)
                    continue
                small.drain()  # members stay in input order
                _zip_member(archive, item, info, level, threads, tracker)


def _zip_member(archive, item: InputFile, info, level: int, threads: int, tracker: _Tracker) -> None:
    import zipfile

    with archive.open(info, "w", force_zip64=info.file_size >= zipfile.ZIP64_LIMIT) as entry:
        if info.compress_type == zipfile.ZIP_DEFLATED and info.file_size > GZIP_BLOCK_BYTES:
            # zipfile has no public hook for a compressor; its entry writer
            # only calls compress()/flush(), which ours provides, in parallel
            # (one thread too: libdeflate's blocks are twice zlib's speed).
            entry._compressor = ParallelDeflateCompressor(level=level, threads=threads,
                                                          expected_bytes=info.file_size)
        try:
            for chunk in _chunks(item.path, tracker):
                entry.write(chunk)
        except BaseException:
            if isinstance(entry._compressor, ParallelDeflateCompressor):
                entry._compressor.abort()
            raise


class _SmallMembers:
    """Files of at most a block, each deflated whole by libdeflate (1.9x zlib's
    speed at level 6), several at once on the threads, written in order.

    Larger files go through the parallel writer, block by block, one member
    at a time. At most two members per thread are held (a block each, and
    its output).
    """

    def __init__(self, archive, level: int, threads: int) -> None:
        self._archive = archive
        self._level = level
        self._threads = threads
        self._pool: Workers | None = None
        self._pending: collections.deque = collections.deque()

    def add(self, item: InputFile, info, tracker: _Tracker) -> None:
        import deflate

        if self._pool is None:
            from comprimemelo.compression.workers import Workers

            self._pool = Workers(self._threads, "zip-member")
        with open(item.path, "rb") as source:
            data = source.read(info.file_size + 1)
        if len(data) != info.file_size:
            raise OSError(f"{item.arcname} changed size while being read")
        tracker.advance(len(data))
        self._pending.append((info, data, self._pool.submit(deflate.deflate_compress, data, self._level)))
        while len(self._pending) > 2 * self._threads:
            self._write_oldest()

    def drain(self) -> None:
        while self._pending:
            self._write_oldest()

    def _write_oldest(self) -> None:
        info, data, future = self._pending.popleft()
        with self._archive.open(info, "w") as entry:
            entry._compressor = _Deflated(future.result())  # zipfile computes the CRC as data passes
            entry.write(data)

    def __enter__(self):
        return self

    def __exit__(self, kind, value, traceback) -> None:
        try:
            if kind is None:
                self.drain()
        finally:
            for _info, _data, future in self._pending:
                future.cancel()
            if self._pool is not None:
                self._pool.shutdown()


class _Deflated:
    """zipfile's compressor interface over a member deflated beforehand."""

    def __init__(self, compressed: bytes) -> None:
        self._compressed = compressed

    def compress(self, data: bytes) -> bytes:
        return b""

    def flush(self) -> bytes:
        compressed, self._compressed = self._compressed, b""
        return compressed


def zip_entry(info_class: type[zipfile.ZipInfo], item: InputFile, method: int) -> zipfile.ZipInfo:
    """The member header of ``item``: a plain file, mode 0644, its mtime, its size."""

    stat = os.stat(item.path)
    info = info_class(item.arcname, date_time=_zip_time(stat.st_mtime))
    info.compress_type = method
    info.external_attr = (0o100000 | FILE_MODE) << 16
    info.file_size = stat.st_size
    return info


def _zip_time(mtime: float) -> tuple[int, int, int, int, int, int]:
    """Local time, clamped to what a zip header can hold."""
    return min(max(time.localtime(mtime)[:6], ZIP_EPOCH), ZIP_LAST)


_WRITERS = {
    ArchiveFormat.ZIP: _zip,
    ArchiveFormat.TAR_GZ: _tar_gz,
    ArchiveFormat.TAR_BZ2: _tar_bz2,
    ArchiveFormat.TAR_XZ: _tar_xz,
    ArchiveFormat.TAR_ZST: _tar_zst,
}
