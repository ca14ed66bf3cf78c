"""Cloud Storage resumable uploads: the client sends its bytes to Google directly.

The web VM opens a resumable session for the object with its own
credentials (``Blob.create_resumable_upload_session``) and hands the session
URI to the client; that URI is itself the capability to write that one
object, for a week at most, and nothing else. The declared size is part of
the session (``X-Upload-Content-Length``), and ``if_generation_match=0``
refuses to replace an existing object. Progress is read back with the
protocol's status query (``PUT`` with ``Content-Range: bytes */SIZE``), and
the finished object's size is checked before it becomes a task's input.

Browsers: the page's origin is passed as the session's ``origin`` so Google
answers the cross-origin chunk requests (the page's Content-Security-Policy
must allow ``connect-src https://storage.googleapis.com``).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

import requests
from google.api_core import exceptions as api_exceptions
from google.auth import exceptions as auth_exceptions

from comprimemelo.domain.errors import Conflict
from comprimemelo.storage import StorageError
from comprimemelo.storage.resumable import SessionGone

CONTENT_TYPE = "application/octet-stream"
REQUEST_TIMEOUT_SECONDS = 30
RESUME_INCOMPLETE = 308
# 499: Google's answer to a cancelled session; 404/410: expired or unknown.
GONE_STATUSES = frozenset({404, 410, 499})
_BACKEND_ERRORS = (
    api_exceptions.GoogleAPIError,
    auth_exceptions.GoogleAuthError,
    requests.RequestException,
    ConnectionError,
    TimeoutError,
)


class GcsUploads:
    def __init__(self, bucket: Any, object_name: Callable[[str], str]) -> None:
        """``bucket`` is a ``google.cloud.storage.Bucket``; ``object_name`` maps a
        storage key to its object name (``GcsStorage.object_name``: same prefix)."""
        self._bucket = bucket
        self._object_name = object_name
        self._http = requests.Session()

    @classmethod
    def for_storage(cls, storage: Any, client: Any = None) -> GcsUploads:
        """Sessions in ``storage``'s bucket and prefix, opened with a client for the
        current environment (``STORAGE_EMULATOR_HOST`` selects the emulator)."""
        if client is None:
            from google.cloud import storage as gcs

            client = gcs.Client()
        return cls(client.bucket(storage.bucket_name), storage.object_name)

    def _blob(self, key: str) -> Any:
        return self._bucket.blob(self._object_name(key))

    def begin(self, key: str, size: int, origin: str | None) -> str | None:
        with _translate("start an upload of", key):
            return self._blob(key).create_resumable_upload_session(
                content_type=CONTENT_TYPE,
                size=size,
                origin=origin,
                checksum=None,
                if_generation_match=0,
                timeout=REQUEST_TIMEOUT_SECONDS,
            )

    def received(self, key: str, size: int, upload_url: str | None) -> int:
        if not upload_url:
            raise SessionGone(key)
        with _translate("ask the progress of", key):
            response = self._http.put(
                upload_url,
                headers={"Content-Range": f"bytes */{size}", "Content-Length": "0"},
                timeout=REQUEST_TIMEOUT_SECONDS,
            )
        if response.status_code == RESUME_INCOMPLETE:
            stored = response.headers.get("Range", "")  # "bytes=0-LAST", absent if none
            return int(stored.rsplit("-", 1)[1]) + 1 if stored else 0
        if response.status_code in (200, 201):
            return size
        if response.status_code in GONE_STATUSES:
            # A finished session may be forgotten (the emulator does at once): the object tells.
            with _translate("look up", key):
                blob = self._bucket.get_blob(self._object_name(key), timeout=REQUEST_TIMEOUT_SECONDS)
            if blob is None:
                raise SessionGone(key)
            return int(blob.size)
        raise StorageError(f"cannot ask the progress of {key}: HTTP {response.status_code}")

    def finish(self, key: str, size: int) -> None:
        with _translate("look up", key):
            blob = self._bucket.get_blob(self._object_name(key), timeout=REQUEST_TIMEOUT_SECONDS)
        if blob is None:
            raise SessionGone(key)
        if blob.size != size:
            raise Conflict(
                f"upload has {blob.size} bytes, expected {size}", code="upload_size_mismatch"
            )

    def abandon(self, key: str, upload_url: str | None) -> None:
        """Cancel the session (so no late chunk can finish it), then delete any object."""
        if upload_url:
            with contextlib.suppress(requests.RequestException):
                self._http.delete(
                    upload_url, headers={"Content-Length": "0"}, timeout=REQUEST_TIMEOUT_SECONDS
                )
        with _translate("delete", key), contextlib.suppress(api_exceptions.NotFound):
            self._blob(key).delete(timeout=REQUEST_TIMEOUT_SECONDS)


@contextlib.contextmanager
def _translate(action: str, key: str) -> Iterator[None]:
    try:
        yield
    except _BACKEND_ERRORS as error:
        raise StorageError(f"cannot {action} {key}: {error}") from error
