"""Cloud Storage: objects under ``gs://bucket/prefix``, downloads by V4 signed URL.

Transfers stream: uploads are resumable uploads sent in ``UPLOAD_CHUNK_BYTES``
chunks and downloads go straight to a file, so no object is ever held in
memory. An object becomes visible only when its upload completes.

Signed URLs are signed with the Application Default Credentials. With a
service-account key file they are signed locally; on a Compute Engine VM the
credentials hold no private key, so the signature comes from the IAM
``signBlob`` API (the VM's service account needs
``roles/iam.serviceAccountTokenCreator`` on itself). With the emulator
(``STORAGE_EMULATOR_HOST``) the client itself is anonymous, and signing still
uses the Application Default Credentials (tests point
``GOOGLE_APPLICATION_CREDENTIALS`` at a throwaway key).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import quote, urlparse

import requests
from google.api_core import exceptions as api_exceptions
from google.api_core.retry import Retry
from google.auth import credentials as auth_credentials
from google.auth import exceptions as auth_exceptions
from google.cloud.storage import exceptions as media_exceptions

from comprimemelo.storage import ObjectNotFound, StorageError

# A multiple of 256 KiB, as resumable uploads require; also the read-ahead of ``open``.
UPLOAD_CHUNK_BYTES = 8 * 1024 * 1024
READ_CHUNK_BYTES = 1024 * 1024
CONTENT_TYPE = "application/octet-stream"
REQUEST_TIMEOUT_SECONDS = 60
# Readiness probes must answer fast: one attempt, short timeout.
CHECK_TIMEOUT_SECONDS = 5
# Keys are unique per write (see ``tasks``), so retrying any call is safe.
RETRY = Retry(initial=0.5, maximum=10.0, multiplier=2.0, timeout=120.0)  # with no retry_seconds
SIGNING_SCOPES = ("https://www.googleapis.com/auth/cloud-platform",)

_BACKEND_ERRORS = (
    api_exceptions.GoogleAPIError,
    auth_exceptions.GoogleAuthError,
    requests.RequestException,
    media_exceptions.InvalidResponse,
    media_exceptions.DataCorruption,
    ConnectionError,
    TimeoutError,
)


def content_disposition(filename: str) -> str:
    """``attachment`` with the name in RFC 6266/5987 form (any Unicode, no quoting bugs)."""
    return f"attachment; filename*=UTF-8''{quote(filename, safe='')}"


class GcsStorage:
    def __init__(
        self,
        bucket: Any,
        prefix: str = "",
        *,
        signed_url_seconds: int = 300,
        signing_credentials: auth_credentials.Credentials | None = None,
        retry_seconds: float | None = None,
    ) -> None:
        """``bucket`` is a ``google.cloud.storage.Bucket``; ``signing_credentials``
        default to the Application Default Credentials, loaded on first use;
        ``retry_seconds`` bounds the retries of one call (transient errors)."""
        self._retry = RETRY if retry_seconds is None else RETRY.with_timeout(retry_seconds)
        self._bucket = bucket
        self._prefix = prefix.strip("/")
        self.signed_url_seconds = signed_url_seconds
        self._signing_credentials = signing_credentials
        self._signing_lock = threading.Lock()

    @classmethod
    def from_url(
        cls, url: str, *, signed_url_seconds: int = 300, client: Any = None, **options: Any
    ) -> GcsStorage:
        """Storage for ``gs://bucket[/prefix]``, with a client for the current
        environment (``STORAGE_EMULATOR_HOST`` selects the emulator)."""
        parsed = urlparse(url)
        if parsed.scheme != "gs" or not parsed.netloc:
            raise ValueError(f"not a Cloud Storage URL: {url!r} (use gs://bucket/prefix)")
        if client is None:
            from google.cloud import storage

            client = storage.Client()
        return cls(
            client.bucket(parsed.netloc),
            parsed.path,
            signed_url_seconds=signed_url_seconds,
            **options,
        )

    @property
    def bucket_name(self) -> str:
        return self._bucket.name

    def object_name(self, key: str) -> str:
        if not key or key.startswith("/") or ".." in key.split("/"):
            raise ValueError(f"invalid storage key: {key!r}")
        return f"{self._prefix}/{key}" if self._prefix else key

    def _blob(self, key: str) -> Any:
        return self._bucket.blob(self.object_name(key), chunk_size=UPLOAD_CHUNK_BYTES)

    def spool(self) -> BinaryIO:
        return tempfile.TemporaryFile()

    def sweep_spool(self, older_than_seconds: float) -> int:
        return 0  # spools are unnamed temporary files: gone with their process

    def put_stream(self, key: str, stream: BinaryIO) -> int:
        """A resumable upload fed chunk by chunk, so ``stream`` need not be
        seekable; if reading it fails, the upload is cancelled, never finalised."""
        size = 0
        with _translate("write", key, missing_is_error=True):
            writer = self._blob(key).open(
                "wb",
                chunk_size=UPLOAD_CHUNK_BYTES,
                content_type=CONTENT_TYPE,
                ignore_flush=True,
                retry=self._retry,
                timeout=REQUEST_TIMEOUT_SECONDS,
            )
            try:
                while chunk := stream.read(READ_CHUNK_BYTES):
                    writer.write(chunk)
                    size += len(chunk)
                writer.close()
            except BaseException:
                with contextlib.suppress(Exception):  # the first error is the one to report
                    writer.terminate()  # cancels the resumable session if one was started
                raise
            finally:
                _discard(writer)
        return size

    def put_file(self, key: str, path: Path) -> int:
        blob = self._blob(key)
        with _translate("write", key, missing_is_error=True):
            blob.upload_from_filename(
                str(path), content_type=CONTENT_TYPE, timeout=REQUEST_TIMEOUT_SECONDS, retry=self._retry
            )
        return int(blob.size)

    def get_file(self, key: str, path: Path) -> None:
        with _translate("read", key):
            self._blob(key).download_to_filename(
                str(path), timeout=REQUEST_TIMEOUT_SECONDS, retry=self._retry
            )

    def open(self, key: str) -> BinaryIO:
        with _translate("read", key):
            blob = self._bucket.get_blob(
                self.object_name(key), timeout=REQUEST_TIMEOUT_SECONDS, retry=self._retry
            )
            if blob is None:
                raise ObjectNotFound(key)
            return blob.open("rb", chunk_size=READ_CHUNK_BYTES, retry=self._retry)

    def download_url(self, key: str, filename: str, media_type: str) -> str | None:
        """A V4 signed GET URL valid for ``signed_url_seconds`` that makes the
        browser save the object as ``filename``."""
        signing = self._signing_arguments()
        with _translate("sign a URL for", key):
            return self._blob(key).generate_signed_url(
                version="v4",
                expiration=dt.timedelta(seconds=self.signed_url_seconds),
                method="GET",
                response_disposition=content_disposition(filename),
                response_type=media_type,
                **signing,
            )

    def _signing_arguments(self) -> dict[str, Any]:
        """Sign locally when the credentials hold a private key; otherwise ask the
        IAM ``signBlob`` API with a fresh access token."""
        with self._signing_lock, _translate("load credentials for", "signing"):
            credentials = self._signing_credentials
            if credentials is None:
                import google.auth

                credentials, _project = google.auth.default(scopes=SIGNING_SCOPES)
                self._signing_credentials = credentials
            if isinstance(credentials, auth_credentials.Signing):
                return {"credentials": credentials}
            if not credentials.valid:
                from google.auth.transport.requests import Request

                credentials.refresh(Request())
            return {
                "service_account_email": credentials.service_account_email,
                "access_token": credentials.token,
            }

    def delete(self, key: str) -> None:
        with _translate("delete", key), contextlib.suppress(api_exceptions.NotFound):
            self._blob(key).delete(timeout=REQUEST_TIMEOUT_SECONDS, retry=self._retry)

    def exists(self, key: str) -> bool:
        with _translate("look up", key):
            return self._blob(key).exists(timeout=REQUEST_TIMEOUT_SECONDS, retry=self._retry)

    def check(self) -> None:
        """List at most one object: needs only ``storage.objects.list``, which the
        service accounts have (``buckets.get`` they may not)."""
        with _translate("list", self._prefix or "/", missing_is_error=True):
            client = self._bucket.client
            pages = client.list_blobs(
                self._bucket,
                prefix=self._prefix,
                max_results=1,
                timeout=CHECK_TIMEOUT_SECONDS,
                retry=None,
            )
            next(iter(pages), None)


@contextlib.contextmanager
def _translate(action: str, key: str, *, missing_is_error: bool = False) -> Iterator[None]:
    """Map client errors to the port's: a missing object is ``ObjectNotFound``
    (a missing bucket on write is a ``StorageError``), anything else ``StorageError``."""
    try:
        yield
    except api_exceptions.NotFound as error:
        if missing_is_error:
            raise StorageError(f"cannot {action} {key}: {error.message}") from error
        raise ObjectNotFound(key) from None
    except _BACKEND_ERRORS as error:
        raise StorageError(f"cannot {action} {key}: {error}") from error


def _discard(writer: Any) -> None:
    """Mark a ``BlobWriter`` closed without uploading. When ``close()`` raises it
    leaves its buffer open, and ``io.IOBase.__del__`` calls ``close()`` again at
    garbage collection: a failed write would be finished later, an orphan object
    (googleapis/python-storage#1228 fixed only the exception-in-body case)."""
    buffer = getattr(writer, "_buffer", None)
    if buffer is not None and not buffer.closed:
        buffer.close()
