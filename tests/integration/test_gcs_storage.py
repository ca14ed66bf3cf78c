"""``GcsStorage`` against a Cloud Storage emulator, with the real client library.

Emulators do not check signatures, so signed URLs are checked here: their
parameters, their expiry, and (for both signing paths) that the signature is
an RSA-SHA256 signature by the service account's key.
"""

from __future__ import annotations

import base64
import datetime as dt
import gc
import hashlib
import io
import json
import os
from urllib.parse import parse_qs, unquote, urlparse

import pytest
import requests
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from google.auth.credentials import AnonymousCredentials
from google.cloud import storage as gcs
from google.oauth2 import service_account

from comprimemelo.storage import ObjectNotFound, StorageError, open_storage
from comprimemelo.storage.gcs import UPLOAD_CHUNK_BYTES, GcsStorage, content_disposition
from tests.emulators import PROJECT

SERVICE_ACCOUNT = "comprimemelo-web@comprimemelo-test.iam.gserviceaccount.com"


class OneWayStream(io.RawIOBase):
    """A non-seekable stream, like a socket: uploads must not need to rewind it."""

    def __init__(self, data: bytes, piece: int = 65536) -> None:
        self._data = memoryview(data)
        self._piece = piece
        self.reads = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        size = min(len(buffer), self._piece, len(self._data))
        buffer[:size] = self._data[:size]
        self._data = self._data[size:]
        self.reads += 1
        return size


@pytest.fixture(scope="module")
def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def service_account_info(key: rsa.RSAPrivateKey) -> dict:
    """A throwaway service-account key file's content (never valid at Google)."""
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    return {
        "type": "service_account",
        "project_id": PROJECT,
        "private_key_id": "0123456789abcdef",
        "private_key": pem,
        "client_email": SERVICE_ACCOUNT,
        "client_id": "1",
        "token_uri": "https://oauth2.googleapis.com/token",
    }


@pytest.fixture
def client(gcs_bucket) -> gcs.Client:
    return gcs.Client(project=PROJECT, credentials=AnonymousCredentials())


@pytest.fixture
def store(gcs_bucket, client, rsa_key) -> GcsStorage:
    signer = service_account.Credentials.from_service_account_info(service_account_info(rsa_key))
    return GcsStorage.from_url(
        f"gs://{gcs_bucket}/some/prefix", signed_url_seconds=123, client=client,
        signing_credentials=signer,
    )


def test_streamed_upload_of_unknown_length_round_trips(store, client, gcs_bucket, tmp_path):
    data = os.urandom(UPLOAD_CHUNK_BYTES + 300_000)  # more than one resumable chunk
    stream = OneWayStream(data)
    assert store.put_stream("tasks/p/original/0", stream) == len(data)
    assert stream.reads > 1
    assert store.exists("tasks/p/original/0")
    blob = client.bucket(gcs_bucket).get_blob("some/prefix/tasks/p/original/0")
    assert blob.size == len(data)
    target = tmp_path / "copy"
    store.get_file("tasks/p/original/0", target)
    assert target.read_bytes() == data
    with store.open("tasks/p/original/0") as reader:
        assert reader.read() == data


def test_a_failed_streamed_upload_is_never_finished_later_by_the_garbage_collector(store, client, gcs_bucket):
    """A write that fails when it is finalised (here the bucket is missing) must
    leave the writer closed: ``io.IOBase.__del__`` would otherwise call
    ``close()`` again and upload the object once the bucket is back, an orphan."""
    client.bucket(gcs_bucket).delete()
    with pytest.raises(StorageError):
        store.put_stream("tasks/p/original/0", io.BytesIO(b"sent while storage was gone"))
    client.create_bucket(gcs_bucket)
    gc.collect()
    assert list(client.list_blobs(gcs_bucket)) == []


def test_put_file_and_delete(store, tmp_path):
    source = tmp_path / "archive.zip"
    source.write_bytes(b"PK" + os.urandom(1000))
    assert store.put_file("tasks/p/archive/a.zip", source) == 1002
    assert store.exists("tasks/p/archive/a.zip")
    store.delete("tasks/p/archive/a.zip")
    assert not store.exists("tasks/p/archive/a.zip")
    store.delete("tasks/p/archive/a.zip")  # missing is fine


def test_missing_objects_raise_object_not_found(store, tmp_path):
    with pytest.raises(ObjectNotFound):
        store.get_file("tasks/nope/original/0", tmp_path / "x")
    with pytest.raises(ObjectNotFound):
        store.open("tasks/nope/original/0")
    assert not store.exists("tasks/nope/original/0")


def test_check_passes_on_a_reachable_bucket_and_fails_on_a_missing_one(store, client):
    store.check()
    with pytest.raises(StorageError):
        GcsStorage.from_url("gs://no-such-bucket-here", client=client).check()


def test_unreachable_backend_is_a_storage_error(gcs_bucket, monkeypatch):
    with __import__("socket").socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    monkeypatch.setenv("STORAGE_EMULATOR_HOST", f"http://127.0.0.1:{port}")
    store = open_storage(f"gs://{gcs_bucket}", signed_url_seconds=60)
    assert isinstance(store, GcsStorage)
    with pytest.raises(StorageError) as raised:
        store.check()
    assert not isinstance(raised.value, ObjectNotFound)


def test_open_storage_selects_gcs_for_gs_urls(gcs_bucket):
    store = open_storage(f"gs://{gcs_bucket}/p", signed_url_seconds=42)
    assert isinstance(store, GcsStorage)
    assert store.signed_url_seconds == 42
    assert store.object_name("tasks/x") == "p/tasks/x"


def signed_query(url: str) -> dict[str, str]:
    return {name: values[0] for name, values in parse_qs(urlparse(url).query).items()}


def assert_signature(key: rsa.RSAPrivateKey, url: str, query: dict[str, str]) -> None:
    """Rebuild the V4 string-to-sign and verify the signature with the public key."""
    parsed = urlparse(url)
    canonical_query = "&".join(
        part for part in sorted(parsed.query.split("&")) if not part.startswith("X-Goog-Signature=")
    )
    canonical_request = "\n".join(
        ["GET", parsed.path, canonical_query, f"host:{parsed.netloc}", "", "host", "UNSIGNED-PAYLOAD"]
    )
    scope = query["X-Goog-Credential"].split("/", 1)[1]
    string_to_sign = "\n".join(
        ["GOOG4-RSA-SHA256", query["X-Goog-Date"], scope, hashlib.sha256(canonical_request.encode()).hexdigest()]
    )
    key.public_key().verify(
        bytes.fromhex(query["X-Goog-Signature"]), string_to_sign.encode(), padding.PKCS1v15(), hashes.SHA256()
    )


def test_download_url_is_a_v4_signed_url_with_the_configured_expiry(store, gcs_bucket, rsa_key):
    store.put_stream("tasks/p/archive/x.tar.gz", io.BytesIO(b"archive bytes"))
    before = dt.datetime.now(dt.timezone.utc)
    url = store.download_url("tasks/p/archive/x.tar.gz", "résumé ✓.tar.gz", "application/gzip")
    query = signed_query(url)
    assert urlparse(url).path == f"/{gcs_bucket}/some/prefix/tasks/p/archive/x.tar.gz"
    assert query["X-Goog-Algorithm"] == "GOOG4-RSA-SHA256"
    assert query["X-Goog-Expires"] == "123"
    assert query["X-Goog-Credential"].startswith(f"{SERVICE_ACCOUNT}/")
    assert query["X-Goog-Credential"].endswith("/auto/storage/goog4_request")
    assert query["X-Goog-SignedHeaders"] == "host"
    signed_at = dt.datetime.strptime(query["X-Goog-Date"], "%Y%m%dT%H%M%SZ").replace(tzinfo=dt.timezone.utc)
    assert abs((signed_at - before).total_seconds()) < 60
    assert query["response-content-disposition"] == "attachment; filename*=UTF-8''r%C3%A9sum%C3%A9%20%E2%9C%93.tar.gz"
    assert query["response-content-type"] == "application/gzip"
    assert_signature(rsa_key, url, query)
    # The emulator serves signed URLs (without checking them): the bytes come back.
    response = requests.get(url, timeout=10)
    assert response.status_code == 200
    assert response.content == b"archive bytes"


class KeylessCredentials:
    """Like Compute Engine credentials: a token and an email, no private key."""

    def __init__(self) -> None:
        self.token = None
        self.refreshes = 0
        self.service_account_email = SERVICE_ACCOUNT

    @property
    def valid(self) -> bool:
        return self.token is not None

    def refresh(self, _request) -> None:
        self.refreshes += 1
        self.token = f"access-token-{self.refreshes}"


class IamSignBlobTransport:
    """Answers the IAM Credentials ``signBlob`` call as Google would, signing
    with the service account's key; records every request."""

    def __init__(self, key: rsa.RSAPrivateKey) -> None:
        self.key = key
        self.requests: list[dict] = []

    def __call__(self, *args, **kwargs):
        return self

    def request(self, url, method, body, headers):
        self.requests.append({"url": url, "method": method, "body": body, "headers": headers})
        payload = base64.b64decode(json.loads(body)["payload"])
        signature = self.key.sign(payload, padding.PKCS1v15(), hashes.SHA256())

        class Response:
            status = 200
            data = json.dumps(
                {"keyId": "k", "signedBlob": base64.b64encode(signature).decode()}
            ).encode()

        return Response()


def test_download_url_without_a_private_key_signs_through_iam_sign_blob(
    gcs_bucket, client, rsa_key, monkeypatch
):
    import google.auth.transport.requests as auth_requests

    transport = IamSignBlobTransport(rsa_key)
    monkeypatch.setattr(auth_requests, "Request", lambda *a, **k: transport.request)
    credentials = KeylessCredentials()
    store = GcsStorage.from_url(
        f"gs://{gcs_bucket}", signed_url_seconds=300, client=client, signing_credentials=credentials
    )
    url = store.download_url("tasks/p/archive/y.zip", "y.zip", "application/zip")
    (call,) = transport.requests
    assert call["method"] == "POST"
    assert call["url"] == (
        "https://iamcredentials.googleapis.com/v1/projects/-/serviceAccounts/"
        f"{SERVICE_ACCOUNT}:signBlob?alt=json"
    )
    assert call["headers"]["Authorization"] == "Bearer access-token-1"
    query = signed_query(url)
    assert query["X-Goog-Expires"] == "300"
    assert query["X-Goog-Credential"].startswith(f"{SERVICE_ACCOUNT}/")
    assert unquote(query["response-content-disposition"]) == content_disposition("y.zip")
    assert_signature(rsa_key, url, query)
    store.download_url("tasks/p/archive/y.zip", "y.zip", "application/zip")
    assert credentials.refreshes == 1  # a still-valid token is reused


def test_a_call_to_unreachable_storage_gives_up_after_the_configured_retry_time(gcs_bucket, monkeypatch, tmp_path):
    """An outage fails an upload after ``COMPRIMEMELO_STORAGE_RETRY_SECONDS``, not the
    library's 120 s: the web answers its 503 and the worker backs off in time."""
    import time

    with __import__("socket").socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    monkeypatch.setenv("STORAGE_EMULATOR_HOST", f"http://127.0.0.1:{port}")
    store = open_storage(f"gs://{gcs_bucket}", signed_url_seconds=60, retry_seconds=2)
    source = tmp_path / "in.bin"
    source.write_bytes(b"x" * 1000)
    started = time.monotonic()
    with pytest.raises(StorageError):
        store.put_file("k", source)
    assert time.monotonic() - started < 30  # the library alone would keep retrying for 120 s
