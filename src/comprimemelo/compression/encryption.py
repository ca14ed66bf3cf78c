"""Password-protected archives: zip with WinZip AES-256 here; 7z with AES-256
and encrypted headers (the file names are hidden too) is 7-Zip's own, written
by ``sevenzip``.

ZipCrypto is never written: it is broken. A zip entry's encryption is one
stream, so this writer uses one core; it streams every input in chunks and
never holds a file in memory.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Sequence

TYPE_CHECKING = False  # typing itself costs start-up: ``comprimemelo compress`` imports this
if TYPE_CHECKING:
    from typing import BinaryIO

import pyzipper

from comprimemelo.compression.archive import CHUNK_BYTES, zip_entry
from comprimemelo.compression.errors import CompressionError
from comprimemelo.compression.formats import ArchiveFormat

MAX_PASSWORD_CHARS = 256
# Besides Unicode's "C" categories (controls, format, surrogates, private use,
# unassigned): the line and paragraph separators, which split lines too.
LINE_SEPARATORS = frozenset("\u2028\u2029")


def check_password(fmt: ArchiveFormat, password: str) -> None:
    """The one rule for archive passwords (the web's check calls this one).

    Control and other invisible characters are refused: 7-Zip's engine cuts a
    password at its first NUL (``"\\x00secret"`` gave an archive with no
    encryption at all), and a user cannot type the others back anyway.

    :raise CompressionError: if ``fmt`` cannot be encrypted or ``password`` is unusable.
    """
    if not fmt.encryptable:
        raise CompressionError(f"only zip and 7z archives can have a password, not {fmt.value}")
    if not isinstance(password, str) or not password or len(password) > MAX_PASSWORD_CHARS:
        raise CompressionError(f"an archive password must be 1 to {MAX_PASSWORD_CHARS} characters")
    for char in password:
        if unicodedata.category(char).startswith("C") or char in LINE_SEPARATORS:
            raise CompressionError(
                f"an archive password cannot hold control or invisible characters "
                f"(U+{ord(char):04X})"
            )


def password_bytes(password: str) -> bytes:
    """The exact bytes both engines are given: UTF-8, nothing dropped or replaced."""
    return password.encode("utf-8")


def write_encrypted_zip(
    inputs: Sequence,
    sink: BinaryIO,
    level: int,
    password: str,
    advance: Callable[[int], None],
) -> None:
    """Write ``inputs`` (``.path``, ``.arcname``) as a zip encrypted with ``password``;
    ``advance(n)`` is told of input bytes as they are read."""
    check_password(ArchiveFormat.ZIP, password)
    method = pyzipper.ZIP_STORED if level == 0 else pyzipper.ZIP_DEFLATED
    with pyzipper.AESZipFile(sink, "w", compression=method, compresslevel=level or None, allowZip64=True) as archive:
        archive.setpassword(password_bytes(password))
        archive.setencryption(pyzipper.WZ_AES, nbits=256)
        for item in inputs:
            info = zip_entry(archive.zipinfo_cls, item, method)
            with open(item.path, "rb") as source, archive.open(info, "w", force_zip64=info.file_size >= 2**31) as entry:
                while chunk := source.read(CHUNK_BYTES):
                    entry.write(chunk)
                    advance(len(chunk))
