"""The remote commands against a real ``comprimemelo serve``: log in, submit (one
request, or resumable chunks that survive a killed command and a broken
connection), wait, download, list, delete, log out; errors as one line and
an exit status; the token kept private."""

from __future__ import annotations

import json
import os
import pty
import re
import signal
import stat
import time
from pathlib import Path
from types import SimpleNamespace

import pytest
import requests

from comprimemelo.client.api import Client
from tests.archives import read_members
from tests.e2e.test_uploads_serve import settled_offset
from tests.processes import free_port, serving
from tests.remote_cli import RemoteCli, sign_up
from tests.throttle import throttled

pytestmark = pytest.mark.e2e

CHUNK_BYTES = 256 * 1024
BIG_BYTES = 16 * CHUNK_BYTES + 12_345  # 17 chunks, the last one short
QUOTA_BYTES = 20_000_000
SLOW_LINK_BYTES_PER_SECOND = 1_000_000
DEADLINE_SECONDS = 60


@pytest.fixture(scope="module")
def base_url(tmp_path_factory):
    folder = tmp_path_factory.mktemp("client-serve")
    with serving(folder, COMPRIMEMELO_UPLOAD_CHUNK_BYTES=str(CHUNK_BYTES),
                 COMPRIMEMELO_QUOTA_STORAGE_BYTES=str(QUOTA_BYTES)) as (url, _process):
        yield url


@pytest.fixture
def cli(tmp_path, base_url, request) -> RemoteCli:
    """A user signed up and logged in with the command line, in a home of their own."""
    user = RemoteCli(tmp_path, re.sub(r"\W", "", request.node.name)[-30:])
    sign_up(base_url, user.username)
    assert user.login(base_url, user.username).returncode == 0
    return user


def api(cli: RemoteCli, base_url: str, method: str, path: str) -> requests.Response:
    return requests.request(method, f"{base_url}{path}", headers={"Authorization": f"Bearer {cli.token()}"},
                            timeout=30)


def test_login_keeps_a_private_token_that_logout_revokes(tmp_path, base_url):
    cli = RemoteCli(tmp_path, "keeper")
    sign_up(base_url, "keeper")
    wrong = cli.login(base_url, "keeper", "not the password")
    assert wrong.returncode == 3 and wrong.stderr.strip() == "comprimemelo: wrong username or password (HTTP 401 invalid_credentials)"
    assert not cli.credentials.exists()
    logged_in = cli.login(base_url, "keeper")
    assert logged_in.returncode == 0 and f"as keeper until" in logged_in.stdout, logged_in
    assert stat.S_IMODE(cli.credentials.stat().st_mode) == 0o600
    assert stat.S_IMODE(cli.credentials.parent.stat().st_mode) == 0o700
    token = cli.token()
    listed = cli.run("tasks")
    assert listed.returncode == 0 and listed.stdout.startswith("ID  STATUS"), listed
    out = cli.run("logout")
    assert out.returncode == 0 and not cli.credentials.exists(), out
    revoked = requests.get(f"{base_url}/api/tasks", headers={"Authorization": f"Bearer {token}"}, timeout=30)
    assert revoked.status_code == 401
    after = cli.run("tasks")
    assert after.returncode == 3 and after.stderr.strip() == "comprimemelo: not logged in: run comprimemelo login URL"


def test_submit_waits_downloads_lists_gets_and_removes(cli, base_url, tmp_path):
    notes, data = tmp_path / "notes.txt", tmp_path / "data.csv"
    notes.write_bytes(b"some notes\n" * 5000)
    data.write_bytes(b"a,b,c\n1,2,3\n" * 4000)
    out = tmp_path / "out"
    out.mkdir()
    result = cli.json("submit", str(notes), str(data), "--format", "tar.zst", "--level", "smallest",
                      "--wait", "--download", str(out))
    tasks = {task["filename"]: task for task in result["tasks"]}
    assert set(tasks) == {"notes.txt", "data.csv"} and all(t["status"] == "processed" for t in tasks.values())
    assert result["resumed"] == []
    saved = {Path(item["path"]).name for item in result["downloads"]}
    assert saved == {"notes.txt.tar.zst", "data.csv.tar.zst"}
    assert read_members((out / "notes.txt.tar.zst").read_bytes(), "tar.zst") == {"notes.txt": notes.read_bytes()}
    assert read_members((out / "data.csv.tar.zst").read_bytes(), "tar.zst") == {"data.csv": data.read_bytes()}

    one = cli.json("submit", str(notes), str(data), "--format", "zip", "--one-archive", "--wait")
    [archive_task] = one["tasks"]
    assert [f["filename"] for f in archive_task["files"]] == ["notes.txt", "data.csv"]
    listed = cli.json("tasks")
    assert [task["id"] for task in listed] == [archive_task["id"], *sorted((t["id"] for t in tasks.values()),
                                                                            reverse=True)]
    table = cli.run("tasks").stdout.splitlines()
    assert table[0].split() == ["ID", "STATUS", "FORMAT", "SIZE", "ARCHIVE", "CREATED", "FILE"]
    assert table[1].split()[:3] == [str(archive_task["id"]), "processed", "zip"]

    got = cli.run("get", str(archive_task["id"]), "-o", str(tmp_path / "both.zip"))
    assert got.returncode == 0 and got.stdout.strip() == f"saved {tmp_path / 'both.zip'}", got
    assert read_members((tmp_path / "both.zip").read_bytes(), "zip") == {
        "notes.txt": notes.read_bytes(), "data.csv": data.read_bytes()}
    originals = tmp_path / "originals"
    originals.mkdir()
    fetched = cli.json("get", str(archive_task["id"]), "--original", "-o", str(originals))
    assert sorted(Path(path).name for path in fetched["paths"]) == ["data.csv", "notes.txt"]
    assert (originals / "notes.txt").read_bytes() == notes.read_bytes()

    removed = cli.run("rm", str(archive_task["id"]))
    assert removed.returncode == 0 and removed.stdout.strip() == f"deleted task {archive_task['id']}"
    gone = cli.run("get", str(archive_task["id"]))
    assert gone.returncode == 4
    assert gone.stderr.strip() == f"comprimemelo: task {archive_task['id']} not found (HTTP 404 not_found)"
    assert cli.json("rm", "999999", status=4) == {"deleted": []}


def test_listing_follows_the_cursor_through_every_page_with_the_filters(cli, base_url, tmp_path):
    names = [f"report-{n}.txt" for n in range(5)] + ["photo.csv"]
    for name in names:
        (tmp_path / name).write_bytes(name.encode() * 500)
    submitted = cli.json("submit", *(str(tmp_path / name) for name in names), "--format", "zip", "--wait")
    ids = sorted((task["id"] for task in submitted["tasks"]), reverse=True)
    by_name = {task["filename"]: task["id"] for task in submitted["tasks"]}
    client = Client(base_url, cli.token())

    assert [task.id for task in client.iter_tasks(page_size=2)] == ids  # three pages of two
    assert [task.id for task in client.iter_tasks(search="report", newest_first=False, page_size=2)] == \
        sorted(by_name[name] for name in names if name.startswith("report"))
    assert list(client.iter_tasks(status="failed", page_size=2)) == []

    assert [task["id"] for task in cli.json("tasks", "--max", "2")] == ids[:2]  # the default: one page
    assert [task["id"] for task in cli.json("tasks", "--all", "--status", "processed")] == ids
    assert [task["id"] for task in cli.json("tasks", "--all", "--search", "PHOTO")] == [by_name["photo.csv"]]
    refused = cli.run("tasks", "--status", "lost")
    assert refused.returncode != 0 and "status" in refused.stderr and "Traceback" not in refused.stderr, refused


def test_a_killed_chunked_upload_resumes_where_it_stopped(cli, base_url, tmp_path):
    big = tmp_path / "big.bin"
    big.write_bytes(os.urandom(BIG_BYTES))
    with throttled(base_url, SLOW_LINK_BYTES_PER_SECOND) as link:
        assert cli.login(link.url, cli.username).returncode == 0
        first = cli.start("submit", str(big), "--format", "tar.gz", "--chunked", "--quiet")
        upload_id = wait_for_journaled_upload(cli)
        deadline = time.monotonic() + DEADLINE_SECONDS
        while api(cli, base_url, "GET", f"/api/uploads/{upload_id}").json()["offset"] < 4 * CHUNK_BYTES:
            assert time.monotonic() < deadline and first.poll() is None, first.communicate()
            time.sleep(0.1)
        first.send_signal(signal.SIGKILL)
        first.communicate()
        stopped_at = settled_offset(SimpleNamespace(
            offset=lambda: api(cli, base_url, "GET", f"/api/uploads/{upload_id}").json()["offset"]))
        assert 0 < stopped_at < BIG_BYTES
        link.rate = 1e12  # the link is fast again
        sent_before = link.sent
        out = tmp_path / "out"
        out.mkdir()
        result = cli.json("submit", str(big), "--format", "tar.gz", "--chunked", "--wait", "--download", str(out))
        resent = link.sent - sent_before
    assert result["resumed"] == [{"file": str(big), "offset": stopped_at}]
    assert resent < BIG_BYTES - stopped_at + CHUNK_BYTES  # only what was missing, and requests' overhead
    [task] = result["tasks"]
    assert task["status"] == "processed" and task["size_original"] == BIG_BYTES
    assert read_members((out / "big.bin.tar.gz").read_bytes(), "tar.gz") == {"big.bin": big.read_bytes()}
    assert json.loads(cli.journal.read_text()) == {}  # the task is made: nothing left to resume
    assert stat.S_IMODE(cli.journal.stat().st_mode) == 0o600


def test_a_connection_broken_mid_chunk_is_resumed_in_the_same_run(cli, base_url, tmp_path):
    big = tmp_path / "big.bin"
    big.write_bytes(os.urandom(BIG_BYTES))
    with throttled(base_url, 1e12) as link:
        assert cli.login(link.url, cli.username).returncode == 0
        link.break_once_after(5 * CHUNK_BYTES + 1000)
        result = cli.json("submit", str(big), "--format", "7z", "--level", "fastest", "--retention-hours", "2",
                          "--chunked", "--wait", "--download", str(tmp_path))
        assert link.broken
    [task] = result["tasks"]
    assert task["status"] == "processed" and task["size_original"] == BIG_BYTES
    assert task["level"] == 1  # the options went with the chunked path's JSON body too
    assert read_members((tmp_path / "big.bin.7z").read_bytes(), "7z") == {"big.bin": big.read_bytes()}


def test_errors_are_one_line_with_their_exit_status(cli, base_url, tmp_path):
    over = tmp_path / "over-quota.bin"
    with open(over, "wb") as handle:
        handle.truncate(QUOTA_BYTES + 1)  # sparse: the refusal comes before any byte is sent
    quota = cli.run("submit", str(over), "--format", "zip", "--chunked")
    assert quota.returncode == 5, quota
    [line] = quota.stderr.splitlines()
    assert line.startswith("comprimemelo: ") and line.endswith("(HTTP 413 quota_exceeded)")
    refused = cli.json("submit", str(over), "--format", "zip", "--chunked", status=5)
    assert refused["error"]["code"] == "quota_exceeded" and refused["error"]["limit"] == QUOTA_BYTES
    small = tmp_path / "small.txt"
    small.write_text("small")
    level = cli.run("submit", str(small), "--format", "zip", "--level", "99")
    assert level.returncode == 6 and "invalid_level" in level.stderr
    assert cli.run("submit", str(tmp_path / "missing.txt"), "--format", "zip").returncode == 1
    assert cli.run("get", "123456789").returncode == 4

    stored = json.loads(cli.credentials.read_text())
    cli.credentials.write_text(json.dumps({**stored, "expires_at": time.time() - 1}))
    expired = cli.run("tasks")
    assert expired.returncode == 3 and "expired" in expired.stderr
    cli.credentials.write_text(json.dumps({**stored, "token": "not-a-token"}))
    refused_token = cli.run("tasks")
    assert refused_token.returncode == 3 and "log in again" in refused_token.stderr
    unreachable = cli.login(f"http://127.0.0.1:{free_port()}", "nobody")
    assert unreachable.returncode == 8
    assert unreachable.stderr.strip().endswith("Connection refused"), unreachable.stderr
    usage = cli.run("submit", str(small))
    assert usage.returncode == 2 and "--format" in usage.stderr


def test_progress_bars_show_on_a_terminal_only(cli, tmp_path):
    big = tmp_path / "big.bin"
    big.write_bytes(os.urandom(BIG_BYTES))
    shown = run_in_terminal(cli, "submit", str(big), "--format", "tar.xz", "--chunked", "--wait",
                            "--download", str(tmp_path))
    for bar in ("uploading big.bin", "compressing task", "downloading big.bin"):
        assert re.search(rf"{bar}.*100%", shown), shown
    plain = cli.run("submit", str(big), "--format", "tar.xz", "--wait")
    assert plain.returncode == 0 and "━" not in plain.stderr + plain.stdout and "%" not in plain.stderr


def wait_for_journaled_upload(cli: RemoteCli) -> str:
    deadline = time.monotonic() + DEADLINE_SECONDS
    while time.monotonic() < deadline:
        if cli.journal.exists() and (entries := json.loads(cli.journal.read_text())):
            [entry] = entries.values()
            return entry["id"]
        time.sleep(0.05)
    raise AssertionError("the upload was never journaled")


def run_in_terminal(cli: RemoteCli, *args: str) -> str:
    """What a person sees on the terminal (escape sequences removed) when the command ends."""
    import subprocess

    leader, follower = pty.openpty()
    process = subprocess.Popen(cli.command(*args), env=cli.env, stdin=subprocess.DEVNULL, stdout=follower,
                               stderr=follower, cwd=cli.home)
    os.close(follower)
    seen = b""
    while True:
        try:
            data = os.read(leader, 65536)
        except OSError:  # the terminal closed with the process
            break
        if not data:
            break
        seen += data
    os.close(leader)
    assert process.wait(DEADLINE_SECONDS) == 0, seen
    return re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", seen.decode(errors="replace"))
