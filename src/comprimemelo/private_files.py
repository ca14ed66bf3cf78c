"""Files and folders readable by the service's own user alone.

The embedded data folder holds the database (every account's password hash),
the secret key and the users' files: 0700 for it, 0600 for the database and
its ``-wal``/``-shm`` files, whatever the process's umask, and tightened again
on an installation made before these modes were enforced. The client keeps
its token and its resumable uploads' URLs the same way.
"""

from __future__ import annotations

import contextlib
import os
import stat
from pathlib import Path

PRIVATE_DIR_MODE = 0o700
PRIVATE_FILE_MODE = 0o600
_SHARED_BITS = stat.S_IRWXG | stat.S_IRWXO
SQLITE_COMPANIONS = ("-wal", "-shm", "-journal")


def private_dir(path: Path) -> Path:
    """Create ``path`` (and parents) if needed; the folder itself ends 0700.
    For folders that are the service's own (the data folder), never one an
    operator shares with other things."""
    path.mkdir(mode=PRIVATE_DIR_MODE, parents=True, exist_ok=True)
    _tighten(path, PRIVATE_DIR_MODE)
    return path


def write_private_file(path: Path, text: str) -> None:
    """Replace ``path`` with ``text`` at once, the file 0600 from its first byte
    (a temporary file beside it, then renamed; a crash leaves the old one)."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with contextlib.suppress(FileNotFoundError):  # a leftover keeps its own mode
        temporary.unlink()
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE_MODE)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            temporary.unlink()
        raise


def private_sqlite_database(path: Path) -> None:
    """Create the database file 0600 before SQLite opens it (SQLite gives its
    ``-wal`` and ``-shm`` files the database's mode), and tighten existing ones."""
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE_MODE))
    for companion in ("", *SQLITE_COMPANIONS):
        with contextlib.suppress(FileNotFoundError):
            _tighten(Path(f"{path}{companion}"), PRIVATE_FILE_MODE)


def _tighten(path: Path, mode: int) -> None:
    current = path.stat().st_mode
    if current & _SHARED_BITS:
        os.chmod(path, stat.S_IMODE(current) & ~_SHARED_BITS | (mode & stat.S_IRWXU))
