"""Encrypted archives: AES-256 that independent readers open with the password only."""

from __future__ import annotations

import os
import shutil
import subprocess

import py7zr
import pytest
import pyzipper

from comprimemelo.compression import ArchiveFormat, CompressionError, InputFile, compress
from tests.conftest import require_or_skip

PASSWORD = "ñandú & friends: 42"
SECRET_TEXT = b"the quarterly numbers nobody may read " * 2000


@pytest.fixture
def inputs(tmp_path):
    files = {"report.txt": SECRET_TEXT, "noise.bin": os.urandom(300_000), "empty": b""}
    made = []
    for index, (name, data) in enumerate(files.items()):
        path = tmp_path / f"in{index}"
        path.write_bytes(data)
        made.append(InputFile(path, name))
    return files, made


def seven_zip():
    tool = shutil.which("7zz") or shutil.which("7z")
    if tool is None:
        require_or_skip("7-Zip (7zz) is not installed")
    return tool


def test_zip_is_winzip_aes_256_and_opens_with_the_password_only(tmp_path, inputs):
    files, made = inputs
    output = tmp_path / "secret.zip"
    compress(made, output, ArchiveFormat.ZIP, password=PASSWORD)
    raw = output.read_bytes()
    assert b"quarterly numbers" not in raw
    with pyzipper.AESZipFile(output) as archive:
        for info in archive.infolist():
            assert info.flag_bits & 0x1  # encrypted (AES, not ZipCrypto: 7-Zip's listing below)
        archive.setpassword(PASSWORD.encode())
        assert {name: archive.read(name) for name in archive.namelist()} == files
        archive.setpassword(b"wrong")
        with pytest.raises(RuntimeError):
            archive.read("report.txt")
    listing = subprocess.run(
        [seven_zip(), "l", "-slt", f"-p{PASSWORD}", str(output)], capture_output=True, text=True, check=True
    ).stdout
    assert "Method = AES-256 Deflate" in listing
    assert subprocess.run([seven_zip(), "t", f"-p{PASSWORD}", str(output)], capture_output=True).returncode == 0
    assert subprocess.run([seven_zip(), "t", "-pwrong", str(output)], capture_output=True).returncode != 0


def test_7z_hides_names_and_data_behind_aes_256(tmp_path, inputs):
    files, made = inputs
    output = tmp_path / "secret.7z"
    compress(made, output, ArchiveFormat.SEVEN_Z, level=3, password=PASSWORD)
    raw = output.read_bytes()
    assert b"quarterly numbers" not in raw
    assert "report.txt".encode("utf-16-le") not in raw  # encrypted headers
    with py7zr.SevenZipFile(output, password=PASSWORD) as archive:
        assert archive.needs_password()
        archive.extractall(path=tmp_path / "out")
    assert {path.name: path.read_bytes() for path in (tmp_path / "out").iterdir()} == files
    # Without the password 7-Zip cannot even list the names.
    listing = subprocess.run([seven_zip(), "l", "-pwrong", str(output)], capture_output=True, text=True)
    assert listing.returncode != 0 and "report.txt" not in listing.stdout
    assert subprocess.run([seven_zip(), "t", f"-p{PASSWORD}", str(output)], capture_output=True).returncode == 0


@pytest.mark.parametrize("fmt", [ArchiveFormat.TAR_GZ, ArchiveFormat.TAR_ZST, ArchiveFormat.TAR_XZ])
def test_formats_without_encryption_refuse_a_password_and_write_nothing(tmp_path, inputs, fmt):
    _, made = inputs
    with pytest.raises(CompressionError, match="only zip and 7z"):
        compress(made, tmp_path / "out", fmt, password=PASSWORD)
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("password", ["", "x" * 257])
def test_unusable_passwords_are_refused(tmp_path, inputs, password):
    _, made = inputs
    with pytest.raises(CompressionError, match="password"):
        compress(made, tmp_path / "out.zip", ArchiveFormat.ZIP, password=password)


def test_progress_reaches_the_total_when_encrypting(tmp_path, inputs):
    files, made = inputs
    seen = []
    compress(made, tmp_path / "p.zip", ArchiveFormat.ZIP, password=PASSWORD, progress=lambda d, t: seen.append((d, t)))
    total = sum(len(data) for data in files.values())
    assert seen[-1] == (total, total)
