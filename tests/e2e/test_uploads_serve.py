"""A big resumable upload to a real ``comprimemelo serve`` (gunicorn), whose
client process is killed in the middle of a chunk, then resumes from the
offset the server reports; the task's original comes back byte for byte.

The 5 GiB case runs by hand (``python -m capacity.resumable_upload``, see
docs/uploads.md): same client, same server, only longer than a test should be.
"""

from __future__ import annotations

import hashlib
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from capacity.resumable_upload import ChunkSender, Pattern
from tests.processes import Client, serving

pytestmark = pytest.mark.e2e

SIZE = 300 * 1000 * 1000
CUT_AT = 123_456_789  # in the middle of the 15th 8 MiB chunk
SEED = 7
REPO_ROOT = Path(__file__).resolve().parents[2]
SETTLE_POLLS = 100
SETTLE_INTERVAL_SECONDS = 0.3


@pytest.fixture
def served(tmp_path):
    """Embedded mode: resuming is about the bytes on disk; the API tests cover PostgreSQL."""
    with serving(tmp_path, "--no-worker") as running:
        yield running


def settled_offset(sender: ChunkSender) -> int:
    """The offset once the server is done with the killed client's request: it may
    still be appending what the kernel had buffered when the client died (the
    offset a client sees then grows under it, as on Cloud Storage)."""
    previous = None
    for _ in range(SETTLE_POLLS):
        offset = sender.offset()
        if offset == previous:
            return offset
        previous = offset
        time.sleep(SETTLE_INTERVAL_SECONDS)
    raise AssertionError(f"the upload's offset kept moving: {previous}")


def test_killed_client_resumes_a_300_mb_upload_mid_chunk(served):
    base_url, process = served
    client = Client(base_url)
    client.signup_and_login("bigfile")
    response = client.http.post(f"{base_url}/api/uploads", json={"fileName": "big.bin", "size": SIZE}, timeout=30)
    assert response.status_code == 201, response.text
    session = response.json()

    killed = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(f"""
            import os, signal
            from capacity.resumable_upload import ChunkSender, Pattern
            sender = ChunkSender({session['upload_url']!r}, {SIZE}, Pattern({SEED}))
            sender.send(0, {session['chunk_bytes']}, cut_at={CUT_AT},
                        on_cut=lambda: os.kill(os.getpid(), signal.SIGKILL))
        """)],
        cwd=REPO_ROOT,
        timeout=120,
    )
    assert killed.returncode == -signal.SIGKILL

    sender = ChunkSender(session["upload_url"], SIZE, Pattern(SEED))
    offset = settled_offset(sender)
    # what the kernel had delivered before the kill is kept: at most what was sent
    assert session["chunk_bytes"] * (CUT_AT // session["chunk_bytes"]) <= offset <= CUT_AT
    status = client.http.get(f"{base_url}/api/uploads/{session['id']}", timeout=30).json()
    assert status["offset"] == offset and status["state"] == "open"
    assert sender.send(offset, session["chunk_bytes"]) == SIZE

    task = client.http.post(f"{base_url}/api/uploads/{session['id']}/complete", json={"newFormat": "tar.zst"},
                            timeout=30)
    assert task.status_code == 201, task.text
    digest = hashlib.sha256()
    with client.http.get(f"{base_url}{task.json()['original_url']}", stream=True, timeout=120) as original:
        assert original.status_code == 200
        for piece in original.iter_content(1024 * 1024):
            digest.update(piece)
    assert digest.hexdigest() == Pattern(SEED).sha256(SIZE)
    assert "Traceback" not in process.output()
