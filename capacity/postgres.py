"""A throwaway PostgreSQL 15 cluster for a capacity run: the test suite's
``tests.postgres.PostgresCluster`` (loopback, trust, fsync off), one fresh database.

``python -m capacity`` runs from the repository root, so ``tests`` is importable.
"""

from __future__ import annotations

import contextlib
import subprocess
from collections.abc import Iterator


@contextlib.contextmanager
def postgres_cluster() -> Iterator[tuple[str, dict]]:
    """Start a cluster with one empty database; yield its SQLAlchemy URL and settings; remove it.

    :raise RuntimeError: if the PostgreSQL binaries are not installed.
    """
    from tests.postgres import POSTGRES_BIN, SERVER_SETTINGS, PostgresCluster

    with PostgresCluster.start() as cluster:
        version = subprocess.run([str(POSTGRES_BIN / "postgres"), "--version"],
                                 capture_output=True, text=True).stdout.strip()
        yield cluster.fresh_database(), {"server": version, **SERVER_SETTINGS}
