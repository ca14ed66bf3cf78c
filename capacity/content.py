"""The deterministic test files the load scenarios and benchmarks upload (no locust import)."""

from __future__ import annotations

import random

CONTENT_SEED = 20261123
WORDS = (
    "compress archive file upload queue worker task status format level bytes ratio zip tar gzip "
    "bzip2 xz zstd seven report invoice table photo budget meeting notes draft final copy "
    "the of and to in is for on with as by at from that this be are was it or an"
).split()


def make_content(size: int, seed: int = CONTENT_SEED) -> bytes:
    """Deterministic test file: three parts word-salad text to one part random bytes,
    in 64 KiB blocks, so it compresses like an everyday document mix (about 2-3x)."""
    rng = random.Random(seed)
    block = 64 * 1024
    parts, total = [], 0
    while total < size:
        if rng.random() < 0.25:
            chunk = rng.randbytes(block)
        else:
            chunk = " ".join(rng.choices(WORDS, k=block // 5)).encode()[:block]
        parts.append(chunk)
        total += len(chunk)
    return b"".join(parts)[:size]
