"""Embedded resumable uploads: chunks appended to a part file inside the
storage folder's ``.incoming``, moved under the object's key when complete.

The part file is the truth about progress: its length is the offset, every
chunk is fsynced before it is acknowledged, and bytes of a chunk cut short
by a dropped connection are kept (they are at the right place), so the
client resumes from exactly what the disk holds. A per-file ``flock`` lets one
request at a time append, across gunicorn's processes.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from comprimemelo.domain.errors import Conflict
from comprimemelo.server.event_loop import off_the_event_loop
from comprimemelo.storage import StorageError
from comprimemelo.storage.local import TEMP_DIR_NAME, LocalStorage
from comprimemelo.storage.resumable import OffsetMismatch, SessionGone

PARTS_DIR_NAME = "uploads"
READ_BYTES = 1024 * 1024
_PART_NAME = re.compile(r"[0-9a-f]{32}")


class LocalUploads:
    def __init__(self, storage: LocalStorage) -> None:
        self._storage = storage
        self._parts = storage.root / TEMP_DIR_NAME / PARTS_DIR_NAME

    def _part(self, key: str) -> Path:
        name = key.rsplit("/", 1)[-1]
        if not _PART_NAME.fullmatch(name):
            raise ValueError(f"not an upload key: {key!r}")
        return self._parts / f"{name}.part"

    def begin(self, key: str, size: int, origin: str | None) -> str | None:
        try:
            self._parts.mkdir(parents=True, exist_ok=True)
            os.close(os.open(self._part(key), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        except OSError as error:
            raise StorageError(f"cannot start upload {key}: {error.strerror or error}") from error
        return None

    def received(self, key: str, size: int, upload_url: str | None) -> int:
        try:
            return self._part(key).stat().st_size
        except FileNotFoundError:
            pass
        try:  # complete: moved under its key (a crash may have beaten the row update)
            return self._storage.local_path(key).stat().st_size
        except FileNotFoundError:
            raise SessionGone(key) from None

    def append(self, key: str, start: int, length: int, stream: BinaryIO) -> int:
        """Append ``length`` bytes of ``stream`` if the part file ends at ``start``;
        return the new length (less than ``start + length`` if the stream ended early).

        :raise OffsetMismatch: if ``start`` is not where the stored bytes end.
        :raise Conflict: while another request appends to the same upload.
        :raise SessionGone: if the part file is gone (abandoned or complete).
        """
        try:
            fd = os.open(self._part(key), os.O_WRONLY | os.O_APPEND)
        except FileNotFoundError:
            raise SessionGone(key) from None
        with os.fdopen(fd, "ab", buffering=0) as part, _exclusive(fd):
            offset = os.fstat(fd).st_size
            if start != offset:
                raise OffsetMismatch(offset)
            try:
                while length > 0 and (piece := stream.read(min(READ_BYTES, length))):
                    part.write(piece)
                    offset += len(piece)
                    length -= len(piece)
            finally:  # keep what arrived, even from a connection that dropped
                off_the_event_loop(os.fsync, fd)
        return offset

    def finish(self, key: str, size: int) -> None:
        part, target = self._part(key), self._storage.local_path(key)
        try:
            stored = part.stat().st_size
        except FileNotFoundError:
            if target.is_file() and target.stat().st_size == size:
                return
            raise SessionGone(key) from None
        if stored != size:
            raise Conflict(f"upload has {stored} bytes, expected {size}", code="upload_size_mismatch")
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(part, target)
            _fsync_dir(target.parent)
        except OSError as error:
            raise StorageError(f"cannot store upload {key}: {error.strerror or error}") from error

    def abandon(self, key: str, upload_url: str | None) -> None:
        with contextlib.suppress(FileNotFoundError):
            self._part(key).unlink()
        self._storage.delete(key)


@contextlib.contextmanager
def _exclusive(fd: int) -> Iterator[None]:
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        raise Conflict(
            "another chunk of this upload is being received; ask for the offset and retry",
            code="upload_busy",
        ) from None
    try:
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        off_the_event_loop(os.fsync, fd)
    finally:
        os.close(fd)

