"""Open archives with independent readers (not our compression code)."""

from __future__ import annotations

import io
import tarfile
import tempfile
import zipfile
from pathlib import Path

import py7zr
import zstandard


def read_members(data: bytes, fmt: str) -> dict[str, bytes]:
    """Every regular file in the archive ``data`` of format ``fmt``, by name."""
    if fmt == "zip":
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            assert archive.testzip() is None
            return {name: archive.read(name) for name in archive.namelist()}
    if fmt == "7z":
        with tempfile.TemporaryDirectory() as folder, py7zr.SevenZipFile(io.BytesIO(data)) as archive:
            archive.extractall(path=folder)
            root = Path(folder)
            return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()}
    if fmt == "tar.zst":
        data = zstandard.ZstdDecompressor().stream_reader(io.BytesIO(data)).read()
        mode = "r:"
    else:
        mode = {"tar.gz": "r:gz", "tar.bz2": "r:bz2", "tar.xz": "r:xz"}[fmt]
    with tarfile.open(fileobj=io.BytesIO(data), mode=mode) as archive:
        return {
            member.name: archive.extractfile(member).read()
            for member in archive.getmembers()
            if member.isfile()
        }
