"""A streaming 7z writer: one solid LZMA2 folder, compressed in parallel blocks.

py7zr compresses on one thread; 7-Zip itself splits LZMA2 into blocks that
each start with a dictionary reset, which is what ``ParallelLzma2Writer``
produces. The container is written here, following 7-Zip's ``7zFormat.txt``:
a 32-byte signature header (patched in at the end), the packed stream, then
an uncompressed header listing the files, their sizes, CRCs, times and modes.
"""

from __future__ import annotations

import io
import struct
import zlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import BinaryIO

from comprimemelo.compression.parallel import ParallelLzma2Writer, lzma2_block_dict_size

SIGNATURE = b"7z\xbc\xaf\x27\x1c\x00\x04"
SIGNATURE_HEADER_BYTES = 32
LZMA2_CODER_ID = b"\x21"
# Seconds from 1601-01-01 (FILETIME's epoch) to 1970-01-01, and its tick.
FILETIME_EPOCH_OFFSET = 11_644_473_600
FILETIME_TICKS_PER_SECOND = 10_000_000
FILE_ATTRIBUTE_ARCHIVE = 0x20
# 7-Zip's flag saying the high 16 bits hold a Unix st_mode.
FILE_ATTRIBUTE_UNIX_EXTENSION = 0x8000
UNIX_REGULAR_FILE = 0o100000


class _Id:
    """Property ids of the 7z header."""

    END = 0x00
    HEADER = 0x01
    MAIN_STREAMS_INFO = 0x04
    FILES_INFO = 0x05
    PACK_INFO = 0x06
    UNPACK_INFO = 0x07
    SUBSTREAMS_INFO = 0x08
    SIZE = 0x09
    CRC = 0x0A
    FOLDER = 0x0B
    CODERS_UNPACK_SIZE = 0x0C
    NUM_UNPACK_STREAM = 0x0D
    EMPTY_STREAM = 0x0E
    EMPTY_FILE = 0x0F
    NAME = 0x11
    MTIME = 0x14
    ATTRIBUTES = 0x15


@dataclass(frozen=True)
class Entry:
    """One file as the header describes it (its data is already in the folder)."""

    name: str
    size: int
    crc: int
    mtime: float
    mode: int


def write_7z(
    sink: BinaryIO,
    files: Iterable[tuple[str, float, int, Iterable[bytes]]],
    *,
    level: int,
    threads: int,
    expected_bytes: int | None = None,
    follow: Callable[[ParallelLzma2Writer], None] | None = None,
) -> None:
    """Write a 7z archive of ``files`` (name, mtime, mode, chunks) to the seekable ``sink``.

    The chunks of every file are read once, in order, so memory stays bounded;
    ``expected_bytes`` (their total, if known) balances the parallel blocks;
    ``follow`` is shown the block writer (for progress).
    """
    start = sink.tell()
    sink.write(bytes(SIGNATURE_HEADER_BYTES))
    entries: list[Entry] = []
    with ParallelLzma2Writer(sink, level=level, threads=threads, expected_bytes=expected_bytes) as packed:
        if follow:
            follow(packed)
        for name, mtime, mode, chunks in files:
            size = crc = 0
            for chunk in chunks:
                packed.write(chunk)
                crc = zlib.crc32(chunk, crc)
                size += len(chunk)
            entries.append(Entry(name, size, crc, mtime, mode))
    dict_size = lzma2_block_dict_size(level, sum(entry.size for entry in entries))
    header = _header(entries, packed.compressed_bytes, dict_size)
    header_offset = sink.tell() - start - SIGNATURE_HEADER_BYTES
    sink.write(header)
    start_header = struct.pack("<QQI", header_offset, len(header), zlib.crc32(header))
    sink.seek(start)
    sink.write(SIGNATURE + struct.pack("<I", zlib.crc32(start_header)) + start_header)
    sink.seek(0, io.SEEK_END)


def _header(entries: Sequence[Entry], packed_size: int, dict_size: int) -> bytes:
    out = bytearray([_Id.HEADER])
    with_data = [entry for entry in entries if entry.size]
    if with_data:
        out += _main_streams_info(with_data, packed_size, dict_size)
    if entries:
        out += _files_info(entries)
    out.append(_Id.END)
    return bytes(out)


def _main_streams_info(with_data: Sequence[Entry], packed_size: int, dict_size: int) -> bytes:
    total = sum(entry.size for entry in with_data)
    coder = bytes([0x20 | len(LZMA2_CODER_ID)]) + LZMA2_CODER_ID + number(1) + bytes([_lzma2_property(dict_size)])
    out = bytearray([_Id.MAIN_STREAMS_INFO])
    out += bytes([_Id.PACK_INFO]) + number(0) + number(1) + bytes([_Id.SIZE]) + number(packed_size) + bytes([_Id.END])
    out += bytes([_Id.UNPACK_INFO, _Id.FOLDER]) + number(1) + b"\x00" + number(1) + coder
    out += bytes([_Id.CODERS_UNPACK_SIZE]) + number(total) + bytes([_Id.END])
    out += bytes([_Id.SUBSTREAMS_INFO, _Id.NUM_UNPACK_STREAM]) + number(len(with_data))
    if len(with_data) > 1:
        out.append(_Id.SIZE)
        for entry in with_data[:-1]:
            out += number(entry.size)
    out += bytes([_Id.CRC, 1]) + b"".join(struct.pack("<I", entry.crc) for entry in with_data)
    out += bytes([_Id.END, _Id.END])
    return bytes(out)


def _files_info(entries: Sequence[Entry]) -> bytes:
    out = bytearray([_Id.FILES_INFO]) + number(len(entries))
    empty = [entry.size == 0 for entry in entries]
    if any(empty):
        out += _property(_Id.EMPTY_STREAM, _bits(empty))
        out += _property(_Id.EMPTY_FILE, _bits([True] * sum(empty)))
    names = b"".join(entry.name.encode("utf-16-le") + b"\x00\x00" for entry in entries)
    out += _property(_Id.NAME, b"\x00" + names)
    times = b"".join(struct.pack("<Q", _filetime(entry.mtime)) for entry in entries)
    out += _property(_Id.MTIME, b"\x01\x00" + times)
    attributes = b"".join(struct.pack("<I", _attributes(entry.mode)) for entry in entries)
    out += _property(_Id.ATTRIBUTES, b"\x01\x00" + attributes)
    out.append(_Id.END)
    return bytes(out)


def _property(kind: int, data: bytes) -> bytes:
    return bytes([kind]) + number(len(data)) + data


def _bits(flags: Sequence[bool]) -> bytes:
    """A 7z bit vector: most significant bit first, padded to whole bytes."""
    out = bytearray((len(flags) + 7) // 8)
    for index, flag in enumerate(flags):
        if flag:
            out[index // 8] |= 0x80 >> (index % 8)
    return bytes(out)


def _filetime(mtime: float) -> int:
    return max(0, int((mtime + FILETIME_EPOCH_OFFSET) * FILETIME_TICKS_PER_SECOND))


def _attributes(mode: int) -> int:
    return FILE_ATTRIBUTE_ARCHIVE | FILE_ATTRIBUTE_UNIX_EXTENSION | ((UNIX_REGULAR_FILE | mode) << 16)


def _lzma2_property(dict_size: int) -> int:
    """The one-byte LZMA2 property: the smallest encoded size >= ``dict_size``."""
    for prop in range(40):
        if (2 | (prop & 1)) << (prop // 2 + 11) >= dict_size:
            return prop
    return 40


def number(value: int) -> bytes:
    """7z's variable-length integer: leading 1-bits of the first byte count extra bytes."""
    for extra in range(8):
        if value < 1 << (7 * (extra + 1)):
            mask = (0xFF << (8 - extra)) & 0xFF
            return bytes([mask | (value >> (8 * extra))]) + (value & ((1 << (8 * extra)) - 1)).to_bytes(extra, "little")
    return b"\xff" + value.to_bytes(8, "little")

