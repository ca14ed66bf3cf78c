"""What the remote commands cost at start-up, and what a progress library adds::

    python -m capacity.client_startup [--rounds 30]

Each round runs every case once, in turn (interleaved, so a change of load
touches all alike), as a whole process; prints the median and the fastest
wall time of each in milliseconds, the difference against bare Python, and
the machine. The cases: bare ``python -S``-less start-up, importing
``rich.progress`` and ``tqdm`` (the two libraries the bars could use),
``comprimemelo tasks`` when not logged in (the remote command path, without
bars), ``comprimemelo --version`` (the service's command line) and
``comprimemelo compress`` of an empty file (the core's fast path).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from capacity.machine import machine_facts


def cases(folder: Path) -> dict[str, list[str]]:
    empty = folder / "empty.txt"
    empty.write_bytes(b"")
    command = [sys.executable, "-m", "comprimemelo"]
    return {
        "python": [sys.executable, "-c", "pass"],
        "import rich.progress": [sys.executable, "-c", "import rich.progress, rich.console"],
        "import tqdm": [sys.executable, "-c", "import tqdm"],
        "comprimemelo tasks (not logged in)": [*command, "tasks"],
        "comprimemelo --version": [*command, "--version"],
        "comprimemelo compress (empty file)": [*command, "compress", str(empty), "--format", "tar.gz",
                                               "-o", str(folder / "empty.tar.gz")],
    }


def measure(rounds: int) -> dict:
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        env = {"XDG_CONFIG_HOME": str(folder / "config"), "XDG_STATE_HOME": str(folder / "state"),
               "PATH": "/usr/bin:/bin"}
        runs = cases(folder)
        seconds: dict[str, list[float]] = {case: [] for case in runs}
        for _ in range(rounds):
            for case, argv in runs.items():
                began = time.perf_counter()
                subprocess.run(argv, env=env, capture_output=True, check=False)
                seconds[case].append(time.perf_counter() - began)
    base = statistics.median(seconds["python"])
    return {
        "rounds": rounds,
        "milliseconds": {
            case: {
                "median": round(statistics.median(times) * 1000, 1),
                "fastest": round(min(times) * 1000, 1),
                "over_python": round((statistics.median(times) - base) * 1000, 1),
            }
            for case, times in seconds.items()
        },
        "machine": machine_facts(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=30)
    print(json.dumps(measure(parser.parse_args().rounds), indent=2))


if __name__ == "__main__":
    main()
