"""libdeflate's blocks joined into one deflate stream, the way zlib's ``gzjoin`` joins gzip files.

A zip member must be one deflate stream. libdeflate compresses about twice as
fast as zlib at the same level, and a little smaller, but every call writes a
complete stream: its last deflate block carries the BFINAL bit, and a reader
stops there. To join pieces, each piece but the last has that bit cleared and
is padded to a byte boundary with an empty stored block, which is what zlib's
sync flush writes (pigz joins its zlib blocks the same way).

Where the final block starts is only known by decoding the piece: zlib's
``inflate`` with ``Z_BLOCK`` stops at every block boundary and reports the bit
position (``data_type``), as in Mark Adler's ``examples/gzjoin.c``. Python's
``zlib`` module does not expose ``Z_BLOCK``, so libz is called through ctypes
(the GIL is released during the calls). Decoding costs about a tenth of the
compression; without libz (``available()`` is false) callers keep zlib.
"""

from __future__ import annotations

import ctypes
import threading

import deflate

Z_OK = 0
Z_STREAM_END = 1
Z_BUF_ERROR = -5
Z_BLOCK = 5
RAW_WINDOW_BITS = -15
# ``data_type`` after inflate returns: unused bits in the last byte read (low 3),
# "decoding the last block" (64), "stopped at a block boundary" (128).
UNUSED_BITS_MASK = 7
IN_LAST_BLOCK = 64
AT_BLOCK_BOUNDARY = 128
# inflate's output goes nowhere: the bytes are known. One call fills this much.
DISCARD_BYTES = 256 * 1024
# An empty stored block that starts on a byte boundary: header bits (3 zeros, then
# padding), LEN 0, NLEN 0xffff. When at least 3 zero padding bits already end the
# piece, they are the header and only LEN/NLEN follow.
STORED_BLOCK_HEADER_BITS = 3
EMPTY_STORED_BLOCK = b"\x00\x00\x00\xff\xff"
EMPTY_STORED_BLOCK_LENGTHS = b"\x00\x00\xff\xff"


class _ZStream(ctypes.Structure):
    """zlib's ``z_stream`` (zlib.h), as laid out on LP64 Linux."""

    _fields_ = [
        ("next_in", ctypes.c_void_p), ("avail_in", ctypes.c_uint), ("total_in", ctypes.c_ulong),
        ("next_out", ctypes.c_void_p), ("avail_out", ctypes.c_uint), ("total_out", ctypes.c_ulong),
        ("msg", ctypes.c_char_p), ("state", ctypes.c_void_p),
        ("zalloc", ctypes.c_void_p), ("zfree", ctypes.c_void_p), ("opaque", ctypes.c_void_p),
        ("data_type", ctypes.c_int), ("adler", ctypes.c_ulong), ("reserved", ctypes.c_ulong),
    ]


def _load_libz():
    try:
        libz = ctypes.CDLL("libz.so.1")
    except OSError:
        return None, b""
    libz.zlibVersion.restype = ctypes.c_char_p
    libz.inflateInit2_.argtypes = (ctypes.POINTER(_ZStream), ctypes.c_int, ctypes.c_char_p, ctypes.c_int)
    libz.inflate.argtypes = (ctypes.POINTER(_ZStream), ctypes.c_int)
    libz.inflateEnd.argtypes = (ctypes.POINTER(_ZStream),)
    return libz, libz.zlibVersion()


_LIBZ, _LIBZ_VERSION = _load_libz()
_DISCARD = threading.local()


def available() -> bool:
    """Whether pieces can be joined here (libz loads)."""
    return _LIBZ is not None


def compress_piece(block: bytes, level: int, last: bool) -> bytes:
    """``block`` as raw deflate by libdeflate; unless ``last``, ready for more
    pieces to follow it in the same stream."""
    piece = deflate.deflate_compress(block, level)  # a bytearray: changed in place
    if last:
        return piece
    index, mask, unused_bits = final_block_bit(piece)
    piece[index] &= ~mask & 0xFF
    # The final block's padding bits are zeros (libdeflate pads with zeros).
    piece += EMPTY_STORED_BLOCK_LENGTHS if unused_bits >= STORED_BLOCK_HEADER_BITS else EMPTY_STORED_BLOCK
    return piece


def final_block_bit(stream: bytes | bytearray) -> tuple[int, int, int]:
    """Where the BFINAL bit of ``stream``'s last block is (byte index, bit mask),
    and how many unused bits end the stream's last byte.

    :raise ValueError: if ``stream`` is not one complete raw deflate stream.
    """
    discard = getattr(_DISCARD, "buffer", None)
    if discard is None:
        discard = _DISCARD.buffer = ctypes.create_string_buffer(DISCARD_BYTES)
    if not stream:
        raise ValueError("an empty deflate stream")
    # Points into ``stream`` itself (no copy); released before this returns, so
    # that a bytearray can grow again (``ctypes.cast`` would keep it exported).
    if isinstance(stream, bytearray):
        source = (ctypes.c_char * len(stream)).from_buffer(stream)
        start = ctypes.addressof(source)
    else:
        source = ctypes.c_char_p(stream)
        start = ctypes.c_void_p.from_buffer(source).value
    z = _ZStream()
    if _LIBZ.inflateInit2_(ctypes.byref(z), RAW_WINDOW_BITS, _LIBZ_VERSION, ctypes.sizeof(_ZStream)) != Z_OK:
        raise MemoryError("zlib could not start an inflate stream")
    try:
        z.next_in, z.avail_in = start, len(stream)
        bit = (0, 1)  # the first block's header starts the stream
        while True:
            z.next_out, z.avail_out = ctypes.addressof(discard), DISCARD_BYTES
            status = _LIBZ.inflate(ctypes.byref(z), Z_BLOCK)
            if status not in (Z_OK, Z_BUF_ERROR):
                raise ValueError(f"not one complete raw deflate stream (inflate: {status})")
            if status == Z_BUF_ERROR and z.avail_in == 0:
                raise ValueError("truncated deflate stream")
            if z.data_type & AT_BLOCK_BOUNDARY:
                unused = z.data_type & UNUSED_BITS_MASK
                if z.data_type & IN_LAST_BLOCK:
                    if z.avail_in:
                        raise ValueError("bytes after the deflate stream's last block")
                    return (*bit, unused)
                used = z.next_in - start
                # The next block's header starts at the first unused bit.
                bit = (used - 1, 0x100 >> unused) if unused else (used, 1)
    finally:
        _LIBZ.inflateEnd(ctypes.byref(z))
        del source
