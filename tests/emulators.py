"""Google Cloud emulators for tests: Cloud Storage and Pub/Sub, each a child
process on a free loopback port, started once and stopped at the end.

* Cloud Storage: ``gcp-storage-emulator`` (pip), in memory. Clients find it
  through ``STORAGE_EMULATOR_HOST=http://127.0.0.1:PORT``.
* Pub/Sub: Google's official emulator (Java), from the Cloud SDK package
  ``google-cloud-cli-pubsub-emulator``. Clients find it through
  ``PUBSUB_EMULATOR_HOST=127.0.0.1:PORT``.

Run ``python -m tests.emulators`` to start both by hand and print their variables.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

PUBSUB_EMULATOR = Path(
    os.environ.get(
        "COMPRIMEMELO_TEST_PUBSUB_EMULATOR",
        "/usr/lib/google-cloud-sdk/platform/pubsub-emulator/bin/cloud-pubsub-emulator",
    )
)
STARTUP_TIMEOUT_SECONDS = 60
STOP_TIMEOUT_SECONDS = 10
PROJECT = "comprimemelo-test"


class EmulatorUnavailable(RuntimeError):
    """The emulator (or what it needs, such as Java) is not installed."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, process: subprocess.Popen, log_path: Path) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"emulator exited early:\n{log_path.read_text(errors='replace')}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
            return
        time.sleep(0.1)
    raise RuntimeError(f"emulator not answering after {STARTUP_TIMEOUT_SECONDS}s:\n{log_path.read_text()}")


@contextlib.contextmanager
def _child(command: list[str], port: int, name: str) -> Iterator[None]:
    folder = Path(tempfile.mkdtemp(prefix=f"comprimemelo-{name}-"))
    log_path = folder / f"{name}.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            command, stdout=log, stderr=subprocess.STDOUT, cwd=folder, start_new_session=True
        )
    try:
        wait_for_port(port, process, log_path)
        yield
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(STOP_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        shutil.rmtree(folder, ignore_errors=True)


def gcs_emulator_available() -> bool:
    return importlib.util.find_spec("gcp_storage_emulator") is not None


@contextlib.contextmanager
def gcs_emulator(port: int | None = None) -> Iterator[str]:
    """Yield the ``STORAGE_EMULATOR_HOST`` value of a running Cloud Storage emulator
    (in memory: once stopped, its buckets and objects are gone). A given ``port``
    lets a test stop the emulator and start a new one at the same address."""
    if not gcs_emulator_available():
        raise EmulatorUnavailable("gcp-storage-emulator is not installed (pip install gcp-storage-emulator)")
    port = port or free_port()
    command = [sys.executable, "-m", "gcp_storage_emulator", "start",
               "--host", "127.0.0.1", "--port", str(port), "--in-memory", "--quiet"]
    with _child(command, port, "gcs"):
        yield f"http://127.0.0.1:{port}"


def pubsub_emulator_available() -> bool:
    return PUBSUB_EMULATOR.is_file() and shutil.which("java") is not None


@contextlib.contextmanager
def pubsub_emulator() -> Iterator[str]:
    """Yield the ``PUBSUB_EMULATOR_HOST`` value of a running Pub/Sub emulator."""
    if not pubsub_emulator_available():
        raise EmulatorUnavailable(f"the Pub/Sub emulator ({PUBSUB_EMULATOR}) or java is missing")
    port = free_port()
    with _child([str(PUBSUB_EMULATOR), "--host=127.0.0.1", f"--port={port}"], port, "pubsub"):
        yield f"127.0.0.1:{port}"


# -- pytest fixtures (loaded by tests/conftest.py as a plugin) -----------------


@pytest.fixture(scope="session")
def gcs_emulator_host() -> Iterator[str]:
    from tests.conftest import require_or_skip

    if not gcs_emulator_available():
        require_or_skip("gcp-storage-emulator is not installed")
    with gcs_emulator() as host:
        yield host


@pytest.fixture(scope="session")
def pubsub_emulator_host() -> Iterator[str]:
    from tests.conftest import require_or_skip

    if not pubsub_emulator_available():
        require_or_skip(f"the Pub/Sub emulator ({PUBSUB_EMULATOR}) or java is not installed")
    with pubsub_emulator() as host:
        yield host


@pytest.fixture
def gcs_bucket(gcs_emulator_host, monkeypatch) -> str:
    """A new empty bucket on the emulator; this process's clients point at it."""
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import storage

    monkeypatch.setenv("STORAGE_EMULATOR_HOST", gcs_emulator_host)
    monkeypatch.setenv("GOOGLE_CLOUD_PROJECT", PROJECT)
    name = f"bucket-{uuid.uuid4().hex[:12]}"
    storage.Client(project=PROJECT, credentials=AnonymousCredentials()).create_bucket(name)
    return name


@pytest.fixture
def pubsub_names(pubsub_emulator_host, monkeypatch) -> dict[str, str]:
    """Fresh topic and subscription names (not yet created); this process's
    clients point at the emulator."""
    monkeypatch.setenv("PUBSUB_EMULATOR_HOST", pubsub_emulator_host)
    monkeypatch.setenv("GOOGLE_CLOUD_PROJECT", PROJECT)
    suffix = uuid.uuid4().hex[:10]
    return {
        "project": PROJECT,
        "topic": f"tasks-{suffix}",
        "subscription": f"tasks-{suffix}-workers",
        "dead_letter_topic": f"tasks-{suffix}-dead",
        "dead_letter_subscription": f"tasks-{suffix}-dead-sub",
    }


def main() -> None:  # pragma: no cover - manual use
    with gcs_emulator() as gcs, pubsub_emulator() as pubsub:
        print(f"export STORAGE_EMULATOR_HOST={gcs}\nexport PUBSUB_EMULATOR_HOST={pubsub}", flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            while True:
                time.sleep(3600)


if __name__ == "__main__":  # pragma: no cover
    main()
