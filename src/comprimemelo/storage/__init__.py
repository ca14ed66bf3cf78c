"""The storage port: where originals and archives live, addressed by opaque keys.

Keys are made by the service (``tasks/<random prefix>/...``), never from user
input alone. Adapters: ``LocalStorage`` (a folder, ``file://``) and
``GcsStorage`` (Cloud Storage, ``gs://``).
"""

from __future__ import annotations

from pathlib import Path
from typing import BinaryIO, Protocol
from urllib.parse import urlparse


class StorageError(Exception):
    """The backend failed; the operation may succeed if retried."""


class ObjectNotFound(StorageError):
    """No object under that key."""


class Storage(Protocol):
    def put_stream(self, key: str, stream: BinaryIO) -> int:
        """Store everything ``stream`` yields under ``key``; return the byte count.

        Atomic: until it returns, no reader sees a partial object.
        """

    def spool(self) -> BinaryIO:
        """A temporary file to receive an upload's bytes, removed when closed.

        ``put_stream`` may take such a file over without copying it (the
        local adapter links it into place).
        """

    def sweep_spool(self, older_than_seconds: float) -> int:
        """Remove spool and partial files a killed process left behind, older
        than ``older_than_seconds``; return how many (0 where the operating
        system removes them itself)."""

    def put_file(self, key: str, path: Path) -> int:
        """Store the local file at ``path`` under ``key`` (streamed, atomic)."""

    def get_file(self, key: str, path: Path) -> None:
        """Write the object to the local file ``path``, streaming.

        :raise ObjectNotFound: if there is no such object.
        """

    def open(self, key: str) -> BinaryIO:
        """A binary stream of the object, for the web tier to send.

        :raise ObjectNotFound: if there is no such object.
        """

    def download_url(self, key: str, filename: str, media_type: str) -> str | None:
        """A short-lived URL the client can fetch the object from directly, or
        ``None`` when the adapter cannot offer one (the app then streams it)."""

    def delete(self, key: str) -> None:
        """Remove the object; a missing object is not an error."""

    def exists(self, key: str) -> bool: ...

    def check(self) -> None:
        """Raise ``StorageError`` unless the backend is reachable (``/readyz``)."""


def open_storage(url: str, **options) -> Storage:
    """The adapter for ``url``: ``file:///path`` or ``gs://bucket/prefix``."""
    scheme = urlparse(url).scheme
    if scheme == "file":
        from comprimemelo.storage.local import LocalStorage

        return LocalStorage.from_url(url)
    if scheme == "gs":
        from comprimemelo.storage.gcs import GcsStorage

        return GcsStorage.from_url(url, **options)
    raise ValueError(f"unsupported storage URL {url!r}: use file:///path or gs://bucket/prefix")
