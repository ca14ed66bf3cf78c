"""Every task's memory budget, and what each writer needs within it.

A task may use at most ``TASK_BUDGET_BYTES`` (3 GiB): a c2d-standard-4
worker VM (16 GB) runs four tasks at once (its concurrency is its cores)
with room left for the worker and the page cache. The budget holds two ways:

- Child processes (7-Zip's engine for 7z, lbzip2 for tar.bz2) run with their
  address space capped at the budget (``RLIMIT_AS``): an allocation past it
  fails, and so does the task, with a ``CompressionError`` that names the
  budget. Nothing estimated: the kernel enforces it.
- The in-process writers (zip, tar.gz, tar.xz, tar.zst, and tar.bz2 without
  lbzip2) hold a bounded number of blocks (two per thread, ``parallel``) and
  one encoder per thread, whose sizes are known; ``fit_threads`` lowers the
  thread count until that bound fits the budget, and refuses a level whose
  single thread does not fit.

7z is the large one: 7-Zip's LZMA2 encoder holds about 11 times its
dictionary per block (two 64 MiB blocks at -mx9: 1.57 GiB of address space,
1.3 GiB resident), so the blocks it encodes at once are chosen to fit
(``seven_zip_bytes``, from the figures measured here): at -mx9 on four cores,
an input of 256 MiB or more is encoded three blocks at a time (2.3 GiB), not
four (3.0 GiB, past the budget).
"""

from __future__ import annotations

from comprimemelo.compression import extensions
from comprimemelo.compression.errors import CompressionError
from comprimemelo.compression.formats import ArchiveFormat
from comprimemelo.compression.parallel import BZIP2_BLOCK_BYTES, GZIP_MEMBER_BYTES, XZ_BLOCK_BYTES

MIB = 1024 * 1024
GIB = 1024 * MIB
TASK_BUDGET_BYTES = 3 * GIB
# 7-Zip's child (VmPeak, MALLOC_ARENA_MAX=2) is modelled from four runs:
# blocks x size -> measured: 2 x 8 MiB at -mx1 166 MiB, 2 x 32 MiB at -mx5
# 899 MiB, 4 x 16 MiB at -mx9 986 MiB, 2 x 64 MiB at -mx9 1,573 MiB. A fit
# gives 138 MiB with no block, and per block 8.53 times its dictionary (at
# most the block), twice the block (its input and output) and 44 MiB (two
# threads' stacks and arenas). The figures below round each up (3-5% over
# every run), so the estimate that picks the blocks errs high.
SEVEN_Z_BASE_BYTES = 150 * MIB
SEVEN_Z_DICTIONARY_FACTOR = 8.75
SEVEN_Z_BUFFERS_PER_BLOCK = 2
SEVEN_Z_FIXED_PER_BLOCK = 48 * MIB
# lbzip2 -9 -n4 ran in 100 MiB of address space and failed in 60 (its
# threads' stacks are 8 MiB each; resident: 22 MB at -n2, 42 MB at -n4).
LBZIP2_BYTES_PER_THREAD = 32 * MIB
LBZIP2_BASE_BYTES = 64 * MIB
# liblzma's encoder memory per preset (xz(1), "-0" ... "-9"), per thread.
XZ_ENCODER_BYTES = {0: 3 * MIB, 1: 9 * MIB, 2: 17 * MIB, 3: 32 * MIB, 4: 48 * MIB, 5: 94 * MIB,
                    6: 94 * MIB, 7: 186 * MIB, 8: 370 * MIB, 9: 674 * MIB}
# Blocks a parallel writer holds per thread (input queued or compressing, and
# its output), as ``parallel._BlockWriter.max_pending_per_thread`` allows.
BLOCKS_PER_THREAD = 2
# Python and the core themselves, before any writer.
PROCESS_BASE_BYTES = 64 * MIB
_WRITER_BLOCK_BYTES = {ArchiveFormat.ZIP: GZIP_MEMBER_BYTES, ArchiveFormat.TAR_GZ: GZIP_MEMBER_BYTES,
                       ArchiveFormat.TAR_BZ2: BZIP2_BLOCK_BYTES}


def seven_zip_bytes(level: int, blocks: int, block_bytes: int, dictionary_bytes: int) -> int:
    """What 7-Zip's child needs with ``blocks`` LZMA2 blocks encoding at once."""
    if level == 0:
        return SEVEN_Z_BASE_BYTES
    per_block = SEVEN_Z_DICTIONARY_FACTOR * min(dictionary_bytes, block_bytes)
    per_block += SEVEN_Z_BUFFERS_PER_BLOCK * block_bytes + SEVEN_Z_FIXED_PER_BLOCK
    return int(SEVEN_Z_BASE_BYTES + blocks * per_block)


def writer_threads(fmt: ArchiveFormat, level: int, threads: int, budget: int) -> int:
    """The threads an in-process writer of ``fmt`` (not 7z) may use within ``budget``.

    :raise CompressionError: if one thread does not fit.
    """
    return fit_threads(lambda count: writer_bytes(fmt, level, count), threads, budget,
                       f"{fmt.value} at level {level}")


def writer_bytes(fmt: ArchiveFormat, level: int, threads: int) -> int:
    """The most an in-process writer of ``fmt`` holds with ``threads`` threads."""
    block_bytes = _WRITER_BLOCK_BYTES.get(fmt, 0)
    if fmt is ArchiveFormat.TAR_XZ:
        # balanced_block_bytes may grow the preset's block by up to half.
        block_bytes = XZ_BLOCK_BYTES[level] * 3 // 2
    if fmt is ArchiveFormat.TAR_XZ:
        per_thread = XZ_ENCODER_BYTES[level] + BLOCKS_PER_THREAD * block_bytes
    elif fmt is ArchiveFormat.TAR_ZST:
        params = extensions.zstandard().ZstdCompressionParameters.from_level(level)
        # libzstd's context per worker, and a job's input and output (four windows each).
        per_thread = params.estimated_compression_context_size() + 8 * (1 << params.window_log)
    else:  # deflate, bzip2: small encoders, blocks of a few MiB and their output
        per_thread = 2 * BLOCKS_PER_THREAD * block_bytes + 4 * MIB
    return PROCESS_BASE_BYTES + threads * per_thread + block_bytes


def lbzip2_threads(threads: int, budget: int) -> int:
    """The threads lbzip2 may use within ``budget`` (it then runs capped at ``budget``)."""
    return fit_threads(lambda count: LBZIP2_BASE_BYTES + count * LBZIP2_BYTES_PER_THREAD, threads, budget,
                       "lbzip2")


def fit_threads(need, threads: int, budget: int, what: str) -> int:
    """The most threads (up to ``threads``) for which ``need(threads)`` fits ``budget``.

    :raise CompressionError: if one thread does not fit.
    """
    for count in range(max(1, threads), 0, -1):
        if need(count) <= budget:
            return count
    raise CompressionError(
        f"{what} needs {need(1) // MIB} MiB, more than the task's memory budget of {budget // MIB} MiB"
    )
