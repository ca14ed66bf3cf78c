"""Errors of the compression core."""


class CompressionError(Exception):
    """Compressing failed; no output was left behind."""


class UnsupportedFormat(CompressionError, ValueError):
    """Not one of the archive formats we write."""


class InvalidLevel(CompressionError, ValueError):
    """A compression level outside the format's range."""
