"""The compression core, checked with independent readers and the system CLIs."""

from __future__ import annotations

import _ctypes
import os
import shutil
import subprocess
import sys
import time
import zlib
from pathlib import Path

import pytest

from comprimemelo.compression import (
    ArchiveFormat,
    CompressionError,
    InputFile,
    InvalidLevel,
    UnsupportedFormat,
    compress,
    unique_arcnames,
)
from comprimemelo.compression.cli import main
from comprimemelo.compression.parallel import (
    BZIP2_BLOCK_BYTES,
    GZIP_BLOCK_BYTES,
    GZIP_MEMBER_BYTES,
    XZ_BLOCK_BYTES,
    balanced_block_bytes,
)
from comprimemelo.compression.sevenzip import MIN_BLOCK_BYTES as LZMA2_MIN_BLOCK_BYTES
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


# (level, block bytes) per format, at the level with the smallest blocks;
# zstd's jobs are libzstd's own, so any few MiB exercise its threads.
BLOCKS = {
    ArchiveFormat.TAR_GZ: (None, GZIP_MEMBER_BYTES),
    ArchiveFormat.ZIP: (None, GZIP_BLOCK_BYTES),
    ArchiveFormat.TAR_BZ2: (None, BZIP2_BLOCK_BYTES),
    ArchiveFormat.TAR_XZ: (0, XZ_BLOCK_BYTES[0]),
    ArchiveFormat.SEVEN_Z: (1, LZMA2_MIN_BLOCK_BYTES),
    ArchiveFormat.TAR_ZST: (None, GZIP_BLOCK_BYTES),
}


@pytest.mark.parametrize("fmt", FORMATS, ids=str)
def test_multi_block_archives_pass_the_system_cli(tmp_path, fmt):
    tester = CLI_TESTERS[fmt]
    if shutil.which(tester[0]) is None:
        if os.environ.get("CI"):
            pytest.fail(f"{tester[0]} is required in CI")
        pytest.skip(f"{tester[0]} not installed")
    level, block = BLOCKS[fmt]
    # A block and a half: incompressible, compressible, incompressible across the boundary.
    data = os.urandom(block // 8) + b"compressible " * (block // 13) + os.urandom(block // 2)
    output = tmp_path / f"big{fmt.extension}"
    compress([InputFile(write(tmp_path, "big", data), "big.bin")], output, fmt, level, threads=2)
    result = subprocess.run([*tester, str(output)], capture_output=True)
    assert result.returncode == 0, result.stderr
    assert read_members(output.read_bytes(), fmt.value) == {"big.bin": data}


@pytest.mark.parametrize("fmt", FORMATS, ids=str)
def test_duplicate_upload_names_all_survive_disambiguated(tmp_path, fmt):
    names = unique_arcnames(["dir/a.txt", "A.txt", "../a.txt", "b.tar.gz"])
    files = dict(zip(names, [b"one", b"two", b"three", b"four"]))
    assert round_trip(tmp_path, fmt, files) == {
        "a.txt": b"one", "A (1).txt": b"two", "a (2).txt": b"three", "b.tar.gz": b"four",
    }


def test_members_are_plain_files_with_the_input_mtime(tmp_path):
    import tarfile
    import zipfile

    import py7zr

    source = write(tmp_path, "in", b"data")
    os.utime(source, (1_700_000_000, 1_700_000_000))
    for fmt in FORMATS:
        output = tmp_path / f"m{fmt.extension}"
        compress([InputFile(source, "ñ.txt")], output, fmt)
        if fmt is ArchiveFormat.ZIP:
            with zipfile.ZipFile(output) as archive:
                info = archive.getinfo("ñ.txt")
                assert info.external_attr >> 16 == 0o100644
                assert info.date_time == time.localtime(1_700_000_000)[:6]
        elif fmt is ArchiveFormat.SEVEN_Z:
            with py7zr.SevenZipFile(output) as archive:
                (info,) = archive.list()
                assert info.filename == "ñ.txt"
                assert info.creationtime.timestamp() == 1_700_000_000
        elif fmt is ArchiveFormat.TAR_ZST:
            continue  # the same tar writer as the other tar formats
        else:
            with tarfile.open(output) as archive:
                (member,) = archive.getmembers()
                assert (member.name, member.mode, member.uid, member.gid, member.uname, member.gname) == (
                    "ñ.txt", 0o644, 0, 0, "", ""
                )
                assert member.mtime == 1_700_000_000 and member.isfile()


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


def executables(limit: int) -> bytes:
    """Real machine code (the interpreter's extension modules): the data
    where deflate implementations differ most."""
    folder = Path(_ctypes.__file__).parent  # lib-dynload of the base interpreter, also in a venv
    data = b"".join(path.read_bytes() for path in sorted(folder.glob("*.so")))[:limit]
    assert len(data) == limit, f"not enough machine code under {folder}"
    return data


@pytest.mark.parametrize("fmt", [ArchiveFormat.TAR_GZ, ArchiveFormat.ZIP], ids=str)
@pytest.mark.parametrize(
    "data",
    [
        b"".join(b"record %d: value=%d status=ok\n" % (i, i * 7 % 1000) for i in range(300_000)),
        executables(4 * 1024 * 1024),
    ],
    ids=["text", "executables"],
)
def test_parallel_deflate_stays_within_2_percent_of_one_zlib_stream(tmp_path, fmt, data):
    output = tmp_path / f"p{fmt.extension}"
    compress([InputFile(write(tmp_path, "in", data), "in")], output, fmt, 6, threads=2)
    single = len(zlib.compress(data, 6))
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


@pytest.mark.parametrize("fmt", FORMATS, ids=str)
def test_mtimes_a_format_cannot_hold_are_clamped_not_fatal(tmp_path, fmt):
    files = {}
    for name, mtime in [("epoch", 0), ("far-future", 7_258_118_400)]:  # 1970, 2200
        path = write(tmp_path, name, name.encode())
        os.utime(path, (mtime, mtime))
        files[name] = path
    output = tmp_path / f"out{fmt.extension}"
    compress([InputFile(path, name) for name, path in files.items()], output, fmt)
    assert read_members(output.read_bytes(), fmt.value) == {"epoch": b"epoch", "far-future": b"far-future"}


def test_an_input_that_disappears_midway_leaves_no_output_and_no_temp_file(tmp_path):
    small_first = write(tmp_path, "first", os.urandom(2 * 1024 * 1024))
    # 7-Zip runs in a child process and reads a few blocks ahead of the progress
    # it reports: its first file must outlast that read-ahead (3 x 8 MiB at -mx1).
    large_first = write(tmp_path, "large-first", os.urandom(48 * 1024 * 1024))
    second = write(tmp_path, "second", b"soon gone")
    output = tmp_path / "out" / "archive"
    output.parent.mkdir()

    def delete_second(done, total):
        second.unlink(missing_ok=True)

    for fmt in FORMATS:
        first, level = (large_first, 1) if fmt is ArchiveFormat.SEVEN_Z else (small_first, None)
        second.write_bytes(b"soon gone")
        with pytest.raises(CompressionError):
            compress([InputFile(first, "a"), InputFile(second, "b")], output, fmt, level, progress=delete_second)
        assert list(output.parent.iterdir()) == []


def test_a_missing_output_folder_is_a_compression_error(tmp_path):
    source = write(tmp_path, "in", b"x")
    with pytest.raises(CompressionError):
        compress([InputFile(source, "in")], tmp_path / "no" / "out.zip", ArchiveFormat.ZIP)


def test_a_missing_input_is_a_compression_error(tmp_path):
    with pytest.raises(CompressionError):
        compress([InputFile(tmp_path / "nope", "nope")], tmp_path / "out.zip", ArchiveFormat.ZIP)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("fmt", FORMATS, ids=str)
def test_progress_is_reported_about_every_mib_up_to_the_total(tmp_path, fmt):
    seen = []
    source = write(tmp_path, "in", b"0123456789" * 250_000)
    compress([InputFile(source, "in")], tmp_path / "out", fmt, progress=lambda d, t: seen.append((d, t)))
    assert seen and seen[-1] == (2_500_000, 2_500_000)
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)
    # About once per MiB read or done (a read repeats the figure while blocks
    # are compressing: the worker's liveness check), not once per block.
    assert len(seen) <= 4


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


def test_main_compresses_with_the_default_output_name(tmp_path, capsys):
    source = write(tmp_path, "data.bin", b"abc" * 10_000)
    assert main([str(source), "--format", ".7Z"]) == 0
    assert "MB/s" in capsys.readouterr().out
    assert read_members((tmp_path / "data.bin.7z").read_bytes(), "7z") == {"data.bin": b"abc" * 10_000}
    assert main(["compress", str(source), "-f", "zip", "-l", "9", "-o", str(tmp_path / "x.zip")]) == 0
    assert read_members((tmp_path / "x.zip").read_bytes(), "zip") == {"data.bin": b"abc" * 10_000}


def test_main_refuses_a_missing_input(tmp_path, capsys):
    assert main([str(tmp_path / "nope"), "--format", "zip"]) == 2
    assert "no such file" in capsys.readouterr().err


MIB = 1024 * 1024


@pytest.mark.parametrize(
    ("expected", "block"),
    [
        (None, 24 * MIB),  # nothing known: the nominal block
        (64 * MIB, 32 * MIB),  # 2 x 32 MiB, one round, not 24 + 24 + 16
        (100 * MIB, 25 * MIB),  # two rounds of two
        (5 * MIB, 12 * MIB),  # never below the minimum: one block
        (2 * 1024 * MIB, -(-2 * 1024 * MIB // 86)),  # 43 rounds of two, near the nominal size
    ],
)
def test_blocks_are_balanced_across_threads(expected, block):
    assert balanced_block_bytes(expected, 24 * MIB, 2, 12 * MIB) == block


@pytest.mark.parametrize(
    ("expected", "block"),
    [
        (64 * MIB, 16 * MIB),  # two rounds of two: a hard quarter is matched by the others
        (30 * MIB, 15 * MIB),  # two rounds would go below the minimum: one round
        (5 * MIB, 12 * MIB),
        (100 * MIB, 25 * MIB),  # already two rounds
    ],
)
def test_at_least_two_rounds_where_blocks_stay_large(expected, block):
    assert balanced_block_bytes(expected, 24 * MIB, 2, 12 * MIB, min_rounds=2) == block


def test_progress_follows_compressed_blocks_not_bytes_read(tmp_path):
    """xz compresses big blocks behind the reads: a progress that counted reads
    would say "nearly done" long before the output exists."""
    total = 8 * 1024 * 1024  # at level 6: one block per thread, both compressed after the last read
    source = write(tmp_path, "in", os.urandom(total))
    seen = []
    compress([InputFile(source, "in")], tmp_path / "out.tar.xz", ArchiveFormat.TAR_XZ, 6, threads=2,
             progress=lambda done, _total: seen.append(done))
    assert seen[-1] == total
    assert max(seen[:-1]) <= total // 2, seen  # the blocks were still compressing


@pytest.mark.parametrize("view", [bytes, lambda buffer: buffer, memoryview], ids=["bytes", "bytearray", "memoryview"])
def test_a_block_sized_write_survives_the_caller_reusing_its_buffer(view):
    import gzip
    import io

    from comprimemelo.compression.parallel import GZIP_MEMBER_BYTES, ParallelGzipWriter

    first, second = os.urandom(GZIP_MEMBER_BYTES // 2) * 2, b"x" * GZIP_MEMBER_BYTES
    sink = io.BytesIO()
    with ParallelGzipWriter(sink, threads=2) as writer:
        reused = bytearray(first)
        writer.write(view(reused))
        reused[:] = second  # what a reader reusing its buffer does before the block is compressed
        writer.write(second)
    assert gzip.decompress(sink.getvalue()) == first + second


@pytest.mark.parametrize("joined", [True, False], ids=["libdeflate-joined", "zlib-chained"])
def test_the_last_blocks_are_small_so_no_core_finishes_a_whole_block_alone(joined):
    import io

    from comprimemelo.compression.parallel import ParallelDeflateWriter

    sizes = []

    class Recording(ParallelDeflateWriter):
        def _job(self, block, last):
            sizes.append(len(block))
            return super()._job(block, last)

    sink = io.BytesIO()
    writer = Recording(sink, threads=2, expected_bytes=None, joined=joined)
    block, tail_block = writer.block_bytes, writer.tail_block_bytes
    writer.abort()
    data = os.urandom(block) * 3 + b"compressible " * (3 * block // 13)
    with Recording(sink, threads=2, expected_bytes=len(data), joined=joined) as writer:
        for start in range(0, len(data), block):
            writer.write(data[start:start + block])
    tail = 2 * block  # threads x block
    assert sizes[:4] == [block] * 4
    assert all(size <= tail_block for size in sizes[4:])
    assert sum(sizes) == len(data) and sum(sizes[4:]) == len(data) - 4 * block <= tail
    assert zlib.decompress(sink.getvalue(), -15) == data
