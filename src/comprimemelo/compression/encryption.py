"""Password-protected archives: zip with WinZip AES-256, 7z with AES-256 and
encrypted headers (the file names are hidden too).

ZipCrypto is never written: it is broken. Encryption is one stream per
archive, so these writers use one core; they stream every input in chunks
and never hold a file in memory.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import BinaryIO

import py7zr
import pyzipper

from comprimemelo.compression.archive import CHUNK_BYTES, zip_entry
from comprimemelo.compression.errors import CompressionError
from comprimemelo.compression.formats import ArchiveFormat

MAX_PASSWORD_CHARS = 256


def check_password(fmt: ArchiveFormat, password: str) -> None:
    """:raise CompressionError: if ``fmt`` cannot be encrypted or ``password`` is unusable."""
    if not fmt.encryptable:
        raise CompressionError(f"only zip and 7z archives can have a password, not {fmt.value}")
    if not password or len(password) > MAX_PASSWORD_CHARS:
        raise CompressionError(f"an archive password must be 1 to {MAX_PASSWORD_CHARS} characters")


def write_encrypted(
    fmt: ArchiveFormat,
    inputs: Sequence,
    sink: BinaryIO,
    level: int,
    password: str,
    advance: Callable[[int], None],
) -> None:
    """Write ``inputs`` (``.path``, ``.arcname``) encrypted with ``password``;
    ``advance(n)`` is told of input bytes as they are read."""
    check_password(fmt, password)
    if fmt is ArchiveFormat.ZIP:
        _zip_aes(inputs, sink, level, password, advance)
    else:
        _seven_z_aes(inputs, sink, level, password, advance)


def _zip_aes(inputs, sink, level, password, advance) -> None:
    method = pyzipper.ZIP_STORED if level == 0 else pyzipper.ZIP_DEFLATED
    with pyzipper.AESZipFile(sink, "w", compression=method, compresslevel=level or None, allowZip64=True) as archive:
        archive.setpassword(password.encode())
        archive.setencryption(pyzipper.WZ_AES, nbits=256)
        for item in inputs:
            info = zip_entry(archive.zipinfo_cls, item, method)
            with open(item.path, "rb") as source, archive.open(info, "w", force_zip64=info.file_size >= 2**31) as entry:
                while chunk := source.read(CHUNK_BYTES):
                    entry.write(chunk)
                    advance(len(chunk))


def _seven_z_aes(inputs, sink, level, password, advance) -> None:
    filters = [{"id": py7zr.FILTER_LZMA2, "preset": level}, {"id": py7zr.FILTER_CRYPTO_AES256_SHA256}]
    with py7zr.SevenZipFile(sink, "w", filters=filters, password=password, header_encryption=True) as archive:
        for item in inputs:
            # py7zr reads the file itself, in chunks; progress moves per file.
            archive.write(item.path, item.arcname)
            advance(Path(item.path).stat().st_size)

