"""The compression benchmark: the core library against the best command-line tool
for each format, at the same level and thread count, on fixed 64 MiB corpora.

Every (corpus, format, tool) is measured ``repeats`` times, interleaved, and the
median wall time is kept; sizes are deterministic.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger("capacity")

CORPUS_SCRIPT = Path(os.environ.get("CAPACITY_CORPUS_SCRIPT", "/work/shared/corpus/make_corpus.py"))
CORPUS_DIR = Path(os.environ.get("CAPACITY_CORPUS_DIR", "~/.cache/comprimemelo-corpus")).expanduser()
CORPORA = ("text", "binary", "mixed")
MB = 1e6


@dataclass(frozen=True)
class Reference:
    """A command-line baseline; ``{src}`` is the input file name (run in its folder),
    ``{out}`` the output path, ``{t}`` the thread count."""

    format: str
    level: int
    command: str
    target: float  # the core must reach this fraction of the tool's speed


REFERENCES = (
    Reference("zip", 6, "zip -6 -q {out} {src}", 1.0),
    Reference("zip", 6, "pigz -6 -p{t} -c {src} > {out}", 1.0),
    Reference("7z", 5, "{sevenzip} a -mx5 -mmt{t} -bd -bso0 -bsp0 {out} {src}", 1.0),
    Reference("tar.gz", 6, "tar -cf - {src} | pigz -6 -p{t} > {out}", 1.0),
    Reference("tar.bz2", 9, "tar -cf - {src} | pbzip2 -9 -p{t} > {out}", 1.0),
    Reference("tar.xz", 6, "tar -cf - {src} | xz -6 -T{t} > {out}", 1.0),
    Reference("tar.zst", 3, "tar -cf - {src} | zstd -q -3 -T{t} > {out}", 0.9),
)
TOOLS = ("zip", "pigz", "pbzip2", "xz", "zstd", "tar")
SEVEN_ZIP_NAMES = ("7zz", "7z")


class ToolMissing(RuntimeError):
    """A reference command-line tool is not installed (and CI requires every one)."""


def seven_zip() -> str | None:
    """The 7-Zip command (``7zz`` from Debian's 7zip package, or ``7z``), or ``None``."""
    return next((name for name in SEVEN_ZIP_NAMES if shutil.which(name)), None)


def missing_tools(reference: Reference) -> list[str]:
    """The programs a reference command needs that are not on ``PATH``."""
    needed = {"zip": ["zip"], "7z": [seven_zip() or "7zz"]}.get(reference.format, ["tar"])
    needed += [word for word in ("pigz", "pbzip2", "xz", "zstd") if f"| {word} " in reference.command
               or reference.command.startswith(word + " ")]
    return [tool for tool in needed if not shutil.which(tool)]


def ensure_corpus(directory: Path = CORPUS_DIR, script: Path = CORPUS_SCRIPT,
                  corpora: tuple[str, ...] | list[str] = CORPORA) -> Path:
    """Build the corpora into ``directory`` once (they are deterministic), then reuse them."""
    if all((directory / f"{name}.bin").is_file() for name in corpora):
        return directory
    directory.mkdir(parents=True, exist_ok=True)
    log.info("building the corpora in %s", directory)
    subprocess.run([sys.executable, str(script), str(directory)], check=True)
    return directory


def tool_versions() -> dict:
    versions = {}
    for tool in (*TOOLS, seven_zip() or "7zz"):
        path = shutil.which(tool)
        if not path:
            versions[tool] = "missing"
            continue
        flag = {"zip": "-v", "pbzip2": "-V", "7zz": "", "7z": ""}.get(tool, "--version")
        result = subprocess.run([tool, *([flag] if flag else [])], capture_output=True, text=True)
        text = (result.stdout or result.stderr).strip().splitlines()
        versions[tool] = next((line.strip() for line in text if line.strip()), "unknown")[:100]
    return versions


def _time_cli(command: str, cwd: Path) -> float:
    started = time.perf_counter()
    subprocess.run(["bash", "-c", "set -euo pipefail; " + command], cwd=cwd, check=True)
    return time.perf_counter() - started


def _time_core(source: Path, output: Path, fmt: str, level: int, threads: int) -> float:
    from comprimemelo.compression import ArchiveFormat, InputFile, compress

    started = time.perf_counter()
    compress([InputFile(source, source.name)], output, ArchiveFormat(fmt), level, threads=threads)
    return time.perf_counter() - started


def run_benchmark(
    corpora: list[str], formats: list[str] | None, repeats: int, threads: int, work: Path | None = None,
    corpus_dir: Path = CORPUS_DIR, require_tools: bool = False,
) -> dict:
    """Measure; return the summary (rows of core vs reference per corpus and format).

    A reference whose tool is missing is skipped (and listed in ``skipped``);
    :raise ToolMissing: instead when ``require_tools`` (CI).
    """
    directory = ensure_corpus(Path(corpus_dir), corpora=corpora)
    sevenzip = seven_zip() or "7zz"
    skipped = []
    for ref in REFERENCES:
        missing = missing_tools(ref)
        if missing and (not formats or ref.format in formats):
            if require_tools:
                raise ToolMissing(f"{', '.join(missing)} not installed, needed for: {ref.command}")
            skipped.append({"format": ref.format, "reference": ref.command, "missing": missing})
    skipped_commands = {s["reference"] for s in skipped}
    rows = []
    scratch = Path(tempfile.mkdtemp(prefix="capacity-bench-", dir=work))
    try:
        for corpus in corpora:
            source = directory / f"{corpus}.bin"
            size = source.stat().st_size
            references = [r for r in REFERENCES
                          if (not formats or r.format in formats) and r.command not in skipped_commands]
            core_cache: dict[str, tuple[float, int]] = {}
            for ref in references:
                core_out = scratch / f"core.{ref.format}"
                ref_out = scratch / f"ref.{ref.format}"
                core_times, ref_times = [], []
                command = ref.command.format(src=source.name, out=ref_out, t=threads, sevenzip=sevenzip)
                for _ in range(repeats):
                    if ref.format not in core_cache:
                        core_out.unlink(missing_ok=True)
                        core_times.append(_time_core(source, core_out, ref.format, ref.level, threads))
                    ref_out.unlink(missing_ok=True)
                    ref_times.append(_time_cli(command, directory))
                if ref.format not in core_cache:
                    core_cache[ref.format] = (statistics.median(core_times), core_out.stat().st_size)
                core_seconds, core_bytes = core_cache[ref.format]
                ref_seconds, ref_bytes = statistics.median(ref_times), ref_out.stat().st_size
                row = {
                    "corpus": corpus, "format": ref.format, "level": ref.level,
                    "core_seconds": round(core_seconds, 3), "core_mb_s": size / MB / core_seconds,
                    "core_ratio": core_bytes / size, "core_bytes": core_bytes,
                    "reference": ref.command.format(src="FILE", out="OUT", t=threads, sevenzip=sevenzip),
                    "ref_seconds": round(ref_seconds, 3), "ref_mb_s": size / MB / ref_seconds,
                    "ref_ratio": ref_bytes / size, "ref_bytes": ref_bytes,
                    "speed_vs_ref": ref_seconds / core_seconds, "size_vs_ref": core_bytes / ref_bytes,
                    "target": ref.target,
                }
                rows.append(row)
                log.info(
                    "%-6s %-7s core %6.1f MB/s ratio %.3f | %-40s %6.1f MB/s ratio %.3f | %.2fx",
                    corpus, ref.format, row["core_mb_s"], row["core_ratio"], row["reference"][:40],
                    row["ref_mb_s"], row["ref_ratio"], row["speed_vs_ref"],
                )
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    manifest = directory / "MANIFEST.txt"
    corpora_facts = {
        name: line.split(" ", 2)[-1]
        for name in corpora
        for line in (manifest.read_text().splitlines() if manifest.exists() else [])
        if line.startswith(f"{name}.bin ")
    }
    return {
        "mode": "bench-compression",
        "repeats": repeats,
        "threads": threads,
        "rows": rows,
        "skipped": skipped,
        "corpora": {"folder": str(directory), "script": str(CORPUS_SCRIPT), **corpora_facts},
        "tools": tool_versions(),
    }
