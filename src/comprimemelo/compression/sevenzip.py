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

import os
import subprocess
import sys
from collections.abc import Callable, Sequence
from importlib.machinery import PathFinder

from comprimemelo.compression import bit7z_process, memory
from comprimemelo.compression.errors import CompressionError

MIB = 1024 * 1024
CHILD_SCRIPT = os.path.join(os.path.dirname(__file__), "bit7z_process.py")
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


def child_command() -> list[str]:
    """The 7-Zip child's command line: isolated (``-I``: no environment
    variables, no script directory on the path) and without site (``-S``)."""
    return [sys.executable, "-I", "-S", CHILD_SCRIPT]


def engine_dir() -> str:
    """pybit7z's package directory (found, not imported: the child loads it).

    :raise CompressionError: if pybit7z is not installed.
    """
    spec = PathFinder.find_spec("pybit7z")
    if spec is None or not spec.submodule_search_locations:
        raise CompressionError("7z needs pybit7z (7-Zip's engine), which is not installed")
    return spec.submodule_search_locations[0]


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
    inputs: Sequence[tuple[str | os.PathLike, str]],
    output: str | os.PathLike,
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
        "engine": engine_dir(),
    }
    done, error, other, status = _run(job, advance)
    if status == 0:
        advance(max(0, total - done))
        return
    detail = error or other.decode(errors="replace").strip()
    raise CompressionError(f"7-Zip could not write the archive: {detail or f'exit status {status}'}")


def _run(job: dict, advance: Callable[[int], None]) -> tuple[int, str | None, bytes, int]:
    """Run the child; (input bytes it reported done, its error message, the
    tail of its other output, its exit status).

    Its stderr joins its stdout: one pipe, read to the end, cannot fill up
    while the parent waits on the other.
    """
    done, error, other = 0, None, b""
    process = subprocess.Popen(
        child_command(), stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        env={**os.environ, **CHILD_ENVIRONMENT},
    )
    try:
        try:
            process.stdin.write(bit7z_process.encode_job(job))
            process.stdin.close()
        except BrokenPipeError:
            pass  # the child died at once: its status and output say why
        for line in process.stdout:
            message = bit7z_process.read_message(line)
            if message is None:  # not ours: 7-Zip's library or a traceback printed it
                other = (other + line)[-STDERR_TAIL_CHARS:]
            elif "done" in message:
                advance(message["done"] - done)
                done = message["done"]
            else:
                error = message.get("error")
        return done, error, other, process.wait()
    except BaseException:
        process.kill()
        raise
    finally:
        process.stdout.close()
        process.wait()
