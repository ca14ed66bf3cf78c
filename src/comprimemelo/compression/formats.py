"""The archive formats, with the facts callers need about each."""

from __future__ import annotations

import enum

from comprimemelo.compression.errors import UnsupportedFormat


class Preset(str, enum.Enum):
    """Named levels that mean the same thing for every format."""

    FASTEST = "fastest"
    BALANCED = "balanced"
    SMALLEST = "smallest"


class ArchiveFormat(str, enum.Enum):
    """The archives we write; values are the API's spellings, stored as-is."""

    ZIP = "zip"
    SEVEN_Z = "7z"
    TAR_GZ = "tar.gz"
    TAR_BZ2 = "tar.bz2"
    TAR_XZ = "tar.xz"
    TAR_ZST = "tar.zst"

    @classmethod
    def parse(cls, text: str) -> ArchiveFormat:
        """Case-insensitive, with an optional leading dot: ``ZIP``, ``.tar.gz``.

        :raise UnsupportedFormat: for anything else.
        """
        value = text.strip().lower()
        value = value[1:] if value.startswith(".") else value
        try:
            return cls(value)
        except ValueError:
            raise UnsupportedFormat(f"unsupported archive format: {text!r}") from None

    @property
    def extension(self) -> str:
        return "." + self.value

    @property
    def media_type(self) -> str:
        return _MEDIA_TYPES[self]

    @property
    def level_range(self) -> tuple[int, int]:
        return _LEVELS[self][0]

    @property
    def default_level(self) -> int:
        return _LEVELS[self][1]

    def preset_level(self, preset: Preset) -> int:
        """The level ``preset`` means for this format; ``balanced`` is the default."""
        return _PRESET_LEVELS[self][preset]

    @property
    def encryptable(self) -> bool:
        """Whether archives of this format can have a password (AES-256)."""
        return self in (ArchiveFormat.ZIP, ArchiveFormat.SEVEN_Z)


_MEDIA_TYPES = {
    ArchiveFormat.ZIP: "application/zip",
    ArchiveFormat.SEVEN_Z: "application/x-7z-compressed",
    ArchiveFormat.TAR_GZ: "application/gzip",
    ArchiveFormat.TAR_BZ2: "application/x-bzip2",
    ArchiveFormat.TAR_XZ: "application/x-xz",
    ArchiveFormat.TAR_ZST: "application/zstd",
}

# ((lowest, highest), default): the same scales and defaults as the usual CLIs.
_LEVELS = {
    ArchiveFormat.ZIP: ((0, 9), 6),
    ArchiveFormat.SEVEN_Z: ((0, 9), 5),
    ArchiveFormat.TAR_GZ: ((1, 9), 6),
    ArchiveFormat.TAR_BZ2: ((1, 9), 9),
    ArchiveFormat.TAR_XZ: ((0, 9), 6),
    ArchiveFormat.TAR_ZST: ((1, 19), 3),
}

# fastest / smallest: the ends of each scale that are worth it (xz's 0 is
# already fast; zstd's levels past 19 need --ultra memory).
_PRESET_LEVELS = {
    fmt: {Preset.FASTEST: fastest, Preset.BALANCED: _LEVELS[fmt][1], Preset.SMALLEST: smallest}
    for fmt, (fastest, smallest) in {
        ArchiveFormat.ZIP: (1, 9),
        ArchiveFormat.SEVEN_Z: (1, 9),
        ArchiveFormat.TAR_GZ: (1, 9),
        ArchiveFormat.TAR_BZ2: (1, 9),
        ArchiveFormat.TAR_XZ: (0, 9),
        ArchiveFormat.TAR_ZST: (1, 19),
    }.items()
}
