"""7z archives, written by 7-Zip's own engine (pybit7z) in a child process.

7-Zip's LZMA2 encoder does liblzma's work with 10-25% less CPU (on the
benchmark's corpora), and its container writer and AES-256 with encrypted
headers are the reference implementation. Two choices are ours:

- Parallelism: ``7z -mmt2`` runs one encoder on two threads (match finder and
  coder), which keeps about 1.5 cores busy. Here LZMA2 is cut into one block
  per core, each with its own two threads, as 7-Zip does on machines with more
  cores: the blocks are one valid LZMA2 stream every reader accepts.
- Isolation: pybit7z holds the GIL while it compresses, so it runs in a child
  process and the caller's other threads (the worker's leases and other
  tasks, the web in embedded mode) keep running. The job, password included,
  goes to the child on stdin, never on its command line or in its environment.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path

from comprimemelo.compression import memory
from comprimemelo.compression.errors import CompressionError

MIB = 1024 * 1024
CHILD_MODULE = "comprimemelo.compression.bit7z_process"
# 7-Zip's LZMA2 dictionary at -mx1 to -mx6, as 7-Zip 26 writes it (128 MiB or
# more from -mx7). Blocks are sized from it.
DICT_BYTES = {1: MIB // 4, 2: MIB, 3: 4 * MIB, 4: 16 * MIB, 5: 32 * MIB, 6: 64 * MIB}
# Blocks share no dictionary: smaller ones cost ratio. Larger ones cost memory:
# each block's encoder holds about ten times its dictionary (at most the block)
# and the block's input and output.
MIN_BLOCK_BYTES = 8 * MIB
MAX_BLOCK_BYTES = 64 * MIB
STDERR_TAIL_CHARS = 2000
# glibc reserves 64 MiB of address space per malloc arena (one per thread by
# default); the child's address space is capped, so it keeps two.
CHILD_ENVIRONMENT = {"MALLOC_ARENA_MAX": "2"}


def block_bytes(level: int, total: int, threads: int) -> int:
    """LZMA2's block size: one block per thread when ``total`` bytes allow, in
    whole MiB, from ``MIN_BLOCK_BYTES`` to two dictionaries (``MAX_BLOCK_BYTES`` at most)."""
    share = -(-total // max(1, threads))
    share = -(-share // MIB) * MIB
    ceiling = min(MAX_BLOCK_BYTES, max(MIN_BLOCK_BYTES, 2 * DICT_BYTES.get(level, MAX_BLOCK_BYTES)))
    return min(ceiling, max(MIN_BLOCK_BYTES, share))


def fit_threads(level: int, total: int, threads: int, budget: int) -> int:
    """The blocks (each on two threads) 7-Zip may encode at once within ``budget``.

    :raise CompressionError: if one block does not fit.
    """
    def need(count: int) -> int:
        dictionary = DICT_BYTES.get(level, MAX_BLOCK_BYTES)
        return memory.seven_zip_bytes(level, count, block_bytes(level, total, count), dictionary)

    return memory.fit_threads(need, threads, budget, f"7z at level {level}")


def method(level: int, total: int, threads: int) -> str:
    """7-Zip's method string for the folder ("" at level 0: 7-Zip stores)."""
    if level == 0:
        return ""
    if threads <= 1:
        return "LZMA2:mt=1"
    return f"LZMA2:c={block_bytes(level, total, threads) // MIB}m:mt={2 * threads}"


def write_7z(
    inputs: Sequence[tuple[Path, str]],
    output: Path,
    *,
    total: int,
    level: int,
    threads: int,
    password: str | None,
    advance: Callable[[int], None],
    memory_bytes: int = memory.TASK_BUDGET_BYTES,
) -> None:
    """Write ``inputs`` (path, name in the archive; ``total`` bytes in all) as one
    solid 7z at ``output``, which exists (the caller reserved the name) and is
    replaced, complete and fsynced.

    ``advance(n)`` is told of input bytes as 7-Zip reads them; an exception it
    raises stops the child, and the caller removes ``output``. The child's
    address space is capped at ``memory_bytes``, and it encodes as many
    blocks at once as fit (``threads`` at most).

    :raise CompressionError: if 7-Zip cannot read an input or write the archive.
    """
    threads = fit_threads(level, total, threads, memory_bytes)
    job = {
        "inputs": [[str(path), name] for path, name in inputs],
        "output": str(output),
        "level": level,
        "method": method(level, total, threads),
        "password": password,
        "memory_bytes": memory_bytes,
    }
    with tempfile.TemporaryFile() as errors:
        done, error, status = _run(job, advance, errors)
        if status == 0:
            advance(max(0, total - done))
            return
        errors.seek(0)
        detail = error or errors.read().decode(errors="replace")[-STDERR_TAIL_CHARS:].strip()
    raise CompressionError(f"7-Zip could not write the archive: {detail or f'exit status {status}'}")


def _run(job: dict, advance: Callable[[int], None], errors) -> tuple[int, str | None, int]:
    """Run the child; (input bytes it reported done, its error message, its exit status)."""
    done, error = 0, None
    process = subprocess.Popen(
        [sys.executable, "-m", CHILD_MODULE], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=errors,
        env={**os.environ, **CHILD_ENVIRONMENT},
    )
    try:
        try:
            process.stdin.write(json.dumps(job).encode())
            process.stdin.close()
        except BrokenPipeError:
            pass  # the child died at once: its status and stderr say why
        for line in process.stdout:
            try:
                message = json.loads(line)
            except ValueError:
                message = None
            if not isinstance(message, dict):
                continue  # not ours: 7-Zip's library printed something
            if "done" in message:
                advance(message["done"] - done)
                done = message["done"]
            else:
                error = message.get("error")
        return done, error, process.wait()
    except BaseException:
        process.kill()
        raise
    finally:
        process.stdout.close()
        process.wait()
