"""The compression core, checked with independent readers and the system CLIs."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from comprimemelo.compression import (
    ArchiveFormat,
    CompressionError,
    InputFile,
    InvalidLevel,
    UnsupportedFormat,
    compress,
    sanitize_arcname,
    unique_arcnames,
)
from comprimemelo.compression.parallel import XZ_BLOCK_BYTES
from tests.archives import read_members

FORMATS = list(ArchiveFormat)
SEVEN_ZIP = shutil.which("7zz") or shutil.which("7z") or "7zz"  # Debian 12's 7zip is 7zz
CLI_TESTERS = {
    ArchiveFormat.TAR_GZ: ["gzip", "-t"],
    ArchiveFormat.TAR_BZ2: ["bzip2", "-t"],
    ArchiveFormat.TAR_XZ: ["xz", "-t"],
    ArchiveFormat.TAR_ZST: ["zstd", "-q", "-t"],
    ArchiveFormat.SEVEN_Z: [SEVEN_ZIP, "t"],
    ArchiveFormat.ZIP: [SEVEN_ZIP, "t"],
}


def write(folder: Path, name: str, data: bytes) -> Path:
    path = folder / name
    path.write_bytes(data)
    return path


def round_trip(tmp_path: Path, fmt: ArchiveFormat, files: dict[str, bytes], **options) -> dict[str, bytes]:
    inputs = [InputFile(write(tmp_path, f"in-{i}", data), name) for i, (name, data) in enumerate(files.items())]
    output = tmp_path / f"out{fmt.extension}"
    result = compress(inputs, output, fmt, **options)
    assert result.output_bytes == output.stat().st_size
    assert result.input_bytes == sum(map(len, files.values()))
    return read_members(output.read_bytes(), fmt.value)


@pytest.mark.parametrize("fmt", FORMATS, ids=str)
@pytest.mark.parametrize(
    "files",
    [
        {"empty.txt": b""},
        {"random.bin": os.urandom(300_000)},
        {"text.txt": b"the quick brown fox " * 20_000},
        {"ñandú résumé ✓.txt": "non-ASCII names survive".encode()},
        {"a.txt": b"first", "b.bin": os.urandom(1000), "c": b""},
    ],
    ids=["empty", "binary", "text", "non-ascii-name", "several-files"],
)
def test_every_format_round_trips_with_an_independent_reader(tmp_path, fmt, files):
    assert round_trip(tmp_path, fmt, files) == files


@pytest.mark.parametrize("fmt", FORMATS, ids=str)
def test_multi_block_archives_pass_the_system_cli(tmp_path, fmt):
    tester = CLI_TESTERS[fmt]
    if shutil.which(tester[0]) is None:
        if os.environ.get("CI"):
            pytest.fail(f"{tester[0]} is required in CI")
        pytest.skip(f"{tester[0]} not installed")
    data = os.urandom(XZ_BLOCK_BYTES[0]) + b"compressible " * (XZ_BLOCK_BYTES[0] // 8)
    output = tmp_path / f"big{fmt.extension}"
    level = fmt.level_range[0] if fmt is ArchiveFormat.TAR_XZ else None  # xz's smallest blocks
    compress([InputFile(write(tmp_path, "big", data), "big.bin")], output, fmt, level, threads=2)
    result = subprocess.run([*tester, str(output)], capture_output=True)
    assert result.returncode == 0, result.stderr
    assert read_members(output.read_bytes(), fmt.value) == {"big.bin": data}


@pytest.mark.parametrize("fmt", FORMATS, ids=str)
def test_every_level_in_range_is_accepted_and_outside_is_refused(tmp_path, fmt):
    low, high = fmt.level_range
    source = write(tmp_path, "in", b"abc" * 1000)
    for level in (low, high):
        compress([InputFile(source, "in")], tmp_path / f"ok{level}", fmt, level)
    with pytest.raises(InvalidLevel):
        compress([InputFile(source, "in")], tmp_path / "bad", fmt, high + 1)


def test_higher_levels_compress_text_smaller(tmp_path):
    source = write(tmp_path, "in", b"".join(b"line %d of some text\n" % i for i in range(100_000)))
    fast = compress([InputFile(source, "in")], tmp_path / "fast.tar.gz", ArchiveFormat.TAR_GZ, 1)
    small = compress([InputFile(source, "in")], tmp_path / "small.tar.gz", ArchiveFormat.TAR_GZ, 9)
    assert small.output_bytes < fast.output_bytes


def test_parallel_gzip_ratio_stays_close_to_a_single_stream(tmp_path):
    import gzip

    data = b"".join(b"record %d: value=%d status=ok\n" % (i, i * 7 % 1000) for i in range(300_000))
    output = tmp_path / "p.tar.gz"
    compress([InputFile(write(tmp_path, "in", data), "in")], output, ArchiveFormat.TAR_GZ, 6, threads=2)
    single = len(gzip.compress(data, 6))
    assert output.stat().st_size <= single * 1.02


@pytest.mark.parametrize("raw, expected", [("zip", "zip"), ("ZIP", "zip"), (".tar.gz", "tar.gz"), (" .TAR.ZST ", "tar.zst")])
def test_format_parsing_is_forgiving(raw, expected):
    assert ArchiveFormat.parse(raw).value == expected


@pytest.mark.parametrize("raw", ["rar", "", ".", "tar", "gz", "zip.exe"])
def test_unknown_formats_are_refused(raw):
    with pytest.raises(UnsupportedFormat):
        ArchiveFormat.parse(raw)


def test_a_failure_midway_leaves_no_output_and_no_temp_file(tmp_path):
    source = write(tmp_path, "in", os.urandom(3 * 1024 * 1024))
    output = tmp_path / "out" / "archive.zip"
    output.parent.mkdir()

    def explode(done, total):
        raise RuntimeError("stop")

    for fmt in FORMATS:
        with pytest.raises(RuntimeError):
            compress([InputFile(source, "in")], output, fmt, progress=explode)
        assert list(output.parent.iterdir()) == []


def test_a_missing_input_is_a_compression_error(tmp_path):
    with pytest.raises(CompressionError):
        compress([InputFile(tmp_path / "nope", "nope")], tmp_path / "out.zip", ArchiveFormat.ZIP)
    assert list(tmp_path.iterdir()) == []


def test_progress_reaches_the_total(tmp_path):
    seen = []
    source = write(tmp_path, "in", os.urandom(2_500_000))
    compress([InputFile(source, "in")], tmp_path / "o.tar.zst", ArchiveFormat.TAR_ZST, progress=lambda d, t: seen.append((d, t)))
    assert seen and seen[-1] == (2_500_000, 2_500_000)
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("../../etc/passwd", "passwd"),
        ("/etc/shadow", "shadow"),
        ("C:\\evil\\x.txt", "x.txt"),
        ("a\x00b\x1f.txt", "ab.txt"),
        ("..", "file"),
        ("", "file"),
        ("   ", "file"),
        ("résumé ñandú.txt", "résumé ñandú.txt"),
        ("e\u0301.txt", "\u00e9.txt"),
    ],
)
def test_sanitize_arcname(raw, expected):
    assert sanitize_arcname(raw) == expected


def test_long_names_are_cut_to_255_bytes_keeping_the_extension():
    name = sanitize_arcname("ñ" * 1000 + ".pdf")
    assert len(name.encode()) <= 255 and name.endswith(".pdf")
    name.encode().decode()  # never cut inside a character


def test_duplicate_names_are_disambiguated_ignoring_case():
    assert unique_arcnames(["a.txt", "A.txt", "dir/a.txt", "b.tar.gz", "b.tar.gz"]) == [
        "a.txt", "A (1).txt", "a (2).txt", "b.tar.gz", "b (1).tar.gz",
    ]


def test_the_compress_command(tmp_path):
    source = write(tmp_path, "notes.txt", b"hello " * 1000)
    result = subprocess.run(
        [sys.executable, "-m", "comprimemelo", "compress", str(source), "--format", "TAR.XZ", "--level", "9"],
        capture_output=True, text=True,
    )
    assert result.returncode == 0, result.stderr
    assert "notes.txt.tar.xz" in result.stdout
    archive = tmp_path / "notes.txt.tar.xz"
    assert read_members(archive.read_bytes(), "tar.xz") == {"notes.txt": b"hello " * 1000}


@pytest.mark.parametrize("args, message", [(["--format", "rar"], "unsupported"), (["--format", "zip", "--level", "42"], "level"), (["--format", "zip", "--missing"], "")])
def test_the_compress_command_refuses_bad_input_clearly(tmp_path, args, message):
    source = write(tmp_path, "in.txt", b"x")
    result = subprocess.run(
        [sys.executable, "-m", "comprimemelo", "compress", str(source), *args], capture_output=True, text=True
    )
    assert result.returncode == 2
    assert message in result.stderr and "Traceback" not in result.stderr
