"""The child process that runs 7-Zip's engine for ``sevenzip.write_7z``.

Run as ``python -m comprimemelo.compression.bit7z_process``. The job (one JSON
object, password included) arrives on stdin; progress and any error leave as
JSON lines on stdout. Exit status 0 means the archive is complete and fsynced.
If the parent goes away, the next progress line cannot be written and 7-Zip
is told to stop.

Its address space is capped at the job's ``memory_bytes`` (``RLIMIT_AS``)
before 7-Zip allocates anything: past it an allocation fails, and the child
reports that the task's memory budget was exceeded.
"""

from __future__ import annotations

import json
import os
import resource
import sys
from typing import TextIO

import pybit7z


def run(job: dict, report: TextIO) -> int:
    def send(message: dict) -> bool:
        try:
            report.write(json.dumps(message) + "\n")
            report.flush()
        except OSError:  # the parent is gone
            return False
        return True

    try:
        with pybit7z.lib7zip_context() as lib:
            writer = pybit7z.BitArchiveWriter(lib, pybit7z.FormatSevenZip)
            # The parent reserved the output's name; 7-Zip writes a new file over it.
            writer.set_overwrite_mode(pybit7z.OverwriteMode.Overwrite)
            writer.set_compression_level(job["level"])
            writer.set_solid_mode(True)
            # No attributes: the server's file modes are not the user's business,
            # and extractors then apply their defaults (0644 under umask 022).
            writer.set_format_property("tr", pybit7z.BitPropVariant(False))
            if job["method"]:
                writer.set_format_property("0", pybit7z.BitPropVariant(job["method"]))
            if job["password"] is not None:
                writer.set_password(job["password"], pybit7z.EncryptionScope.DataAndHeaders)
            writer.set_progress_callback(lambda done: send({"done": done}))
            for path, name in job["inputs"]:
                writer.add_file(path, name)
            writer.compress_to(job["output"])
        descriptor = os.open(job["output"], os.O_RDONLY)
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)
    except MemoryError:
        send({"error": f"7-Zip needs more memory than the task's budget of {job['memory_bytes'] // 2**20} MiB"})
        return 1
    except (pybit7z.BitException, OSError) as error:
        message = str(error)
        if "memory" in message.lower():
            message += f" (the task's memory budget is {job['memory_bytes'] // 2**20} MiB)"
        send({"error": message})
        return 1
    return 0


def main() -> int:
    job = json.load(sys.stdin)
    if "prove" in job:  # not a compression: verify.prove_encrypted's opening of a 7z
        from comprimemelo.compression.verify import open_7z_proof

        problem = open_7z_proof(job["prove"], job["password"], job["members"])
        sys.stdout.write(json.dumps({"problem": problem}) + "\n")
        return 0
    limit = job.get("memory_bytes")
    if limit:
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    return run(job, sys.stdout)


if __name__ == "__main__":
    sys.exit(main())
