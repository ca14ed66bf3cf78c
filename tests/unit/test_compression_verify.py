"""Archive passwords: one rule for what a password may hold, and the proof that
an archive said to be encrypted opens only with its password."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile

import pytest
import pyzipper

from comprimemelo.compression import ArchiveFormat, CompressionError, InputFile, compress, sevenzip
from comprimemelo.compression.encryption import check_password
from comprimemelo.compression.verify import NotEncrypted, prove_encrypted

PASSWORD = "ñandú 🦤 & friends"


@pytest.fixture
def inputs(tmp_path):
    made = []
    for index, (name, data) in enumerate({"a.txt": b"the numbers " * 500, "empty": b""}.items()):
        path = tmp_path / f"in{index}"
        path.write_bytes(data)
        made.append(InputFile(path, name))
    return made


@pytest.mark.parametrize("password", ["\x00secret", "sec\x00ret", "tab\there", "new\nline", "bell\x07",
                                      "zero\u200bwidth", "line\u2028sep", "para\u2029sep", "bidi\u202eflip",
                                      "private\ue000use", "soft\u00adhyphen"])
@pytest.mark.parametrize("fmt", [ArchiveFormat.ZIP, ArchiveFormat.SEVEN_Z])
def test_passwords_with_control_or_invisible_characters_are_refused(tmp_path, inputs, fmt, password):
    with pytest.raises(CompressionError, match="control or invisible characters"):
        check_password(fmt, password)
    with pytest.raises(CompressionError, match="control or invisible characters"):
        compress(inputs, tmp_path / f"out{fmt.extension}", fmt, password=password)
    assert not list(tmp_path.glob("out*")) and not list(tmp_path.glob(".out*"))


def test_printable_unicode_passwords_pass_the_check():
    for password in (PASSWORD, "   spaces   ", "日本語のパスワード", "x" * 256):
        check_password(ArchiveFormat.SEVEN_Z, password)


@pytest.mark.parametrize("fmt", [ArchiveFormat.ZIP, ArchiveFormat.SEVEN_Z])
def test_an_encrypted_archive_is_proved_to_open_with_its_password_only(tmp_path, inputs, fmt):
    output = tmp_path / f"secret{fmt.extension}"
    compress(inputs, output, fmt, level=1, password=PASSWORD)
    prove_encrypted(output, fmt, PASSWORD, members=2)
    with pytest.raises(NotEncrypted, match="does not open with the password"):
        prove_encrypted(output, fmt, PASSWORD + "!", members=2)
    with pytest.raises(NotEncrypted, match="members, not 3"):
        prove_encrypted(output, fmt, PASSWORD, members=3)


@pytest.mark.parametrize("fmt", [ArchiveFormat.ZIP, ArchiveFormat.SEVEN_Z])
def test_a_plain_archive_is_refused_by_the_prover(tmp_path, inputs, fmt):
    output = tmp_path / f"plain{fmt.extension}"
    compress(inputs, output, fmt, level=1)
    with pytest.raises(NotEncrypted, match="not encrypted"):
        prove_encrypted(output, fmt, PASSWORD, members=2)


def test_a_zip_with_one_member_left_plain_is_refused(tmp_path, inputs):
    output = tmp_path / "half.zip"
    compress(inputs, output, ArchiveFormat.ZIP, password=PASSWORD)
    with zipfile.ZipFile(output, "a") as archive:
        archive.writestr("readable.txt", b"anyone can read this")
    with pytest.raises(NotEncrypted, match="'readable.txt' is not encrypted"):
        prove_encrypted(output, ArchiveFormat.ZIP, PASSWORD, members=3)


def test_a_zip_with_weaker_aes_is_refused(tmp_path):
    output = tmp_path / "aes128.zip"
    with pyzipper.AESZipFile(output, "w", compression=pyzipper.ZIP_DEFLATED) as archive:
        archive.setpassword(PASSWORD.encode())
        archive.setencryption(pyzipper.WZ_AES, nbits=128)
        archive.writestr("a.txt", b"x" * 100)
    with pytest.raises(NotEncrypted, match="not AES-256"):
        prove_encrypted(output, ArchiveFormat.ZIP, PASSWORD, members=1)


def write_7z_with_engine(tmp_path, inputs, password: str, encrypt_headers: bool = True):
    """Run 7-Zip's engine directly, with no check in front of it (as the core
    did before passwords were checked), optionally with plain headers."""
    output = tmp_path / "engine.7z"
    output.touch()
    script = (
        "import json, sys, pybit7z\n"
        "from comprimemelo.compression import bit7z_process\n"
        "job = json.load(sys.stdin)\n"
        "if not job.pop('encrypt_headers'):\n"
        "    pybit7z.EncryptionScope.DataAndHeaders = pybit7z.EncryptionScope.DataOnly\n"
        "sys.exit(bit7z_process.run(job, sys.stdout))\n"
    )
    job = {"inputs": [[str(item.path), item.arcname] for item in inputs], "output": str(output), "level": 1,
           "method": "", "password": password, "encrypt_headers": encrypt_headers,
           "engine": sevenzip.engine_dir()}
    subprocess.run([sys.executable, "-c", script], input=json.dumps(job).encode(), check=True, capture_output=True)
    return output


def test_a_7z_whose_engine_cut_the_password_at_a_nul_is_refused(tmp_path, inputs):
    """The bug: 7-Zip's engine takes "\\x00secret" as the empty password, and the archive opens without one."""
    output = write_7z_with_engine(tmp_path, inputs, "\x00secret")
    with pytest.raises(NotEncrypted, match="does not open with the password"):
        prove_encrypted(output, ArchiveFormat.SEVEN_Z, "secret", members=2)
    with pytest.raises(CompressionError, match="control or invisible"):
        prove_encrypted(output, ArchiveFormat.SEVEN_Z, "\x00secret", members=2)


def test_a_7z_with_readable_headers_is_refused(tmp_path, inputs):
    output = write_7z_with_engine(tmp_path, inputs, PASSWORD, encrypt_headers=False)
    with pytest.raises(NotEncrypted, match="header is not encrypted"):
        prove_encrypted(output, ArchiveFormat.SEVEN_Z, PASSWORD, members=2)


def test_a_file_that_is_no_archive_is_refused(tmp_path):
    junk = tmp_path / "junk"
    junk.write_bytes(b"not an archive at all" * 10)
    for fmt in (ArchiveFormat.ZIP, ArchiveFormat.SEVEN_Z):
        with pytest.raises(NotEncrypted):
            prove_encrypted(junk, fmt, PASSWORD, members=1)


def test_the_engines_get_the_passwords_exact_bytes(tmp_path, inputs):
    """7-Zip's own CLI opens both archives with the password as typed (UTF-8, astral characters too)."""
    import shutil

    tool = shutil.which("7zz") or shutil.which("7z")
    if tool is None:
        from tests.conftest import require_or_skip

        require_or_skip("7-Zip (7zz) is not installed")
    for fmt in (ArchiveFormat.ZIP, ArchiveFormat.SEVEN_Z):
        output = tmp_path / f"exact{fmt.extension}"
        compress(inputs, output, fmt, password=PASSWORD)
        assert subprocess.run([tool, "t", f"-p{PASSWORD}", str(output)], capture_output=True).returncode == 0
        assert subprocess.run([tool, "t", f"-p{PASSWORD[:-1]}", str(output)], capture_output=True).returncode != 0
