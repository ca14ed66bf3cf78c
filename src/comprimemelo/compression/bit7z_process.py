"""The child process that runs 7-Zip's engine for ``sevenzip.write_7z``.

Run as ``python -I -S bit7z_process.py`` (``sevenzip.child_command``): no site,
no package, only the standard library and pybit7z's compiled core, loaded
from the directory the job names. Its start-up is then about 10 ms, where
``python -m`` and ``import pybit7z`` took 65 ms (the package's ``__init__``
imports importlib_metadata, pathlib and typing to find a library path the
parent already knows).

The job (one JSON object, password included) arrives on stdin; progress and
any error leave as JSON lines on stdout. Exit status 0 means the archive is
complete and fsynced. If the parent goes away, the next progress line cannot
be written and 7-Zip is told to stop.

Its address space is capped at the job's ``memory_bytes`` (``RLIMIT_AS``)
before 7-Zip allocates anything: past it an allocation fails, and the child
reports that the task's memory budget was exceeded.
"""

from __future__ import annotations

import marshal
import os
import resource
import sys
from importlib.machinery import PathFinder

ENGINE_MODULE = "pybit7z._core"
PROGRESS_PREFIX = b'{"done": '


def encode_job(job: dict) -> bytes:
    """The job as the child reads it on stdin."""
    return marshal.dumps(job)


def read_message(line: bytes) -> dict | None:
    """A line of the child's output as its message, or None if the line is not
    one (7-Zip's library or a traceback printed it)."""
    if line.startswith(PROGRESS_PREFIX) and line.endswith(b"}\n"):
        done = line[len(PROGRESS_PREFIX):-2]
        return {"done": int(done)} if done.isdigit() else None
    if not line.startswith(b"{"):
        return None
    import json

    try:
        message = json.loads(line)
    except ValueError:
        return None
    return message if isinstance(message, dict) else None


def load_engine(package_dir: str):
    """pybit7z's compiled core (the same module ``import pybit7z`` would load)."""
    engine = sys.modules.get(ENGINE_MODULE)
    if engine is None:
        spec = PathFinder.find_spec("_core", [package_dir])
        if spec is None:
            raise OSError(f"pybit7z's engine is not in {package_dir}")
        engine = spec.loader.create_module(spec)
        spec.loader.exec_module(engine)
        sys.modules[ENGINE_MODULE] = engine
    return engine


def open_library(engine, package_dir: str):
    """7-Zip's shared library as ``pybit7z.lib7zip_context()`` opens it (large pages on)."""
    library = engine.Bit7zLibrary(os.path.join(package_dir, engine.platform_lib7zip_name()))
    library.use_large_pages()
    return library


def run(job: dict, report) -> int:
    def write(line: str) -> bool:
        try:
            report.write(line)
            report.flush()
        except OSError:  # the parent is gone
            return False
        return True

    def send(message: dict) -> bool:
        import json

        return write(json.dumps(message) + "\n")

    budget = f"{job['memory_bytes'] // 2**20} MiB" if job.get("memory_bytes") else None
    try:
        engine = load_engine(job["engine"])
    except (ImportError, OSError) as error:
        send({"error": f"7-Zip's engine could not be loaded: {error}"})
        return 1
    try:
        writer = engine.BitArchiveWriter(open_library(engine, job["engine"]), engine.FormatSevenZip)
        # The parent reserved the output's name; 7-Zip writes a new file over it.
        writer.set_overwrite_mode(engine.OverwriteMode.Overwrite)
        writer.set_compression_level(job["level"])
        writer.set_solid_mode(True)
        # No attributes: the server's file modes are not the user's business,
        # and extractors then apply their defaults (0644 under umask 022).
        writer.set_format_property("tr", engine.BitPropVariant(False))
        if job["method"]:
            writer.set_format_property("0", engine.BitPropVariant(job["method"]))
        if job["password"] is not None:
            writer.set_password(job["password"], engine.EncryptionScope.DataAndHeaders)
        writer.set_progress_callback(lambda done: write(f"{PROGRESS_PREFIX.decode()}{int(done)}}}\n"))
        for path, name in job["inputs"]:
            writer.add_file(path, name)
        writer.compress_to(job["output"])
        descriptor = os.open(job["output"], os.O_RDONLY)
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)
    except MemoryError:
        send({"error": f"7-Zip needs more memory than the task's budget of {budget}"})
        return 1
    except (engine.BitException, OSError) as error:
        message = str(error)
        if budget and "memory" in message.lower():
            message += f" (the task's memory budget is {budget})"
        send({"error": message})
        return 1
    return 0


def main() -> int:
    job = marshal.load(sys.stdin.buffer)
    if "prove" in job:  # not a compression: verify.prove_encrypted's opening of a 7z
        sys.path[:0] = job["path"]
        import json

        from comprimemelo.compression.verify import open_7z_proof

        engine = load_engine(job["engine"])
        problem = open_7z_proof(engine, open_library(engine, job["engine"]), job["prove"], job["password"],
                                job["members"])
        sys.stdout.write(json.dumps({"problem": problem}) + "\n")
        return 0
    limit = job.get("memory_bytes")
    if limit:
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    return run(job, sys.stdout)


if __name__ == "__main__":
    status = main()
    sys.stdout.flush()
    # Done: the archive is fsynced and the answer written. Tearing down the
    # interpreter and 7-Zip's library would only add 2-3 ms to every archive.
    os._exit(status)
