"""The ``comprimemelo`` command's entry point.

``comprimemelo compress`` imports the compression core and nothing else (no
settings, web, database or cloud modules): for a small file, start-up is
most of the command's time. Every other command goes to ``cli``.
"""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["compress"]:
        from comprimemelo.compression.cli import main as compress_main

        return compress_main(argv)
    from comprimemelo.cli import main as service_main

    return service_main(argv)
