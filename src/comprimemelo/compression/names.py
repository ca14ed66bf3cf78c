"""Names inside archives: untrusted upload names made safe, duplicates told apart."""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence

MAX_NAME_BYTES = 255
# Longer "extensions" are just dots inside a name; they are cut like the rest.
MAX_EXTENSION_CHARS = 16
# Second-level suffixes kept with the last one: "b.tar.gz" -> "b (1).tar.gz".
COMPOUND_SUFFIXES = (".tar",)
FALLBACK_NAME = "file"


def sanitize_arcname(name: str) -> str:
    """One safe path component: no directories, no control, format or
    line-separator characters (nothing ``str.splitlines`` breaks on), NFC, at
    most 255 UTF-8 bytes (the extension is kept when cutting).

    Never ``""``, ``.`` or ``..``: those become ``file``.
    """
    name = unicodedata.normalize("NFC", name).replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if not _unprintable(ch)).strip()
    if name in ("", ".", ".."):
        return FALLBACK_NAME
    stem, extension = split_extension(name)
    return _fit(stem, "", extension)


def _unprintable(ch: str) -> bool:
    category = unicodedata.category(ch)
    return category[0] == "C" or category in ("Zl", "Zp")


def unique_arcnames(names: Sequence[str]) -> list[str]:
    """Sanitise each name; later duplicates (ignoring case) become ``a (1).txt``, ``a (2).txt``..."""
    seen: set[str] = set()
    unique = []
    for raw in names:
        name = sanitize_arcname(raw)
        stem, extension = split_extension(name)
        candidate, counter = name, 0
        while candidate.casefold() in seen:
            counter += 1
            candidate = _fit(stem, f" ({counter})", extension)
        seen.add(candidate.casefold())
        unique.append(candidate)
    return unique


def split_extension(name: str) -> tuple[str, str]:
    """``("report", ".pdf")``, ``("b", ".tar.gz")``; dotfiles and long tails have none."""
    stem, dot, last = name.rpartition(".")
    if not dot or not stem.strip(".") or len(last) > MAX_EXTENSION_CHARS:
        return name, ""
    extension = dot + last
    for compound in COMPOUND_SUFFIXES:
        if stem.lower().endswith(compound) and stem[: -len(compound)].strip("."):
            return stem[: -len(compound)], stem[-len(compound) :] + extension
    return stem, extension


def _fit(stem: str, marker: str, extension: str) -> str:
    """``stem + marker + extension``, cutting only the stem (never inside a
    character) so the result fits in ``MAX_NAME_BYTES``."""
    budget = MAX_NAME_BYTES - len((marker + extension).encode())
    cut = stem.encode()[:budget].decode(errors="ignore")
    return cut + marker + extension
