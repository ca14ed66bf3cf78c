"""Names inside archives: untrusted upload names made safe, duplicates told apart."""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence

MAX_NAME_BYTES = 255
MAX_EXTENSION_CHARS = 16
FALLBACK_NAME = "file"


def sanitize_arcname(name: str) -> str:
    """One safe path component: no directories, no control characters, NFC,
    at most 255 UTF-8 bytes (the extension is kept when cutting)."""
    name = unicodedata.normalize("NFC", name).replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C").strip()
    if name in ("", ".", ".."):
        return FALLBACK_NAME
    return _truncate(name)


def _truncate(name: str) -> str:
    if len(name.encode()) <= MAX_NAME_BYTES:
        return name
    stem, dot, extension = name.rpartition(".")
    if not dot or not stem or len(extension) > MAX_EXTENSION_CHARS:
        stem, extension = name, ""
    suffix = f".{extension}" if extension else ""
    budget = MAX_NAME_BYTES - len(suffix.encode())
    return stem.encode()[:budget].decode(errors="ignore") + suffix


def unique_arcnames(names: Sequence[str]) -> list[str]:
    """Sanitise each name; later duplicates (ignoring case) become ``a (1).txt``..."""
    seen: set[str] = set()
    unique = []
    for raw in names:
        name = sanitize_arcname(raw)
        candidate, counter = name, 0
        while candidate.lower() in seen:
            counter += 1
            stem, dot, extension = name.partition(".")
            candidate = _truncate(f"{stem} ({counter}){dot}{extension}")
        seen.add(candidate.lower())
        unique.append(candidate)
    return unique
