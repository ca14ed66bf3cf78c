"""Local-folder storage: one file per key, written atomically."""

from __future__ import annotations

import contextlib
import os
import tempfile
import time
import uuid
from pathlib import Path
from typing import BinaryIO
from urllib.parse import unquote, urlparse

from comprimemelo.server.event_loop import off_the_event_loop
from comprimemelo.storage import ObjectNotFound, StorageError

COPY_BUFFER_BYTES = 1024 * 1024
TEMP_DIR_NAME = ".incoming"
SPOOL_PREFIX = "upload-"


class LocalStorage:
    """Objects are files under ``root``; partial writes live in ``root/.incoming``
    and appear under their key only when complete (``os.replace``)."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root).resolve()
        self._incoming = self.root / TEMP_DIR_NAME

    @classmethod
    def from_url(cls, url: str) -> LocalStorage:
        return cls(Path(unquote(urlparse(url).path)))

    def _path(self, key: str) -> Path:
        path = (self.root / key).resolve()
        if self.root not in path.parents or TEMP_DIR_NAME in Path(key).parts:
            raise ValueError(f"storage key escapes the storage root: {key!r}")
        return path

    def spool(self) -> BinaryIO:
        """A named temporary file in the incoming folder, on the storage's own
        file system, so ``put_stream`` can link it into place."""
        self._incoming.mkdir(parents=True, exist_ok=True)
        try:
            return tempfile.NamedTemporaryFile(dir=self._incoming, prefix=SPOOL_PREFIX)
        except OSError as error:
            raise StorageError(f"cannot create an upload file: {error.strerror or error}") from error

    def put_stream(self, key: str, stream: BinaryIO) -> int:
        target = self._path(key)
        if self._is_spooled(stream):
            return self._adopt(key, target, stream)
        self._incoming.mkdir(parents=True, exist_ok=True)
        fd, temp_name = tempfile.mkstemp(dir=self._incoming)
        try:
            with os.fdopen(fd, "wb") as temp:
                size = _copy(stream, temp)
                temp.flush()
                off_the_event_loop(os.fsync, temp.fileno())
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(temp_name, target)
        except BaseException as error:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temp_name)
            if isinstance(error, OSError):
                raise StorageError(f"cannot write {key}: {error.strerror or error}") from error
            raise
        return size

    def sweep_spool(self, older_than_seconds: float) -> int:
        """Files, not folders (resumable uploads keep theirs in a subfolder), of the
        incoming folder untouched for ``older_than_seconds``: what a process killed
        mid-upload or mid-write left."""
        cutoff = time.time() - older_than_seconds
        removed = 0
        try:
            entries = list(os.scandir(self._incoming))
        except FileNotFoundError:
            return 0
        for entry in entries:
            with contextlib.suppress(FileNotFoundError):
                if entry.is_file(follow_symlinks=False) and entry.stat().st_mtime < cutoff:
                    os.unlink(entry.path)
                    removed += 1
        return removed

    def _is_spooled(self, stream: BinaryIO) -> bool:
        name = getattr(stream, "name", None)
        return (isinstance(name, str) and Path(name).parent == self._incoming
                and Path(name).name.startswith(SPOOL_PREFIX) and stream.tell() == 0)

    def _adopt(self, key: str, target: Path, stream: BinaryIO) -> int:
        """Store a file from ``spool`` by linking it under ``key``: a 2 GiB upload
        is written once, not written, read and written again. The spool file keeps
        its own name until its owner closes it."""
        try:
            stream.flush()
            return self._link_durably(stream, target)
        except OSError as error:
            raise StorageError(f"cannot write {key}: {error.strerror or error}") from error

    def _link_durably(self, file: BinaryIO, target: Path) -> int:
        """Make the open, named ``file`` durable, then link it under ``target``
        (a fresh name, then renamed: atomic, and replaces like the copy does);
        its size."""
        off_the_event_loop(os.fsync, file.fileno())  # a 2 GiB fsync takes seconds
        size = os.fstat(file.fileno()).st_size
        target.parent.mkdir(parents=True, exist_ok=True)
        link = self._incoming / f"link-{uuid.uuid4().hex}"
        os.link(file.name, link)
        os.replace(link, target)
        return size

    def put_file(self, key: str, path: Path) -> int:
        """Linked into place when ``path`` is on the storage's file system (the
        worker's archive, in embedded mode): no copy. Copied otherwise."""
        target = self._path(key)
        try:
            self._incoming.mkdir(parents=True, exist_ok=True)
            with open(path, "rb") as source:
                return self._link_durably(source, target)
        except OSError:  # another file system, or links refused: copy
            pass
        with open(path, "rb") as source:
            return self.put_stream(key, source)

    def get_file(self, key: str, path: Path) -> None:
        """A hard link when ``path`` is on the storage's file system: stored
        files are replaced, never changed in place, so the link keeps the bytes
        it was made with. Copied otherwise."""
        with contextlib.suppress(OSError):
            os.link(self._path(key), path)
            return
        with self.open(key) as source, open(path, "wb") as target:
            _copy(source, target)

    def open(self, key: str) -> BinaryIO:
        try:
            return open(self._path(key), "rb")
        except FileNotFoundError:
            raise ObjectNotFound(key) from None
        except OSError as error:
            raise StorageError(f"cannot read {key}: {error.strerror or error}") from error

    def download_url(self, key: str, filename: str, media_type: str) -> str | None:
        return None

    def delete(self, key: str) -> None:
        path = self._path(key)
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
        # Drop now-empty key folders, never the root itself.
        for parent in path.parents:
            if parent == self.root:
                break
            try:
                parent.rmdir()
            except OSError:
                break

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def check(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        if not os.access(self.root, os.W_OK):
            raise StorageError(f"storage folder {self.root} is not writable")

    def local_path(self, key: str) -> Path:
        """The file behind ``key``, so the web tier can hand it to ``sendfile``."""
        return self._path(key)


def _copy(source: BinaryIO, target: BinaryIO) -> int:
    size = 0
    while chunk := source.read(COPY_BUFFER_BYTES):
        target.write(chunk)
        size += len(chunk)
    return size
