"""7z archives: 7-Zip's engine in a child process, its blocks, and what happens when things go wrong."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import py7zr
import pytest

from comprimemelo.compression import ArchiveFormat, CompressionError, InputFile, compress
from comprimemelo.compression import bit7z_process, sevenzip
from comprimemelo.compression.sevenzip import CHILD_ENVIRONMENT, MIB, block_bytes, method
from tests.conftest import require_or_skip

CHILD_WAIT_SECONDS = 30
# Far less than 7-Zip needs for the 64 MiB the parent-death test gives it.
STOP_SECONDS = 5


def seven_zip() -> str:
    tool = shutil.which("7zz") or shutil.which("7z")
    if tool is None:
        require_or_skip("7-Zip (7zz) is not installed")
    return tool


def children_running_7zip(parent: int | None = None) -> list[int]:
    """Pids of live 7-Zip child processes (of ``parent``, if given), from /proc."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            command = (entry / "cmdline").read_bytes().split(b"\0")
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if sevenzip.CHILD_SCRIPT.encode() in command and state[0] != "Z":
            if parent is None or int(state[1]) == parent:
                found.append(int(entry.name))
    return found


def wait_until(condition, seconds: float = CHILD_WAIT_SECONDS) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


def test_a_64_mib_input_is_one_block_per_thread():
    assert block_bytes(5, 64 * MIB, 2) == 32 * MIB
    assert method(5, 64 * MIB, 2) == "LZMA2:c=32m:mt=4"  # two threads (match finder, coder) a block


def test_blocks_stay_large_enough_for_the_ratio_and_small_enough_for_memory():
    assert block_bytes(5, 5 * MIB, 2) == sevenzip.MIN_BLOCK_BYTES
    assert block_bytes(1, 2**31, 2) == sevenzip.MIN_BLOCK_BYTES  # two 256 KiB dictionaries
    assert block_bytes(5, 2**31, 2) == sevenzip.MAX_BLOCK_BYTES
    assert block_bytes(9, 2**31, 2) == sevenzip.MAX_BLOCK_BYTES


def test_one_thread_is_one_encoder_thread_and_level_0_stores():
    assert method(5, 64 * MIB, 1) == "LZMA2:mt=1"
    assert method(0, 64 * MIB, 2) == ""


def test_a_small_archive_asks_readers_for_a_small_dictionary(tmp_path):
    source = tmp_path / "in"
    source.write_bytes(b"tiny")
    output = tmp_path / "out.7z"
    compress([InputFile(source, "in")], output, ArchiveFormat.SEVEN_Z, 9)
    with py7zr.SevenZipFile(output) as archive:
        (folder,) = archive.header.main_streams.unpackinfo.folders
        (coder,) = folder.coders
    assert coder["method"] == b"\x21" and coder["properties"][0] <= 1  # LZMA2, at most 6 KiB


def test_level_0_stores_the_files(tmp_path):
    source = tmp_path / "in"
    source.write_bytes(b"abc" * 10_000)
    output = tmp_path / "out.7z"
    compress([InputFile(source, "in")], output, ArchiveFormat.SEVEN_Z, 0)
    listing = subprocess.run([seven_zip(), "l", "-slt", str(output)], capture_output=True, text=True, check=True)
    assert "Method = Copy" in listing.stdout
    assert output.stat().st_size > 30_000


def test_7zip_lists_every_file_with_its_size(tmp_path):
    files = {"empty": b"", "one": b"1" * 10, "two": os.urandom(5000), "ñ.txt": b"x"}
    inputs = []
    for index, (name, data) in enumerate(files.items()):
        path = tmp_path / f"in{index}"
        path.write_bytes(data)
        inputs.append(InputFile(path, name))
    output = tmp_path / "out.7z"
    compress(inputs, output, ArchiveFormat.SEVEN_Z)
    listing = subprocess.run(
        [seven_zip(), "l", "-slt", str(output)], capture_output=True, text=True, check=True
    ).stdout
    for name, data in files.items():
        assert f"Path = {name}\nSize = {len(data)}\n" in listing


def test_members_carry_no_server_file_modes(tmp_path):
    source = tmp_path / "in"
    source.write_bytes(b"private on the server")
    source.chmod(0o600)
    output = tmp_path / "out.7z"
    compress([InputFile(source, "in")], output, ArchiveFormat.SEVEN_Z)
    listing = subprocess.run([seven_zip(), "l", "-slt", str(output)], capture_output=True, text=True, check=True)
    assert "Path = in\n" in listing.stdout
    assert "-rw-------" not in listing.stdout and "Attributes = " not in listing.stdout


def test_7zips_engine_stays_out_of_the_callers_process(tmp_path):
    # pybit7z holds the GIL while it compresses: loaded here, it would stall
    # every other thread of the worker (leases, other tasks) or of the web.
    source = tmp_path / "in"
    source.write_bytes(os.urandom(100_000))
    compress([InputFile(source, "in")], tmp_path / "out.7z", ArchiveFormat.SEVEN_Z)
    # Proving an encrypted one opens it with 7-Zip's engine: in the child too.
    compress([InputFile(source, "in")], tmp_path / "secret.7z", ArchiveFormat.SEVEN_Z, password="a secret")
    from comprimemelo.compression.verify import prove_encrypted

    prove_encrypted(tmp_path / "secret.7z", ArchiveFormat.SEVEN_Z, "a secret", members=1)
    assert "pybit7z" not in sys.modules
    assert "lib7zip" not in Path("/proc/self/maps").read_text()


# What ``import pybit7z`` and ``python -m`` load and the child does without:
# its start-up is most of an empty 7z's.
CHILD_SKIPS = ("site", "json", "re", "pathlib", "typing", "importlib_metadata", "comprimemelo", "pybit7z")


def test_the_7zip_child_starts_without_site_json_or_pybit7zs_package(tmp_path):
    source = tmp_path / "empty"
    source.touch()
    output = tmp_path / "out.7z"
    output.touch()
    job = {"inputs": [[str(source), "empty"]], "output": str(output), "level": 5, "method": method(5, 0, 2),
           "password": None, "memory_bytes": 512 * MIB, "engine": sevenzip.engine_dir()}
    command = sevenzip.child_command()
    child = subprocess.run([command[0], "-X", "importtime", *command[1:]], input=bit7z_process.encode_job(job),
                           capture_output=True, env={**os.environ, **CHILD_ENVIRONMENT}, check=True)
    imported = {line.rsplit("|", 1)[1].strip() for line in child.stderr.decode().splitlines() if "|" in line}
    assert sorted(name for name in imported if name.split(".")[0] in CHILD_SKIPS) == []
    assert py7zr.SevenZipFile(output).getnames() == ["empty"]


def test_a_7zip_child_without_its_engine_is_a_clear_error_and_no_file(tmp_path, monkeypatch):
    monkeypatch.setattr(sevenzip, "engine_dir", lambda: str(tmp_path / "not-pybit7z"))
    source = tmp_path / "in"
    source.write_bytes(b"x" * 1000)
    output = tmp_path / "out" / "out.7z"
    output.parent.mkdir()
    with pytest.raises(CompressionError, match="engine could not be loaded: .*not-pybit7z"):
        compress([InputFile(source, "in")], output, ArchiveFormat.SEVEN_Z)
    assert list(output.parent.iterdir()) == []


def test_only_the_childs_own_lines_are_read_as_messages():
    assert bit7z_process.read_message(b'{"done": 1048576}\n') == {"done": 1048576}
    assert bit7z_process.read_message(b'{"error": "no space left"}\n') == {"error": "no space left"}
    # 7-Zip's library or a traceback on the shared pipe: kept as detail, never a message.
    for line in (b"Traceback (most recent call last):\n", b'{"done": -1}\n', b"{not json}\n", b"[1, 2]\n",
                 b'{"done": 12'):
        assert bit7z_process.read_message(line) is None


def test_the_password_reaches_7zip_on_its_stdin_only(tmp_path, monkeypatch):
    seen = []
    real_popen = subprocess.Popen

    def watching_popen(args, **options):
        seen.append((args, options.get("env")))
        return real_popen(args, **options)

    monkeypatch.setattr(sevenzip.subprocess, "Popen", watching_popen)
    source = tmp_path / "in"
    source.write_bytes(b"secret " * 1000)
    compress([InputFile(source, "in")], tmp_path / "out.7z", ArchiveFormat.SEVEN_Z, password="hunter2-ñ")
    ((args, env),) = seen
    assert not any("hunter2" in arg for arg in args)
    assert env == {**os.environ, **CHILD_ENVIRONMENT}  # the caller's environment (no password) and malloc's arena cap
    with py7zr.SevenZipFile(tmp_path / "out.7z", password="hunter2-ñ") as archive:
        archive.extractall(path=tmp_path / "extracted")
    assert (tmp_path / "extracted" / "in").read_bytes() == b"secret " * 1000


def test_an_input_7zip_cannot_read_fails_cleanly_and_leaves_no_file(tmp_path):
    folder = tmp_path / "a-folder"
    folder.mkdir()
    output = tmp_path / "out" / "out.7z"
    output.parent.mkdir()
    with pytest.raises(CompressionError, match="7-Zip could not write the archive"):
        compress([InputFile(folder, "not-a-file")], output, ArchiveFormat.SEVEN_Z)
    assert list(output.parent.iterdir()) == []


def test_a_progress_callback_that_raises_stops_7zip_and_leaves_no_file(tmp_path):
    source = tmp_path / "big"
    source.write_bytes(os.urandom(24 * MIB))
    output = tmp_path / "out" / "out.7z"
    output.parent.mkdir()

    class Cancelled(Exception):
        pass

    def cancel(done, total):
        if done:
            raise Cancelled

    with pytest.raises(Cancelled):
        compress([InputFile(source, "big")], output, ArchiveFormat.SEVEN_Z, 9, progress=cancel)
    assert children_running_7zip(os.getpid()) == []
    assert list(output.parent.iterdir()) == []


def test_7zip_stops_when_its_parent_dies(tmp_path):
    source = tmp_path / "big"
    source.write_bytes(os.urandom(64 * MIB))
    script = textwrap.dedent(f"""
        from comprimemelo.compression import ArchiveFormat, InputFile, compress
        compress([InputFile({str(source)!r}, "big")], {str(tmp_path / "out.7z")!r}, ArchiveFormat.SEVEN_Z, 9)
    """)
    parent = subprocess.Popen([sys.executable, "-c", script])
    try:
        assert wait_until(lambda: children_running_7zip(parent.pid)), "7-Zip's process never started"
        (child,) = children_running_7zip(parent.pid)
        parent.send_signal(signal.SIGKILL)
        parent.wait()
        # Its next progress line finds no reader, and it tells 7-Zip to stop.
        assert wait_until(lambda: child not in children_running_7zip(), STOP_SECONDS)
    finally:
        parent.kill()
        parent.wait()
