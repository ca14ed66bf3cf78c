"""Our tar writer writes, byte for byte, what tarfile writes in PAX format."""

from __future__ import annotations

import io
import os
import tarfile

import pytest

from comprimemelo.compression.tar import FILE_MODE, member_header, write_tar


def tarfile_stream(members: list[tuple[str, bytes, int]]) -> bytes:
    stream = io.BytesIO()
    with tarfile.open(fileobj=stream, mode="w", format=tarfile.PAX_FORMAT) as archive:
        for name, data, mtime in members:
            info = tarfile.TarInfo(name)
            info.size, info.mtime, info.mode = len(data), mtime, FILE_MODE
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            archive.addfile(info, io.BytesIO(data))
    return stream.getvalue()


def our_stream(tmp_path, members: list[tuple[str, bytes, int]]) -> bytes:
    paths = []
    for index, (name, data, mtime) in enumerate(members):
        path = tmp_path / f"in-{index}"
        path.write_bytes(data)
        os.utime(path, (mtime, mtime))
        paths.append((str(path), name))
    stream, advanced = io.BytesIO(), []
    write_tar(paths, stream, advanced.append)
    assert sum(advanced) == sum(len(data) for _, data, _ in members)
    return stream.getvalue()


NAMES = [
    "a.txt",
    "x" * 100,  # fits ustar exactly
    "y" * 101,  # a PAX path
    "ñandú résumé ✓.txt",  # not ASCII: a PAX path
    "d" * 300 + "é",  # long and not ASCII
    "z" * 93,  # a PAX record whose length crosses 99 -> 100 (its own digits)
    "undecodable-\udcff.bin",  # a surrogate-escaped byte: hdrcharset=BINARY
]


@pytest.mark.parametrize("name", NAMES, ids=range(len(NAMES)))
@pytest.mark.parametrize("size", [0, 1, 511, 512, 513, 3000])
def test_a_member_is_what_tarfile_writes(tmp_path, name, size):
    members = [(name, os.urandom(size), 1_700_000_000)]
    assert our_stream(tmp_path, members) == tarfile_stream(members)


def test_several_members_end_with_the_same_record_padding_as_tarfile(tmp_path):
    members = [(f"file-{i}", os.urandom(i * 700), 1_600_000_000 + i) for i in range(25)]
    assert our_stream(tmp_path, members) == tarfile_stream(members)


@pytest.mark.parametrize("mtime", [0, 8**11 - 1, 8**11, 7_258_118_400, -1])
def test_mtimes_ustar_cannot_hold_go_to_a_pax_record_as_tarfile_does(tmp_path, mtime):
    members = [("t", b"data", mtime)]
    assert our_stream(tmp_path, members) == tarfile_stream(members)


@pytest.mark.parametrize("size", [8**11 - 1, 8**11, 20 * 2**30])
def test_sizes_of_8_gib_and_more_are_pax_records_that_tarfile_reads_back(size):
    header = member_header("big.bin", size, 1_700_000_000)
    info = tarfile.TarFile(fileobj=io.BytesIO(header + bytes(1024)), mode="r").next()
    assert (info.name, info.size, info.mtime, info.mode) == ("big.bin", size, 1_700_000_000, FILE_MODE)


def test_a_file_that_shrinks_while_archived_is_an_error_not_a_short_member(tmp_path):
    path = tmp_path / "shrinking"
    path.write_bytes(b"x" * 5000)

    class Truncating(io.BytesIO):
        def write(self, data):
            if len(data) == 512:  # the header: the data is read next
                path.write_bytes(b"x" * 10)
            return super().write(data)

    with pytest.raises(OSError, match="shorter"):
        write_tar([(str(path), "shrinking")], Truncating(), lambda count: None)
