"""The tar stream of regular files, written as ``tarfile`` writes it in PAX format.

Byte for byte the stream ``tarfile.open(mode="w", format=tarfile.PAX_FORMAT)``
writes for our members (regular files, mode 0644, owner 0:0 without names):
a ustar header per file, preceded by a PAX header where the name is longer
than 100 bytes or not ASCII, or the size or mtime does not fit; the data,
padded to 512 bytes; two zero blocks and padding to a 10240-byte record.
``tarfile`` (with ``shutil``, ``copy``, ``pwd`` and ``grp``) is a tenth of
``comprimemelo compress``'s start-up, and this is all of it we use.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence

TYPE_CHECKING = False  # typing itself costs start-up: ``comprimemelo compress`` imports this
if TYPE_CHECKING:
    from typing import BinaryIO

BLOCK_BYTES = 512
RECORD_BYTES = 20 * BLOCK_BYTES
FILE_MODE = 0o644
CHUNK_BYTES = 1024 * 1024
MAGIC = b"ustar\x0000"  # POSIX ustar: magic "ustar\0", version "00"
REGULAR, PAX_EXTENDED = b"0", b"x"
PAX_NAME = "././@PaxHeader"  # as tarfile and star name a PAX header
NAME_BYTES = 100
SIZE_DIGITS = MTIME_DIGITS = 12  # octal digits and a NUL


def write_tar(members: Sequence[tuple[str, str]], stream: BinaryIO, advance: Callable[[int], None]) -> None:
    """Write the tar stream of ``members`` (``(path, name in the archive)``) to ``stream``;
    ``advance(count)`` is called as each piece of a file's data is written.

    :raise OSError: if a file cannot be read or is shorter than its size when it was opened.
    """
    offset = 0
    for path, name in members:
        with open(path, "rb") as source:
            status = os.fstat(source.fileno())
            header = member_header(name, status.st_size, int(status.st_mtime))
            stream.write(header)
            remaining = status.st_size
            while remaining:
                data = source.read(min(CHUNK_BYTES, remaining))
                if not data:
                    raise OSError(f"{name} is shorter than when it was opened: it changed while being archived")
                stream.write(data)
                remaining -= len(data)
                advance(len(data))
        padding = -status.st_size % BLOCK_BYTES
        if padding:
            stream.write(bytes(padding))
        offset += len(header) + status.st_size + padding
    offset += 2 * BLOCK_BYTES  # the end of the archive: two zero blocks, then the record filled up
    stream.write(bytes(2 * BLOCK_BYTES + -offset % RECORD_BYTES))


def member_header(name: str, size: int, mtime: int) -> bytes:
    """The header blocks of a regular file: a ustar block, after a PAX block where
    a field does not fit ustar (what tarfile's ``create_pax_header`` decides)."""
    pax: dict[str, str] = {}
    if not name.isascii() or len(name) > NAME_BYTES:
        pax["path"] = name
    if not 0 <= size < 8 ** (SIZE_DIGITS - 1):
        pax["size"], size = str(size), 0
    if not 0 <= mtime < 8 ** (MTIME_DIGITS - 1):
        pax["mtime"], mtime = str(mtime), 0
    header = _ustar_block(name, REGULAR, size=size, mtime=mtime, mode=FILE_MODE)
    if not pax:
        return header
    records = _pax_records(pax)
    return _ustar_block(PAX_NAME, PAX_EXTENDED, size=len(records)) + _padded(records) + header


def _ustar_block(name: str, kind: bytes, *, size: int, mtime: int = 0, mode: int = 0) -> bytes:
    fields = b"".join((
        _text(name, NAME_BYTES),
        _octal(mode, 8), _octal(0, 8), _octal(0, 8),  # mode, uid, gid
        _octal(size, SIZE_DIGITS), _octal(mtime, MTIME_DIGITS),
        b" " * 8,  # the checksum, counted as spaces
        kind,
        bytes(NAME_BYTES),  # link name
        MAGIC,
        bytes(32 + 32 + 8 + 8 + 155),  # owner and group names, device numbers, name prefix
    ))
    block = fields + bytes(BLOCK_BYTES - len(fields))
    return block[:148] + b"%06o\0" % sum(block) + block[155:]


def _pax_records(headers: dict[str, str]) -> bytes:
    """``"LENGTH key=value\\n"`` records, LENGTH counting itself; values that are
    not UTF-8 (undecodable file names) are kept as bytes under ``hdrcharset=BINARY``."""
    binary = any(_surrogates(value) for value in headers.values())
    records = [b"21 hdrcharset=BINARY\n"] if binary else []
    for key, text in headers.items():
        value = os.fsencode(text) if binary else text.encode()
        length = len(key) + len(value) + 3  # " ", "=", "\n"
        digits = len(str(length))
        while len(str(length + digits)) != digits:
            digits += 1
        records.append(b"%d %s=%s\n" % (length + digits, key.encode(), value))
    return b"".join(records)


def _surrogates(text: str) -> bool:
    try:
        text.encode()
    except UnicodeEncodeError:
        return True
    return False


def _text(value: str, length: int) -> bytes:
    """A NUL-padded ASCII field; what does not fit is in the PAX header."""
    return value.encode("ascii", "replace")[:length].ljust(length, b"\0")


def _octal(value: int, length: int) -> bytes:
    return b"%0*o\0" % (length - 1, value)


def _padded(data: bytes) -> bytes:
    return data + bytes(-len(data) % BLOCK_BYTES)
