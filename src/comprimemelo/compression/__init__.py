"""The compression core: a library with no web, database or cloud dependency.

>>> from comprimemelo.compression import ArchiveFormat, InputFile, compress
>>> compress([InputFile(path, "report.pdf")], out_path, ArchiveFormat.TAR_ZST)
"""

from comprimemelo.compression.archive import CompressionResult, InputFile, compress
from comprimemelo.compression.errors import CompressionError, InvalidLevel, UnsupportedFormat
from comprimemelo.compression.formats import ArchiveFormat, Preset
from comprimemelo.compression.names import sanitize_arcname, unique_arcnames

__all__ = [
    "ArchiveFormat",
    "CompressionError",
    "CompressionResult",
    "InputFile",
    "InvalidLevel",
    "Preset",
    "UnsupportedFormat",
    "compress",
    "sanitize_arcname",
    "unique_arcnames",
]
