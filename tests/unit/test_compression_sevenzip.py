"""The 7z container writer: encodings checked against 7-Zip's 7zFormat.txt."""

from __future__ import annotations

import os
import shutil
import subprocess

import py7zr
import pytest

from comprimemelo.compression import ArchiveFormat, InputFile, compress
from comprimemelo.compression.sevenzip import number
from tests.conftest import require_or_skip


@pytest.mark.parametrize(
    "value, encoded",
    [
        (0, "00"),
        (0x7F, "7f"),
        (0x80, "8080"),
        (0x3FFF, "bfff"),
        (0x4000, "c00040"),
        (0x1234567, "e1674523"),
        (2**56 - 1, "feffffffffffffff"),
        (2**64 - 1, "ffffffffffffffffff"),
    ],
)
def test_numbers_use_the_7z_variable_length_encoding(value, encoded):
    assert number(value).hex() == encoded


def test_a_small_archive_asks_readers_for_a_small_dictionary(tmp_path):
    source = tmp_path / "in"
    source.write_bytes(b"tiny")
    output = tmp_path / "out.7z"
    compress([InputFile(source, "in")], output, ArchiveFormat.SEVEN_Z, 9)
    with py7zr.SevenZipFile(output) as archive:
        (folder,) = archive.header.main_streams.unpackinfo.folders
        (coder,) = folder.coders
    assert coder["method"] == b"\x21" and coder["properties"][0] <= 1  # LZMA2, at most 6 KiB


def test_7zip_lists_every_file_with_its_size(tmp_path):
    seven_zip = shutil.which("7zz") or shutil.which("7z")
    if seven_zip is None:
        require_or_skip("7-Zip (7zz) is not installed")
    files = {"empty": b"", "one": b"1" * 10, "two": os.urandom(5000), "ñ.txt": b"x"}
    inputs = []
    for index, (name, data) in enumerate(files.items()):
        path = tmp_path / f"in{index}"
        path.write_bytes(data)
        inputs.append(InputFile(path, name))
    output = tmp_path / "out.7z"
    compress(inputs, output, ArchiveFormat.SEVEN_Z)
    listing = subprocess.run(
        [seven_zip, "l", "-slt", str(output)], capture_output=True, text=True, check=True
    ).stdout
    for name, data in files.items():
        assert f"Path = {name}\nSize = {len(data)}\n" in listing
