"""The per-task memory budget: children capped by the kernel, writers sized to fit."""

from __future__ import annotations

import os
import subprocess

import pytest

from comprimemelo.compression import (
    ArchiveFormat,
    CompressionError,
    InputFile,
    bit7z_process,
    compress,
    memory,
    sevenzip,
)

MIB = 2**20
KIB = 2**10


def run_7zip_child(tmp_path, memory_bytes: int) -> subprocess.CompletedProcess:
    """7-Zip's child process as ``write_7z`` starts it, with a job whose cap is ``memory_bytes``."""
    source = tmp_path / "in"
    source.write_bytes(os.urandom(4 * MIB) + b"some text to find matches in " * (12 * MIB // 29))
    output = tmp_path / "out.7z"
    output.touch()
    job = {"inputs": [[str(source), "in"]], "output": str(output), "level": 5, "method": "LZMA2:mt=1",
           "password": None, "memory_bytes": memory_bytes, "engine": sevenzip.engine_dir()}
    return subprocess.run(sevenzip.child_command(), input=bit7z_process.encode_job(job),
                          capture_output=True, env={**os.environ, **sevenzip.CHILD_ENVIRONMENT})


def test_the_7zip_child_cannot_pass_its_memory_cap(tmp_path):
    """-mx5 needs about 220 MB here: under a 120 MiB cap the kernel refuses its allocations."""
    capped = run_7zip_child(tmp_path, 120 * MIB)
    assert capped.returncode == 1
    assert "memory budget of 120 MiB" in capped.stdout.decode() or "memory budget is 120 MiB" in capped.stdout.decode()
    roomy = run_7zip_child(tmp_path, memory.TASK_BUDGET_BYTES)
    assert roomy.returncode == 0, roomy.stdout + roomy.stderr


@pytest.mark.parametrize("fmt", list(ArchiveFormat), ids=str)
def test_a_budget_too_small_for_one_thread_is_a_clear_error_and_no_file(tmp_path, fmt):
    source = tmp_path / "in"
    source.write_bytes(b"x" * 100_000)
    with pytest.raises(CompressionError, match="memory budget of 8 MiB"):
        compress([InputFile(source, "in")], tmp_path / f"out{fmt.extension}", fmt, memory_budget=8 * MIB)
    assert sorted(path.name for path in tmp_path.iterdir()) == ["in"]


def test_xz_at_level_9_on_four_cores_uses_the_threads_that_fit():
    assert memory.writer_threads(ArchiveFormat.TAR_XZ, 9, 4, memory.TASK_BUDGET_BYTES) == 2
    assert memory.writer_threads(ArchiveFormat.TAR_XZ, 6, 4, memory.TASK_BUDGET_BYTES) == 4
    assert memory.writer_bytes(ArchiveFormat.TAR_XZ, 9, 2) <= memory.TASK_BUDGET_BYTES


def test_7z_at_level_9_on_four_cores_encodes_the_blocks_that_fit():
    big = 2 * 2**30
    assert sevenzip.fit_threads(9, big, 4, memory.TASK_BUDGET_BYTES) == 3
    assert sevenzip.fit_threads(5, big, 4, memory.TASK_BUDGET_BYTES) == 4
    assert sevenzip.method(9, big, 3) == "LZMA2:c=64m:mt=6"


@pytest.mark.parametrize("level, blocks, block_mib, measured_kib", [
    (1, 2, 8, 170_352), (5, 2, 32, 920_828), (9, 4, 16, 1_009_688), (9, 2, 64, 1_611_068)])
def test_the_7z_estimate_is_above_every_peak_measured(level, blocks, block_mib, measured_kib):
    dictionary = sevenzip.DICT_BYTES.get(level, sevenzip.MAX_BLOCK_BYTES)
    estimate = memory.seven_zip_bytes(level, blocks, block_mib * MIB, dictionary)
    assert measured_kib * KIB <= estimate <= 1.1 * measured_kib * KIB or level == 1


def test_four_tasks_fit_a_worker_vm():
    """c2d-standard-4, the worker's machine type (terraform/variables.tf): 16 GB, four tasks at once."""
    worker_vm_bytes = 16 * 10**9
    assert 4 * memory.TASK_BUDGET_BYTES < worker_vm_bytes - 2 * 2**30
