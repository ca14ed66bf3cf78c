"""A throwaway PostgreSQL 15 cluster for tests: started once, one fresh database per test.

``initdb`` refuses to run as root, so when the tests run as root the cluster is
created and run as ``nobody`` (``setpriv``), with its folder owned by that user.
It listens on 127.0.0.1 only, on a free port, with trust authentication and
``fsync=off`` (nothing here needs to survive a crash; it makes tests faster).
"""

from __future__ import annotations

import contextlib
import itertools
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import sqlalchemy as sa

POSTGRES_BIN = Path(os.environ.get("COMPRIMEMELO_TEST_POSTGRES_BIN", "/usr/lib/postgresql/15/bin"))
UNPRIVILEGED_USER = "nobody"
SUPERUSER = "postgres"
TEMPLATE_DATABASE = "template1"
START_TIMEOUT_SECONDS = 60
SERVER_SETTINGS = {
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "max_connections": "300",
    "shared_buffers": "64MB",
}


class PostgresUnavailable(RuntimeError):
    """The PostgreSQL server binaries are not installed."""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class PostgresCluster:
    """A running cluster; ``fresh_database()`` makes an empty database per test."""

    def __init__(self, root: Path, port: int) -> None:
        self.root = root
        self.port = port
        self.data_dir = root / "data"
        self.socket_dir = root / "sockets"
        self._counter = itertools.count(1)
        self._admin = sa.create_engine(
            self.url("postgres"), isolation_level="AUTOCOMMIT", pool_size=1, max_overflow=0
        )

    @staticmethod
    def available() -> bool:
        return (POSTGRES_BIN / "initdb").is_file() and (POSTGRES_BIN / "pg_ctl").is_file()

    @classmethod
    @contextlib.contextmanager
    def start(cls) -> Iterator[PostgresCluster]:
        """Create, start, yield and finally stop and remove a cluster.

        :raise PostgresUnavailable: if the binaries are missing.
        """
        if not cls.available():
            raise PostgresUnavailable(f"PostgreSQL binaries not found in {POSTGRES_BIN}")
        root = Path(tempfile.mkdtemp(prefix="comprimemelo-pg-"))
        port = _free_port()
        (root / "sockets").mkdir()
        if os.geteuid() == 0:
            account = pwd.getpwnam(UNPRIVILEGED_USER)
            for path in (root, root / "sockets"):
                os.chown(path, account.pw_uid, account.pw_gid)
        cluster = None
        try:
            _run_as_owner(
                [
                    str(POSTGRES_BIN / "initdb"), "-D", str(root / "data"), "-U", SUPERUSER,
                    "-A", "trust", "-E", "UTF8", "--locale=C.UTF-8", "--no-sync",
                ],
                root,
            )
            _start_server(root, port)
            cluster = cls(root, port)
            yield cluster
        finally:
            if cluster is not None:
                cluster._admin.dispose()
            if (root / "data" / "postmaster.pid").exists():
                with contextlib.suppress(subprocess.CalledProcessError):
                    _run_as_owner(
                        [str(POSTGRES_BIN / "pg_ctl"), "-D", str(root / "data"), "-m", "immediate", "-w", "stop"],
                        root,
                    )
            shutil.rmtree(root, ignore_errors=True)

    def stop_server(self) -> None:
        """Stop the server, as an outage or a failover would: open connections are
        cut and new ones refused; databases are kept. ``-m fast`` rather than
        ``immediate``: with ``synchronous_commit=off`` (above) a crash-like stop
        would drop the last commits, which a real server never does."""
        self._admin.dispose()
        _run_as_owner(
            [str(POSTGRES_BIN / "pg_ctl"), "-D", str(self.data_dir), "-m", "fast", "-w", "stop"],
            self.root,
        )

    def start_server(self) -> None:
        """Start the stopped server again, on the same port, with the same databases."""
        _start_server(self.root, self.port)

    def url(self, database: str) -> str:
        return f"postgresql+pg8000://{SUPERUSER}@127.0.0.1:{self.port}/{database}"

    def fresh_database(self) -> str:
        """A brand-new empty database (copied from ``template1``), as a SQLAlchemy URL."""
        name = f"test_{next(self._counter)}_{uuid.uuid4().hex[:8]}"
        with self._admin.connect() as connection:
            connection.execute(sa.text(f'CREATE DATABASE "{name}" TEMPLATE {TEMPLATE_DATABASE}'))
        return self.url(name)

    def drop_database(self, url: str) -> None:
        """Drop a database made by ``fresh_database``, disconnecting its clients."""
        name = sa.make_url(url).database
        with self._admin.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def _start_server(root: Path, port: int) -> None:
    options = " ".join(
        [f"-c listen_addresses=127.0.0.1 -p {port}", f"-k {root / 'sockets'}"]
        + [f"-c {name}={value}" for name, value in SERVER_SETTINGS.items()]
    )
    _run_as_owner(
        [
            str(POSTGRES_BIN / "pg_ctl"), "-D", str(root / "data"), "-l", str(root / "server.log"),
            "-o", options, "-w", "-t", str(START_TIMEOUT_SECONDS), "start",
        ],
        root,
    )


def _run_as_owner(command: list[str], root: Path) -> None:
    """Run ``command``, as ``nobody`` when we are root; raise with its output on failure."""
    if os.geteuid() == 0:
        command = [
            "setpriv", f"--reuid={UNPRIVILEGED_USER}", f"--regid={_group_of(UNPRIVILEGED_USER)}",
            "--clear-groups", *command,
        ]
    result = subprocess.run(command, cwd=root, capture_output=True, text=True)
    if result.returncode != 0:
        log = root / "server.log"
        server_log = log.read_text(errors="replace") if log.exists() else ""
        raise RuntimeError(
            f"{' '.join(command)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}\n{server_log}"
        )


def _group_of(user: str) -> int:
    return pwd.getpwnam(user).pw_gid


def main() -> None:  # pragma: no cover - manual use
    """``python -m tests.postgres``: start a cluster, print a database URL, wait for Ctrl-C."""
    with PostgresCluster.start() as cluster:
        print(cluster.fresh_database(), flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            while True:
                time.sleep(3600)


if __name__ == "__main__":  # pragma: no cover
    main()
