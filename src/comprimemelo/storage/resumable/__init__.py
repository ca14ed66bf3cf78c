"""The port of resumable uploads: where an upload session's bytes go before
its object appears under its key, and its adapters named by technology:
``LocalUploads`` (``local``: the app takes the chunks, ``PUT /api/uploads/<id>``)
and ``GcsUploads`` (``gcs``: a Cloud Storage resumable session the client
uploads to directly). The sessions themselves are ``services.uploads``'s.
"""

from __future__ import annotations

import functools
from typing import Protocol

from comprimemelo.domain.errors import Conflict
from comprimemelo.storage import Storage


class OffsetMismatch(Conflict):
    """A chunk did not start where the stored bytes end; ``offset`` says where."""

    code = "offset_mismatch"

    def __init__(self, offset: int, message: str | None = None) -> None:
        super().__init__(message or f"the next chunk must start at byte {offset}")
        self.offset = offset


class SessionGone(Exception):
    """The backend no longer knows the session (cancelled or expired there)."""


class UploadTarget(Protocol):
    """Where a session's bytes go before the object appears under its key."""

    def begin(self, key: str, size: int, origin: str | None) -> str | None:
        """Prepare to receive exactly ``size`` bytes for ``key``.

        :return: the URL the client sends chunks to, or ``None`` when this app
            takes them (``PUT /api/uploads/<id>``).
        """

    def received(self, key: str, size: int, upload_url: str | None) -> int:
        """Bytes durably stored so far (``size`` once complete).

        :raise SessionGone: if the backend dropped the session.
        """

    def finish(self, key: str, size: int) -> None:
        """Make the complete object visible under ``key`` (idempotent).

        :raise Conflict: if the stored object is not exactly ``size`` bytes.
        """

    def abandon(self, key: str, upload_url: str | None) -> None:
        """Drop the bytes received and the object, if any (idempotent)."""


def open_target(storage: Storage) -> UploadTarget:
    """The adapter that matches ``storage``'s technology."""
    from comprimemelo.storage.local import LocalStorage

    if isinstance(storage, LocalStorage):
        from comprimemelo.storage.resumable.local import LocalUploads

        return LocalUploads(storage)
    from comprimemelo.storage.gcs import GcsStorage

    if isinstance(storage, GcsStorage):
        from comprimemelo.storage.resumable.gcs import GcsUploads

        return GcsUploads.for_storage(storage)
    raise ValueError(f"no resumable uploads for {type(storage).__name__}")


@functools.lru_cache(maxsize=4)
def target_for(storage: Storage) -> UploadTarget:
    """One adapter per storage for the periodic sweeps (a Cloud Storage client is not free).

    :raise ValueError: for a storage without resumable uploads (a test's fake).
    """
    return open_target(storage)
