"""Sending files: in one multipart request, or in resumable chunks.

The chunked path (``POST /api/uploads``, then ``PUT`` chunks to its
``upload_url`` with ``Content-Range``) is the same protocol in embedded mode
(the app takes the chunks) and on Google Cloud (the URL is a Cloud Storage
resumable session: the bytes go to Google, never through the web tier, and
the token never goes there). After a broken chunk, or when a command is run
again (``UploadJournal``), the upload resumes from the offset the server
reports, so no byte is sent twice more than the chunk that broke.
"""

from __future__ import annotations

import dataclasses
import re
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from comprimemelo.client.errors import ApiError, ClientError, NetworkError
from comprimemelo.client.http import Http
from comprimemelo.client.journal import UploadJournal
from comprimemelo.client.models import UploadSession

IDEMPOTENCY_HEADER = "Idempotency-Key"
FILE_FIELD = "fileName"
RESUME_INCOMPLETE = 308
# Broken chunks in a row, each followed by asking the offset, before the upload gives up
# (progress in between resets the count).
MAX_CHUNK_FAILURES = 5
OPEN_STATE = "open"
SUBMITTED_STATE = "submitted"
_STORED_RANGE = re.compile(r"bytes=0-(\d+)")

# ``on_progress(bytes_so_far, total_bytes)`` of one request body or file; the
# chunked path goes back when a broken chunk is sent again.
Progress = Callable[[int, int], None]


def new_idempotency_key() -> str:
    return uuid.uuid4().hex


@dataclasses.dataclass(frozen=True)
class SentFile:
    """A file whose every byte the server holds, in the upload ``session``."""

    session: UploadSession
    resumed_from: int  # the offset it continued from (0: sent from the start)


class FileSlice:
    """``length`` bytes of ``handle`` from ``start``, read as a request body,
    reporting the position reached in the file of ``total`` bytes to ``on_progress``.

    Only ``read`` and ``len``: requests then sends it with that ``Content-Length``
    (given a ``tell`` that fails, it would fall back to chunked encoding)."""

    def __init__(self, handle: BinaryIO, start: int, length: int, total: int,
                 on_progress: Progress | None = None) -> None:
        self._handle = handle
        self._start = start
        self._left = length
        self._length = length
        self._total = total
        self._on_progress = on_progress
        handle.seek(start)

    def __len__(self) -> int:  # requests sends it as Content-Length
        return self._length

    def read(self, size: int = -1) -> bytes:
        if self._left <= 0:
            return b""
        size = self._left if size is None or size < 0 else min(size, self._left)
        data = self._handle.read(size)
        self._left -= len(data)
        if self._on_progress:
            self._on_progress(self._start + self._length - self._left, self._total)
        return data


class ResumableUploader:
    """Sends files in chunks to their upload session, continuing journaled ones."""

    def __init__(self, http: Http, journal: UploadJournal | None = None) -> None:
        self.http = http
        self.journal = journal

    def send(self, path: Path, on_progress: Progress | None = None) -> SentFile:
        """Every byte of ``path`` to the server: a journaled session continued, or a new one.

        :raise ApiError: if the server refuses the upload (quota, size) or the session is gone.
        :raise NetworkError: if chunks keep breaking (``MAX_CHUNK_FAILURES`` in a row).
        """
        size = path.stat().st_size
        key = self.journal.key(self.http.base_url, path) if self.journal else None
        session = self._journaled(key)
        resumed_from = session.offset if session else 0
        if session is None:
            session = self._create(path.name, size)
            if key:
                self.journal.put(key, session.id)
        if session.state == OPEN_STATE:
            session = self._send_chunks(path, session, on_progress)
        elif on_progress:
            on_progress(size, size)
        return SentFile(session, resumed_from)

    def forget(self, path: Path) -> None:
        """Drop ``path``'s journal entry: its task is made."""
        if self.journal:
            self.journal.drop(self.journal.key(self.http.base_url, path))

    def _journaled(self, key: str | None) -> UploadSession | None:
        upload_id = self.journal.get(key) if key else None
        if upload_id is None:
            return None
        try:
            return self.session(upload_id)
        except ApiError as error:
            if error.status != 404:
                raise
        self.journal.drop(key)  # expired or cancelled on the server: start over
        return None

    def session(self, upload_id: str) -> UploadSession:
        response = self.http.request("GET", f"/api/uploads/{upload_id}", idempotent=True)
        return UploadSession.from_json(response.json())

    def _create(self, name: str, size: int) -> UploadSession:
        response = self.http.request(
            "POST", "/api/uploads", idempotent=True, expect=(201,),
            json={"file_name": name, "size": size}, headers={IDEMPOTENCY_HEADER: new_idempotency_key()},
        )
        return UploadSession.from_json(response.json())

    def _send_chunks(self, path: Path, session: UploadSession, on_progress: Progress | None) -> UploadSession:
        size, offset, failures = session.size, session.offset, 0
        last_error: Exception | None = None
        with open(path, "rb") as handle:
            while offset < size:
                length = min(session.chunk_bytes, size - offset)
                start = offset
                try:
                    offset = self._put_chunk(session, handle, start, length, on_progress)
                except NetworkError as error:
                    last_error = error
                except ApiError as error:
                    if error.status == 404:
                        raise ClientError(
                            f"upload of {path.name} expired or was cancelled on the server; run the command again"
                        ) from error
                    # 409 with the offset: a chunk that did arrive, or another one at once.
                    if error.status != 409 or "offset" not in error.details:
                        raise
                    last_error = error
                if offset > start:
                    failures = 0
                    continue
                failures += 1  # broken, refused, or taken without a byte more
                if failures > MAX_CHUNK_FAILURES:
                    raise NetworkError(
                        f"upload of {path.name} keeps breaking at byte {start} of {size}: {last_error or 'no progress'}"
                    )
                self.http.pause(failures)
                offset = self.session(session.id).offset  # what the server holds, whatever broke
        if on_progress:
            on_progress(size, size)
        return self.session(session.id)

    def _put_chunk(self, session: UploadSession, handle: BinaryIO, start: int, length: int,
                   on_progress: Progress | None) -> int:
        """Send one chunk; returns the offset the server then reports."""
        response = self.http.request(
            "PUT", session.upload_url, idempotent=False, expect=(200, 201, RESUME_INCOMPLETE),
            body=lambda: FileSlice(handle, start, length, session.size, on_progress),
            headers={"Content-Range": f"bytes {start}-{start + length - 1}/{session.size}"},
        )
        response.close()
        if response.status_code != RESUME_INCOMPLETE:
            return session.size
        stored = _STORED_RANGE.fullmatch(response.headers.get("Range", ""))
        return int(stored.group(1)) + 1 if stored else 0


class MultipartBody:
    """``POST /api/tasks``'s body, streamed from the files: one ``fileName`` part
    each, then the form ``fields``. Each ``make()`` is a fresh body for one try
    (the files read again from their start) under the same boundary;
    ``close()`` closes every file it opened."""

    def __init__(self, paths: list[Path], fields: dict[str, str], on_progress: Progress | None = None) -> None:
        self.paths = paths
        self.fields = fields
        self.on_progress = on_progress
        self.boundary = uuid.uuid4().hex
        self.content_type = f"multipart/form-data; boundary={self.boundary}"
        self._handles: list[BinaryIO] = []

    def make(self):
        from requests_toolbelt.multipart.encoder import MultipartEncoder, MultipartEncoderMonitor

        self.close()
        self._handles = [open(path, "rb") for path in self.paths]
        parts = [(FILE_FIELD, (path.name, handle, "application/octet-stream"))
                 for path, handle in zip(self.paths, self._handles)]
        encoder = MultipartEncoder(fields=[*parts, *self.fields.items()], boundary=self.boundary)
        if self.on_progress is None:
            return encoder
        total = encoder.len
        return MultipartEncoderMonitor(encoder, lambda read: self.on_progress(read.bytes_read, total))

    def close(self) -> None:
        for handle in self._handles:
            handle.close()
        self._handles = []
