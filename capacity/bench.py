"""The compression benchmark: the core library against the best command-line tool
for each format, at the same level and thread count, on fixed 64 MiB corpora.

Every (corpus, format, tool) is measured ``repeats`` times, interleaved, and the
median wall time is kept; sizes are deterministic.

Two modes: ``library`` times ``compress()`` in this process (the core's own
speed); ``process`` times the ``comprimemelo compress`` command as a whole
process, start-up included, against each tool's command on the same file,
and also the command's start-up alone (an empty file, ``STARTUP_RUNS`` runs).
"""

from __future__ import annotations

import importlib.metadata
import logging
import os
import resource
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
    # libdeflate-gzip has no threads: the target is 1.5x its one core.
    Reference("tar.gz", 6, "tar -cf - {src} | libdeflate-gzip -6 > {out}", 1.5),
    Reference("tar.bz2", 9, "tar -cf - {src} | pbzip2 -9 -p{t} > {out}", 1.0),
    Reference("tar.bz2", 9, "tar -cf - {src} | lbzip2 -9 -n{t} > {out}", 1.0),
    Reference("tar.xz", 6, "tar -cf - {src} | xz -6 -T{t} > {out}", 1.0),
    Reference("tar.xz", 6, "tar -cf - {src} | pixz -6 -p{t} > {out}", 1.0),
    Reference("tar.zst", 3, "tar -cf - {src} | zstd -q -3 -T{t} > {out}", 1.0),
)
PIPED_TOOLS = ("pigz", "libdeflate-gzip", "pbzip2", "lbzip2", "xz", "pixz", "zstd")
TOOLS = ("zip", *PIPED_TOOLS, "tar")
VERSION_FLAGS = {"zip": "-v", "pbzip2": "-V", "libdeflate-gzip": "-V", "lbzip2": "-V", "pixz": "-h", "7zz": "", "7z": ""}
MODES = ("library", "process")
STARTUP_RUNS = 30
# The process mode's side: the command as a user runs it (this environment's).
COMPRIMEMELO = Path(sys.executable).with_name("comprimemelo")
CORE_COMMAND = "{comprimemelo} compress {src} --format {fmt} --level {level} --threads {t} -o {out} > /dev/null"
SEVEN_ZIP_NAMES = ("7zz", "7z")


class ToolMissing(RuntimeError):
    """A reference command-line tool is not installed (and CI requires every one)."""


def seven_zip() -> str | None:
    """The 7-Zip command (``7zz`` from Debian's 7zip package, or ``7z``), or ``None``."""
    return next((name for name in SEVEN_ZIP_NAMES if shutil.which(name)), None)


def missing_tools(reference: Reference) -> list[str]:
    """The programs a reference command needs that are not on ``PATH``."""
    needed = {"zip": ["zip"], "7z": [seven_zip() or "7zz"]}.get(reference.format, ["tar"])
    needed += [word for word in PIPED_TOOLS if f"| {word} " in reference.command
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
        flag = VERSION_FLAGS.get(tool, "--version")
        result = subprocess.run([tool, *([flag] if flag else [])], capture_output=True, text=True)
        text = (result.stdout or result.stderr).strip().splitlines()
        versions[tool] = next((line.strip() for line in text if line.strip()), "unknown")[:100]
    return versions


def _cpu_seconds(who: int) -> float:
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


def _time_cli(command: str, cwd: Path) -> tuple[float, float]:
    """Wall seconds, and CPU seconds of every process of the pipeline."""
    cpu, started = _cpu_seconds(resource.RUSAGE_CHILDREN), time.perf_counter()
    subprocess.run(["bash", "-c", "set -euo pipefail; " + command], cwd=cwd, check=True)
    return time.perf_counter() - started, _cpu_seconds(resource.RUSAGE_CHILDREN) - cpu


def _measure_format(fmt: str, references: list[Reference], source: Path, size: int, scratch: Path,
                    directory: Path, repeats: int, threads: int, sevenzip: str, mode: str = "library") -> list[dict]:
    level = references[0].level
    core_out = scratch / f"core.{fmt}"
    outs = [scratch / f"ref{index}.{fmt}" for index in range(len(references))]
    commands = [ref.command.format(src=source.name, out=out, t=threads, sevenzip=sevenzip)
                for ref, out in zip(references, outs)]
    core_times: list[tuple[float, float]] = []
    ref_times: list[list[tuple[float, float]]] = [[] for _ in references]
    load = [os.getloadavg()[0]]
    for repeat in range(repeats):
        def run_core() -> None:
            core_out.unlink(missing_ok=True)
            if mode == "process":
                core_times.append(_time_cli(_core_command(source.name, core_out, fmt, level, threads), directory))
            else:
                core_times.append(_time_core(source, core_out, fmt, level, threads))

        def run_refs() -> None:
            for times, out, command in zip(ref_times, outs, commands):
                out.unlink(missing_ok=True)
                times.append(_time_cli(command, directory))

        for step in ((run_core, run_refs) if repeat % 2 == 0 else (run_refs, run_core)):
            step()
    load.append(os.getloadavg()[0])
    core_seconds, core_bytes = statistics.median(t for t, _ in core_times), core_out.stat().st_size
    core_cpu = statistics.median(c for _, c in core_times)
    rows = []
    for ref, out, times in zip(references, outs, ref_times):
        ref_seconds, ref_bytes = statistics.median(t for t, _ in times), out.stat().st_size
        ref_cpu = statistics.median(c for _, c in times)
        row = {
            "corpus": source.stem, "format": fmt, "level": level,
            "core_seconds": round(core_seconds, 3), "core_mb_s": size / MB / core_seconds,
            "core_ratio": core_bytes / size, "core_bytes": core_bytes,
            "core_runs_seconds": [round(t, 3) for t, _ in core_times], "core_cpu_seconds": round(core_cpu, 3),
            "reference": ref.command.format(src="FILE", out="OUT", t=threads, sevenzip=sevenzip),
            "ref_seconds": round(ref_seconds, 3), "ref_mb_s": size / MB / ref_seconds,
            "ref_ratio": ref_bytes / size, "ref_bytes": ref_bytes,
            "ref_runs_seconds": [round(t, 3) for t, _ in times], "ref_cpu_seconds": round(ref_cpu, 3),
            "speed_vs_ref": ref_seconds / core_seconds, "size_vs_ref": core_bytes / ref_bytes,
            "cpu_efficiency_vs_ref": ref_cpu / core_cpu if core_cpu else None,
            "target": ref.target, "load_average_1m": [round(value, 2) for value in load],
        }
        row["verdict"] = verdict(row)
        rows.append(row)
        log.info(
            "%-6s %-7s core %6.1f MB/s ratio %.3f | %-40s %6.1f MB/s ratio %.3f | %.2fx (cpu %.2fx) size %.3f"
            " | load %s | %s",
            source.stem, fmt, row["core_mb_s"], row["core_ratio"], row["reference"][:40],
            row["ref_mb_s"], row["ref_ratio"], row["speed_vs_ref"], row["cpu_efficiency_vs_ref"] or 0,
            row["size_vs_ref"],
            row["load_average_1m"], row["verdict"],
        )
    return rows


def _core_command(src: str, out: Path, fmt: str, level: int, threads: int) -> str:
    return CORE_COMMAND.format(comprimemelo=COMPRIMEMELO, src=src, fmt=fmt, level=level, t=threads, out=out)


def measure_startup(formats: list[str], scratch: Path, threads: int, runs: int = STARTUP_RUNS) -> list[dict]:
    """``comprimemelo compress`` on an empty file, per format: the median and
    the fastest of ``runs`` whole-process runs (a process start, imports,
    an empty archive written and fsynced)."""
    empty = scratch / "empty"
    empty.touch()
    rows = []
    for fmt in formats:
        out = scratch / f"empty.{fmt}"
        level = next(ref.level for ref in REFERENCES if ref.format == fmt)
        command = _core_command(empty.name, out, fmt, level, threads)
        times = []
        for _ in range(runs):
            out.unlink(missing_ok=True)
            times.append(_time_cli(command, scratch)[0])
        bare = statistics.median(_time_cli(f"{sys.executable} -S -c pass", scratch)[0] for _ in range(runs))
        rows.append({"format": fmt, "median_ms": round(1000 * statistics.median(times), 1),
                     "min_ms": round(1000 * min(times), 1), "python_bare_ms": round(1000 * bare, 1),
                     "target_ms": STARTUP_TARGET_MS,
                     "verdict": "met" if 1000 * statistics.median(times) <= STARTUP_TARGET_MS else
                     f"missed: {1000 * statistics.median(times):.0f} ms > {STARTUP_TARGET_MS} ms"})
        log.info("start-up %-7s median %.1f ms (min %.1f; bare python -S %.1f ms)", fmt, rows[-1]["median_ms"],
                 rows[-1]["min_ms"], rows[-1]["python_bare_ms"])
    return rows


STARTUP_TARGET_MS = 50


def compile_package() -> None:
    """Byte-compile the package, as ``pip install`` does: in a checkout run with
    PYTHONDONTWRITEBYTECODE, a module edited since its last compile would be
    compiled anew by every run of the command, milliseconds a user never pays."""
    import compileall

    import comprimemelo

    compileall.compile_dir(os.path.dirname(comprimemelo.__file__), quiet=1)


def core_libraries() -> dict:
    """The versions of the compression libraries the core links."""
    import zlib

    import zstandard

    return {"zlib": zlib.ZLIB_RUNTIME_VERSION, "deflate (libdeflate)": importlib.metadata.version("deflate"),
            "zstandard": zstandard.__version__,
            "libzstd": ".".join(map(str, zstandard.ZSTD_VERSION)), "liblzma": _liblzma_version(),
            "pybit7z (7-Zip)": importlib.metadata.version("pybit7z"), "python": sys.version.split()[0]}


def _liblzma_version() -> str:
    import ctypes
    import ctypes.util

    name = ctypes.util.find_library("lzma")
    if not name:
        return "unknown"
    library = ctypes.CDLL(name)
    library.lzma_version_string.restype = ctypes.c_char_p
    return library.lzma_version_string().decode()


def _time_core(source: Path, output: Path, fmt: str, level: int, threads: int) -> tuple[float, float]:
    """Wall seconds, and CPU seconds of this process (all its threads) and of the
    child processes it waited for (7z runs 7-Zip's engine in one)."""
    from comprimemelo.compression import ArchiveFormat, InputFile, compress

    def cpu_seconds() -> float:
        return _cpu_seconds(resource.RUSAGE_SELF) + _cpu_seconds(resource.RUSAGE_CHILDREN)

    cpu, started = cpu_seconds(), time.perf_counter()
    compress([InputFile(source, source.name)], output, ArchiveFormat(fmt), level, threads=threads)
    return time.perf_counter() - started, cpu_seconds() - cpu


SIZE_TOLERANCE = 1.02  # the core's archive may be at most 2% larger than the tool's


def verdict(row: dict) -> str:
    """``met`` when the core is fast enough and its archive small enough, else what is missed."""
    missed = []
    if row["speed_vs_ref"] < row["target"]:
        missed.append(f"speed {row['speed_vs_ref']:.2f}x < {row['target']:.1f}x")
    if row["size_vs_ref"] > SIZE_TOLERANCE:
        missed.append(f"size {row['size_vs_ref']:.3f} > {SIZE_TOLERANCE}")
    return "met" if not missed else "missed: " + ", ".join(missed)


def run_benchmark(
    corpora: list[str], formats: list[str] | None, repeats: int, threads: int, work: Path | None = None,
    corpus_dir: Path = CORPUS_DIR, require_tools: bool = False, mode: str = "library",
) -> dict:
    """Measure; return the summary (rows of core vs reference per corpus and format).

    For each corpus and format, each repeat runs the core and every reference tool of
    that format back to back, alternating which goes first, so a burst of load from
    elsewhere hits both sides alike; the median of the repeats is kept.

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
    if mode == "process":
        compile_package()
    rows = []
    scratch = Path(tempfile.mkdtemp(prefix="capacity-bench-", dir=work))
    try:
        for corpus in corpora:
            source = directory / f"{corpus}.bin"
            size = source.stat().st_size
            references = [r for r in REFERENCES
                          if (not formats or r.format in formats) and r.command not in skipped_commands]
            for fmt in dict.fromkeys(r.format for r in references):
                rows += _measure_format(fmt, [r for r in references if r.format == fmt], source, size,
                                        scratch, directory, repeats, threads, sevenzip, mode)
        startup = measure_startup(list(dict.fromkeys(r.format for r in REFERENCES if not formats or r.format in formats)),
                                  scratch, threads) if mode == "process" else []
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
        "measured": mode,
        "startup": startup,
        "repeats": repeats,
        "threads": threads,
        "rows": rows,
        "skipped": skipped,
        "corpora": {"folder": str(directory), "script": str(CORPUS_SCRIPT), **corpora_facts},
        "tools": tool_versions(),
        "core_libraries": core_libraries(),
    }
