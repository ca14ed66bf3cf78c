"""Where the processes of one machine pool their Prometheus samples.

Kept apart from ``metrics`` on purpose: prometheus_client picks its storage
when it is first imported, so the folder must be chosen before that, in a
process that has not imported it yet (gunicorn's master forks the workers).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"


def prepare(path: Path) -> None:
    """Empty ``path`` (samples of dead processes would count again) and point
    this process and its children at it."""
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    os.environ[MULTIPROC_ENV] = str(path)


def configured() -> bool:
    return bool(os.environ.get(MULTIPROC_ENV))
