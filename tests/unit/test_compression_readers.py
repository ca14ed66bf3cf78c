"""tar.gz (many libdeflate gzip members), tar.bz2 (lbzip2) and zip (joined libdeflate
blocks) open in every reader users have: GNU tar, Python's tarfile and zipfile, Info-ZIP,
7-Zip and libarchive (bsdtar)."""

from __future__ import annotations

import os
import shutil
import subprocess
import tarfile
from pathlib import Path

import pytest

from comprimemelo.compression import ArchiveFormat, CompressionError, InputFile, compress
from comprimemelo.compression.parallel import GZIP_MEMBER_BYTES
from tests.conftest import require_or_skip

SEVEN_ZIP = shutil.which("7zz") or shutil.which("7z") or "7zz"
TAR_FORMATS = [ArchiveFormat.TAR_GZ, ArchiveFormat.TAR_BZ2]
# Several gzip members (and bzip2 blocks) per file, a file that is one member's
# tail, an empty file, a non-ASCII name.
FILES = {
    "big.bin": os.urandom(GZIP_MEMBER_BYTES // 2) + b"compressible text " * (GZIP_MEMBER_BYTES // 6),
    "small.txt": b"a few words",
    "empty": b"",
    "ñandú résumé.txt": "non-ASCII names survive".encode(),
}


def tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        require_or_skip(f"{name} is not installed (tests/install-system-deps.sh installs it)")
    return path


def make(tmp_path: Path, fmt: ArchiveFormat, files: dict[str, bytes] = FILES, **options) -> Path:
    inputs = []
    for index, (name, data) in enumerate(files.items()):
        path = tmp_path / f"in-{index}"
        path.write_bytes(data)
        inputs.append(InputFile(path, name))
    output = tmp_path / f"out{fmt.extension}"
    compress(inputs, output, fmt, threads=2, **options)
    return output


def extracted(folder: Path) -> dict[str, bytes]:
    return {str(path.relative_to(folder)): path.read_bytes() for path in folder.rglob("*") if path.is_file()}


def test_tar_gz_is_many_gzip_members(tmp_path):
    raw = make(tmp_path, ArchiveFormat.TAR_GZ).read_bytes()
    assert raw.count(b"\x1f\x8b\x08") >= 3  # what the readers below must concatenate


def extracted_by(reader: str, archive: Path) -> dict[str, bytes]:
    """What ``reader -xf ARCHIVE -C FOLDER`` (GNU tar, bsdtar) extracts."""
    out = archive.parent / reader
    out.mkdir()
    subprocess.run([tool(reader), "-xf", str(archive), "-C", str(out)], check=True, capture_output=True)
    return extracted(out)


@pytest.mark.parametrize("fmt", TAR_FORMATS, ids=str)
def test_gnu_tar_extracts_every_file(tmp_path, fmt):
    assert extracted_by("tar", make(tmp_path, fmt)) == FILES


@pytest.mark.parametrize("fmt, modes", [
    # tarfile's stream mode ("r|gz") stops after the first gzip member: seekable modes only.
    (ArchiveFormat.TAR_GZ, ["r:gz", "r:*", "r"]),
    (ArchiveFormat.TAR_BZ2, ["r:bz2", "r:*", "r", "r|bz2", "r|*"]),
], ids=str)
def test_python_tarfile_reads_every_file(tmp_path, fmt, modes):
    archive = make(tmp_path, fmt)
    for mode in modes:
        with tarfile.open(archive, mode) as reader:
            found = {member.name: reader.extractfile(member).read() for member in reader if member.isfile()}
        assert found == FILES


@pytest.mark.parametrize("fmt", TAR_FORMATS, ids=str)
def test_libarchive_bsdtar_extracts_every_file(tmp_path, fmt):
    assert extracted_by("bsdtar", make(tmp_path, fmt)) == FILES


@pytest.mark.parametrize("fmt", TAR_FORMATS, ids=str)
def test_7zip_tests_and_extracts_every_file(tmp_path, fmt):
    archive = make(tmp_path, fmt)
    seven = tool(SEVEN_ZIP)
    subprocess.run([seven, "t", str(archive)], check=True, capture_output=True)
    # 7-Zip opens the compression layer; the tar inside it is then extracted too.
    subprocess.run([seven, "x", str(archive), f"-o{tmp_path / 'layer'}"], check=True, capture_output=True)
    (inner,) = (tmp_path / "layer").iterdir()
    subprocess.run([seven, "x", str(inner), f"-o{tmp_path / '7z'}"], check=True, capture_output=True)
    assert extracted(tmp_path / "7z") == FILES


@pytest.mark.parametrize("fmt", TAR_FORMATS, ids=str)
def test_an_archive_of_empty_files_opens_everywhere(tmp_path, fmt):
    files = {"empty": b"", "also empty": b""}
    archive = make(tmp_path, fmt, files)
    with tarfile.open(archive) as reader:
        assert {member.name: reader.extractfile(member).read() for member in reader} == files
    listing = subprocess.run([tool("bsdtar"), "-tf", str(archive)], check=True, capture_output=True, text=True)
    assert sorted(listing.stdout.splitlines()) == sorted(files)


def test_tar_bz2_without_lbzip2_falls_back_in_process_and_says_so(tmp_path, monkeypatch, caplog):
    from comprimemelo.compression import archive

    tool("lbzip2")
    archive._warn_lbzip2_missing.cache_clear()
    monkeypatch.setenv("PATH", str(tmp_path / "no-tools"))  # neither lbzip2 nor prlimit
    with caplog.at_level("WARNING", logger="comprimemelo.compression.archive"):
        output = make(tmp_path, ArchiveFormat.TAR_BZ2)
    assert "lbzip2 (or prlimit) is not installed" in caplog.text
    with tarfile.open(output) as reader:
        assert {member.name: reader.extractfile(member).read() for member in reader if member.isfile()} == FILES
    archive._warn_lbzip2_missing.cache_clear()


def test_tar_bz2_progress_reaches_the_total(tmp_path):
    tool("lbzip2")
    seen = []
    make(tmp_path, ArchiveFormat.TAR_BZ2, progress=lambda done, total: seen.append((done, total)))
    total = sum(map(len, FILES.values()))
    assert seen[-1] == (total, total) and [done for done, _ in seen] == sorted(done for done, _ in seen)


def test_a_tar_bz2_that_fails_midway_leaves_no_file_and_no_lbzip2(tmp_path):
    tool("lbzip2")

    def explode(done, total):
        raise RuntimeError("stop")

    with pytest.raises(RuntimeError):
        make(tmp_path, ArchiveFormat.TAR_BZ2, progress=explode)
    assert not [path for path in tmp_path.iterdir() if path.name.startswith((".out", "out"))]
    children = subprocess.run(["pgrep", "-P", str(os.getpid()), "lbzip2"], capture_output=True, text=True)
    assert children.stdout == ""


def test_lbzip2_over_its_memory_budget_fails_the_task_and_leaves_no_file(tmp_path):
    """The cap is the kernel's (RLIMIT_AS): lbzip2 cannot even start its threads in 16 MiB."""
    import io

    from comprimemelo.compression.lbzip2 import Lbzip2Writer

    tool("lbzip2")
    with pytest.raises(CompressionError, match="memory budget is 16 MiB"):
        with Lbzip2Writer(io.BytesIO(), level=9, threads=2, memory_bytes=16 * 2**20) as writer:
            writer.write(FILES["big.bin"])
    with pytest.raises(CompressionError, match="memory budget"):
        make(tmp_path, ArchiveFormat.TAR_BZ2, memory_budget=16 * 2**20)
    assert not [path for path in tmp_path.iterdir() if path.name.startswith((".out", "out"))]


def test_lbzip2_into_a_stream_without_a_descriptor_is_relayed_whole():
    """No file descriptor to hand lbzip2: a thread copies its output into the stream."""
    import bz2
    import io

    from comprimemelo.compression.lbzip2 import Lbzip2Writer

    tool("lbzip2")
    sink = io.BytesIO()
    with Lbzip2Writer(sink, level=9, threads=2, memory_bytes=512 * 2**20) as writer:
        for _ in range(3):
            writer.write(FILES["big.bin"])
    assert bz2.decompress(sink.getvalue()) == FILES["big.bin"] * 3


SMALL_FILES = {f"dir/file {index}.bin": os.urandom(700) + b"words " * (index * 3000) for index in range(12)}
SMALL_FILES.update({"empty": b"", "ñandú.txt": "non-ASCII".encode()})


def test_a_zip_of_many_small_files_opens_in_every_reader(tmp_path):
    """Small members are deflated whole by libdeflate, several at once; they come out in order."""
    import zipfile

    seen = []
    archive = make(tmp_path, ArchiveFormat.ZIP, SMALL_FILES, progress=lambda done, total: seen.append(done))
    with zipfile.ZipFile(archive) as reader:
        assert reader.testzip() is None
        assert reader.namelist() == list(SMALL_FILES)
        assert {name: reader.read(name) for name in reader.namelist()} == SMALL_FILES
    assert seen[-1] == sum(map(len, SMALL_FILES.values()))
    subprocess.run([tool(SEVEN_ZIP), "t", str(archive)], check=True, capture_output=True)
    assert extracted_by("bsdtar", archive) == SMALL_FILES


def test_a_zip_of_small_files_that_fails_midway_leaves_no_file(tmp_path):
    def explode(done, total):
        if done > 50_000:
            raise RuntimeError("stop")

    with pytest.raises(RuntimeError):
        make(tmp_path, ArchiveFormat.ZIP, SMALL_FILES, progress=explode)
    assert not [path for path in tmp_path.iterdir() if path.name.startswith((".out", "out"))]


LARGE_FILES = {
    # Several joined libdeflate blocks each, random and compressible halves, a tail of small blocks.
    "large.bin": os.urandom(GZIP_MEMBER_BYTES) + b"compressible text " * (GZIP_MEMBER_BYTES // 5),
    "second large.txt": b"".join(b"line %d\n" % index for index in range(700_000)),
    "small.txt": b"between the large ones",
}


def test_a_zip_of_joined_libdeflate_blocks_opens_in_every_reader(tmp_path):
    """A large member is one deflate stream of libdeflate pieces (``deflate_join``):
    Info-ZIP's unzip, 7-Zip, libarchive and zipfile must all read it whole."""
    import zipfile

    archive = make(tmp_path, ArchiveFormat.ZIP, LARGE_FILES)
    with zipfile.ZipFile(archive) as reader:
        assert reader.testzip() is None
        assert {name: reader.read(name) for name in reader.namelist()} == LARGE_FILES
    subprocess.run([tool("unzip"), "-tq", str(archive)], check=True, capture_output=True)
    subprocess.run([tool(SEVEN_ZIP), "t", str(archive)], check=True, capture_output=True)
    assert extracted_by("bsdtar", archive) == LARGE_FILES
