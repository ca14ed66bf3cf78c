"""The ``comprimemelo`` command's entry point.

``comprimemelo compress`` imports the compression core and nothing else (no
settings, web, database or cloud modules): for a small file, start-up is
most of the command's time. The remote commands (``login``, ``submit``, ...)
go to the client's own command line, past the service's modules. Every
other command goes to ``cli``.
"""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["compress"]:
        from comprimemelo.compression.cli import main as compress_main

        return compress_main(argv)
    from comprimemelo.client.parsers import REMOTE_COMMANDS

    if argv[:1] and argv[0] in REMOTE_COMMANDS:
        from comprimemelo.client.parsers import main as remote_main

        return remote_main(argv)
    from comprimemelo.cli import main as service_main

    return service_main(argv)
