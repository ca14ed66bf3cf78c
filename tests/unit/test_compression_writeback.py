"""Archives start reaching the disk while they grow, so the final fsync waits for little."""

from __future__ import annotations

import os
import sys

import pytest

from comprimemelo.compression import ArchiveFormat, InputFile, compress, writeback
from comprimemelo.compression.writeback import WRITEBACK_BYTES, EarlyWriteback

MIB = 1024 * 1024


@pytest.fixture
def requests(monkeypatch):
    """Each writeback request: the file's size on disk when it was made."""
    made = []

    def record(fd, offset, length, flags):
        assert (offset, length, flags) == (0, 0, writeback.SYNC_FILE_RANGE_WRITE)
        made.append(os.fstat(fd).st_size)
        return 0

    monkeypatch.setattr(writeback, "_SYNC_FILE_RANGE", record)
    return made


def test_writing_is_started_every_8_mib_with_the_bytes_flushed_first(tmp_path, requests):
    with open(tmp_path / "out", "wb") as file:
        sink = EarlyWriteback(file)
        for _ in range(20):
            assert sink.write(b"x" * MIB) == MIB
    assert requests == [WRITEBACK_BYTES, 2 * WRITEBACK_BYTES]


def test_everything_else_is_the_files_own(tmp_path, requests):
    with open(tmp_path / "out", "wb") as file:
        sink = EarlyWriteback(file)
        sink.write(b"abc")
        assert sink.tell() == 3 and sink.seekable() and sink.fileno() == file.fileno()
        sink.seek(0)
        sink.write(b"A")
    assert (tmp_path / "out").read_bytes() == b"Abc"


def test_compress_starts_writing_large_archives_early(tmp_path, requests):
    source = tmp_path / "in"
    source.write_bytes(os.urandom(3 * WRITEBACK_BYTES))
    compress([InputFile(source, "in")], tmp_path / "out.tar.zst", ArchiveFormat.TAR_ZST)
    assert len(requests) >= 2


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="sync_file_range is Linux's")
def test_linux_accepts_the_request_for_a_real_file(tmp_path):
    with open(tmp_path / "out", "wb") as file:
        file.write(b"x" * MIB)
        file.flush()
        assert writeback._SYNC_FILE_RANGE(file.fileno(), 0, 0, writeback.SYNC_FILE_RANGE_WRITE) == 0
