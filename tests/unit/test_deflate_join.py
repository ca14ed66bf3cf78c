"""libdeflate pieces joined into one deflate stream: every reader must see one stream."""

from __future__ import annotations

import os
import random
import zlib

import deflate
import pytest

from comprimemelo.compression import deflate_join

pytestmark = pytest.mark.skipif(not deflate_join.available(), reason="libz.so.1 cannot be loaded here")


def _pieces(blocks: list[bytes], level: int) -> bytes:
    return b"".join(deflate_join.compress_piece(block, level, last=index == len(blocks) - 1)
                    for index, block in enumerate(blocks))


def _text(size: int, seed: int) -> bytes:
    words = [b"alpha", b"beta", b"gamma", b"delta", b"\n", b"0123", b"zeta", b" "]
    rng = random.Random(seed)
    return b"".join(rng.choice(words) for _ in range(size // 4))[:size]


@pytest.mark.parametrize("level", [1, 6, 9, 12])
@pytest.mark.parametrize("kind", ["text", "random", "zeros", "mixed"])
def test_joined_pieces_inflate_to_the_input_as_one_stream(kind, level):
    rng = random.Random(level)
    blocks = []
    for index in range(6):
        size = rng.choice([1, 7, 100, 4096, 65_537, 300_000])
        blocks.append({"text": lambda: _text(size, index), "random": lambda: os.urandom(size),
                       "zeros": lambda: bytes(size),
                       "mixed": lambda: _text(size // 2, index) + os.urandom(size - size // 2)}[kind]())
    stream = _pieces(blocks, level)
    inflater = zlib.decompressobj(-15)
    assert inflater.decompress(stream) == b"".join(blocks)
    assert inflater.eof and not inflater.unused_data  # one stream, ending where it should


def test_every_unused_bit_count_at_the_end_of_a_piece_is_joined():
    """The empty stored block needs 3 header bits: the piece's padding holds them
    or one more byte does; both cases must occur and both must join."""
    seen = set()
    blocks = []
    for size in range(1, 400):
        block = _text(size * 37, size)
        seen.add(deflate_join.final_block_bit(deflate.deflate_compress(block, 6))[2])
        blocks.append(block)
    assert seen == set(range(8))
    assert zlib.decompress(_pieces(blocks, 6), -15) == b"".join(blocks)


def test_the_last_piece_is_left_final():
    block = _text(10_000, 1)
    assert deflate_join.compress_piece(block, 6, last=True) == deflate.deflate_compress(block, 6)


@pytest.mark.parametrize("stream", [b"\xff\xff\xff", b"\x00\x05\x00", b""], ids=["garbage", "bad-stored", "empty"])
def test_what_is_not_a_deflate_stream_is_refused(stream):
    with pytest.raises(ValueError):
        deflate_join.final_block_bit(stream)


def test_a_truncated_stream_is_refused():
    stream = deflate.deflate_compress(os.urandom(1000) + _text(50_000, 2), 6)
    with pytest.raises(ValueError, match="truncated"):
        deflate_join.final_block_bit(bytes(stream[: len(stream) // 2]))


def test_bytes_after_the_last_block_are_refused():
    stream = bytes(deflate.deflate_compress(_text(5_000, 3), 6)) + b"tail"
    with pytest.raises(ValueError, match="after"):
        deflate_join.final_block_bit(stream)


def test_a_piece_can_grow_after_it_was_scanned():
    """The scan must release its view of the bytearray, or appending fails."""
    piece = deflate.deflate_compress(_text(20_000, 4), 6)
    deflate_join.final_block_bit(piece)
    piece += b"\x00"
