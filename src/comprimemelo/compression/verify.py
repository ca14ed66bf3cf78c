"""Proof that an archive said to be encrypted cannot be opened without its password.

The writers ask the engines for AES-256; this reads back what they wrote, so
a bug in an engine (7-Zip cut a password at its first NUL and wrote a 7z
whose key was the empty password) can never publish an archive that anyone
can open while the task says it is encrypted.

- zip: every member has the encryption flag, the WinZip AES extra field with
  AES-256, and method 99; reading it without a password fails, and its
  password check (WinZip's verifier) passes with the password.
- 7z: the header is encoded and the first coder of its folder is 7zAES (so
  names and data are hidden); opening without a password or with another one
  fails; with the password 7-Zip opens it and every member is encrypted.
"""

from __future__ import annotations

import struct
import subprocess
import sys
import zipfile
from pathlib import Path

import pyzipper

from comprimemelo.compression import bit7z_process
from comprimemelo.compression.encryption import check_password, password_bytes
from comprimemelo.compression.errors import CompressionError
from comprimemelo.compression.formats import ArchiveFormat
from comprimemelo.compression.sevenzip import STDERR_TAIL_CHARS, child_command, engine_dir

ZIP_ENCRYPTED_FLAG = 0x1
ZIP_AES_METHOD = 99
ZIP_AES_EXTRA_ID = 0x9901
ZIP_AES_256 = 3
SEVEN_Z_SIGNATURE = b"7z\xbc\xaf\x27\x1c"
SEVEN_Z_START_HEADER = struct.Struct("<6s2sIQQI")
SEVEN_Z_ENCODED_HEADER = 0x17
SEVEN_Z_PACK_INFO, SEVEN_Z_UNPACK_INFO, SEVEN_Z_FOLDER = 0x06, 0x07, 0x0B
SEVEN_Z_SIZE, SEVEN_Z_CRC, SEVEN_Z_END = 0x09, 0x0A, 0x00
SEVEN_Z_AES_CODER = bytes.fromhex("06f10701")
# Any other password must fail too; this one can never be a task's (it holds
# a control character, which ``check_password`` refuses).
WRONG_PASSWORD = "\x01not the password"
# Opening reads the (small, encrypted) header only.
PROVE_TIMEOUT_SECONDS = 120


class NotEncrypted(CompressionError):
    """The archive could be opened without its password, or not with it."""


def prove_encrypted(path: Path, fmt: ArchiveFormat, password: str, *, members: int) -> None:
    """Return if the archive at ``path`` holds ``members`` members that only
    ``password`` opens.

    :raise NotEncrypted: with what is wrong, if it does not.
    """
    check_password(fmt, password)
    if fmt is ArchiveFormat.ZIP:
        _prove_zip(Path(path), password, members)
    elif fmt is ArchiveFormat.SEVEN_Z:
        _prove_7z(Path(path), password, members)
    else:
        raise NotEncrypted(f"{fmt.value} archives are never encrypted")


# -- zip ----------------------------------------------------------------------


def _prove_zip(path: Path, password: str, members: int) -> None:
    try:
        with zipfile.ZipFile(path) as plain:
            # pyzipper reports the method under AES; zipfile the one recorded (99).
            methods = [info.compress_type for info in plain.infolist()]
        with pyzipper.AESZipFile(path) as archive:
            infos = archive.infolist()
            _expect(len(infos) == members, f"the zip holds {len(infos)} members, not {members}")
            for info, method in zip(infos, methods, strict=True):
                _prove_zip_member(archive, info, method, password)
    except (zipfile.BadZipFile, OSError, ValueError) as error:
        raise NotEncrypted(f"the zip cannot be read: {error}") from error


def _prove_zip_member(archive: pyzipper.AESZipFile, info: zipfile.ZipInfo, method: int, password: str) -> None:
    name = info.filename
    _expect(info.flag_bits & ZIP_ENCRYPTED_FLAG, f"zip member {name!r} is not encrypted")
    strength = _zip_aes_strength(info.extra)
    _expect(strength is not None, f"zip member {name!r} has no WinZip AES header")
    _expect(strength == ZIP_AES_256, f"zip member {name!r} is AES strength {strength}, not AES-256")
    _expect(method == ZIP_AES_METHOD, f"zip member {name!r} is not method 99 (AES)")
    _fails(lambda: archive.open(info).read(1), f"zip member {name!r} opens without the password")
    _fails(lambda: archive.open(info, pwd=password_bytes(WRONG_PASSWORD)).read(1),
           f"zip member {name!r} opens with another password")
    try:
        with archive.open(info, pwd=password_bytes(password)) as entry:
            entry.read(1)
    except (RuntimeError, zipfile.BadZipFile) as error:
        raise NotEncrypted(f"zip member {name!r} does not open with the password: {error}") from error


def _zip_aes_strength(extra: bytes) -> int | None:
    """The AES strength byte of the WinZip AES extra field, or None without one."""
    offset = 0
    while offset + 4 <= len(extra):
        header, size = struct.unpack_from("<HH", extra, offset)
        body = extra[offset + 4: offset + 4 + size]
        if header == ZIP_AES_EXTRA_ID and len(body) >= 5:
            return body[4]  # version (2), vendor "AE" (2), strength (1), method (2)
        offset += 4 + size
    return None


# -- 7z -----------------------------------------------------------------------


def _prove_7z(path: Path, password: str, members: int) -> None:
    """The header here; the opening by 7-Zip's engine in its child process
    (``bit7z_process``): loaded here, it would hold the GIL of the caller's
    other threads (the worker's leases and tasks) while it reads."""
    _expect(_7z_header_is_aes(path), "the 7z's header is not encrypted with 7zAES (names and data would be readable)")
    job = {"prove": str(path), "password": password, "members": members, "engine": engine_dir(), "path": sys.path}
    child = subprocess.run(child_command(), input=bit7z_process.encode_job(job), stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=PROVE_TIMEOUT_SECONDS)
    lines = child.stdout.splitlines(keepends=True)
    answers = [message for message in map(bit7z_process.read_message, lines) if message is not None]
    if child.returncode != 0 or not answers:
        detail = child.stdout.decode(errors="replace")[-STDERR_TAIL_CHARS:].strip()
        raise NotEncrypted(f"7-Zip could not check the archive: {detail or f'exit status {child.returncode}'}")
    _expect(answers[-1].get("problem") is None, answers[-1].get("problem"))


def open_7z_proof(engine, library, path: str, password: str, members: int) -> str | None:
    """In the 7-Zip child (``engine``: pybit7z's core, ``library``: 7-Zip's, open):
    what is wrong with the 7z's encryption, or None."""
    try:
        _open_7z(engine, library, path, password, members)
    except NotEncrypted as problem:
        return str(problem)
    return None


def _open_7z(engine, library, path: str, password: str, members: int) -> None:
    def open_with(candidate: str):
        return engine.BitArchiveReader(library, str(path), engine.FormatSevenZip, password=candidate)

    _fails(lambda: open_with(""), "the 7z opens without a password", engine.BitException)
    _fails(lambda: open_with(WRONG_PASSWORD), "the 7z opens with another password", engine.BitException)
    try:
        reader = open_with(password)
    except engine.BitException as error:
        raise NotEncrypted(f"the 7z does not open with the password: {error}") from error
    items = reader.items()
    _expect(len(items) == members, f"the 7z holds {len(items)} members, not {members}")
    plain = [item.name() for item in items if not item.is_encrypted() and item.size()]
    _expect(not plain, f"7z members are not encrypted: {plain[:3]}")


def _7z_header_is_aes(path: Path) -> bool:
    """Whether the 7z's next header is an encoded header whose folder starts with 7zAES."""
    try:
        with open(path, "rb") as file:
            signature, _version, _crc, offset, size, _next_crc = SEVEN_Z_START_HEADER.unpack(
                file.read(SEVEN_Z_START_HEADER.size))
            if signature != SEVEN_Z_SIGNATURE or not 0 < size <= 1 << 20:
                return False
            file.seek(SEVEN_Z_START_HEADER.size + offset)
            header = _Cursor(file.read(size))
    except (OSError, struct.error):
        return False
    try:
        if header.byte() != SEVEN_Z_ENCODED_HEADER or header.byte() != SEVEN_Z_PACK_INFO:
            return False
        header.number()  # pack position
        streams = header.number()
        while (kind := header.byte()) != SEVEN_Z_END:
            if kind == SEVEN_Z_SIZE:
                for _ in range(streams):
                    header.number()
            elif kind == SEVEN_Z_CRC:
                header.skip_digests(streams)
            else:
                return False
        if header.byte() != SEVEN_Z_UNPACK_INFO or header.byte() != SEVEN_Z_FOLDER:
            return False
        if header.number() < 1 or header.byte() != 0:  # folders, "not external"
            return False
        header.number()  # coders in the first folder
        flags = header.byte()
        return header.take(flags & 0x0F) == SEVEN_Z_AES_CODER
    except IndexError:
        return False


class _Cursor:
    """Reads 7z's header encoding: bytes and its variable-length NUMBERs."""

    def __init__(self, data: bytes) -> None:
        self._data = data
        self._at = 0

    def byte(self) -> int:
        value = self._data[self._at]
        self._at += 1
        return value

    def take(self, count: int) -> bytes:
        if self._at + count > len(self._data):
            raise IndexError("7z header ends early")
        value = self._data[self._at:self._at + count]
        self._at += count
        return value

    def number(self) -> int:
        first, mask, value = self.byte(), 0x80, 0
        for index in range(8):
            if not first & mask:
                return value | (first & (mask - 1)) << (8 * index)
            value |= self.byte() << (8 * index)
            mask >>= 1
        return value

    def skip_digests(self, count: int) -> None:
        all_defined = self.byte()
        defined = count if all_defined else sum(bin(b).count("1") for b in self.take((count + 7) // 8))
        self.take(4 * defined)


def _expect(condition, problem: str) -> None:
    if not condition:
        raise NotEncrypted(problem)


def _fails(attempt, problem: str, *errors: type[BaseException]) -> None:
    """Raise ``NotEncrypted(problem)`` unless ``attempt()`` raises (one of ``errors``)."""
    try:
        attempt()
    except errors or (RuntimeError, zipfile.BadZipFile, ValueError):
        return
    raise NotEncrypted(problem)
