"""Resumable uploads in flight, so that a command run again continues them.

For each file being sent in chunks: the server, the file (path, size and
modification time: a changed file starts over) and the upload's id; the
server tells its URL and offset again (``GET /api/uploads/<id>``, the owner's
only). Private like the credentials: ``$XDG_STATE_HOME/comprimemelo/uploads.json``,
0600 in a 0700 folder. Entries go when their task is made, or after
``KEEP_SECONDS`` (the server forgets idle sessions after a day). Two commands
writing at once may lose each other's entries: that costs a resume, not data.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from comprimemelo.client.credentials import APP_NAME
from comprimemelo.private_files import private_dir, write_private_file

FILE_NAME = "uploads.json"
KEEP_SECONDS = 7 * 24 * 3600


def state_dir() -> Path:
    import platformdirs

    return platformdirs.user_state_path(APP_NAME)


class UploadJournal:
    def __init__(self, folder: Path | None = None) -> None:
        self.folder = folder or state_dir()
        self.path = self.folder / FILE_NAME

    @staticmethod
    def key(server: str, path: Path) -> str:
        found = path.stat()
        return f"{server.rstrip('/')} {path.resolve()} {found.st_size} {found.st_mtime_ns}"

    def get(self, key: str) -> str | None:
        """The id of the upload of ``key`` in flight, if any."""
        entry = self._read().get(key)
        return entry["id"] if entry else None

    def put(self, key: str, upload_id: str) -> None:
        entries = self._read()
        entries[key] = {"id": upload_id, "saved_at": time.time()}
        self._write(entries)

    def drop(self, key: str) -> None:
        entries = self._read()
        if entries.pop(key, None) is not None:
            self._write(entries)

    def _read(self) -> dict[str, dict]:
        try:
            entries = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        if not isinstance(entries, dict):
            return {}
        oldest = time.time() - KEEP_SECONDS
        return {
            key: entry for key, entry in entries.items()
            if isinstance(entry, dict) and isinstance(entry.get("id"), str) and entry.get("saved_at", 0) > oldest
        }

    def _write(self, entries: dict[str, dict]) -> None:
        private_dir(self.folder)
        write_private_file(self.path, json.dumps(entries, indent=2) + "\n")
