"""Start a local ``comprimemelo serve`` for a run, and describe its configuration."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import requests

from capacity import postgres

STARTUP_TIMEOUT_SECONDS = 90
STOP_TIMEOUT_SECONDS = 45
SERVER_KINDS = ("embedded", "postgres")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_healthy(base_url: str, process: subprocess.Popen, log_path: Path) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"comprimemelo serve exited early:\n{log_path.read_text(errors='replace')[-4000:]}")
        with contextlib.suppress(requests.RequestException):
            if requests.get(f"{base_url}/readyz", timeout=5).status_code == 200:
                return
        time.sleep(0.3)
    raise RuntimeError(f"comprimemelo serve not ready after {STARTUP_TIMEOUT_SECONDS}s")


@contextlib.contextmanager
def local_server(
    kind: str, settings: dict[str, str] | None = None, *, code: Path | None = None
) -> Iterator[tuple[str, dict]]:
    """Run ``comprimemelo serve`` on a free loopback port with a fresh data folder
    (and, for ``postgres``, a throwaway PostgreSQL cluster); yield its base URL and
    a description of its configuration; stop it and delete its data afterwards.

    ``settings`` are extra ``COMPRIMEMELO_*`` variables (e.g. ``WEB_WORKERS``), by short name.
    ``code``: a folder holding another version's ``comprimemelo`` package, run
    instead of the installed one (a baseline from an earlier commit).
    """
    if kind not in SERVER_KINDS:
        raise ValueError(f"server kind must be one of {SERVER_KINDS}")
    settings = {k.upper(): str(v) for k, v in (settings or {}).items()}
    workdir = Path(tempfile.mkdtemp(prefix="capacity-serve-"))
    with contextlib.ExitStack() as stack:
        stack.callback(shutil.rmtree, workdir, True)
        database = {"kind": "SQLite (embedded, file in the data folder)"}
        env = {k: v for k, v in os.environ.items() if not k.startswith("COMPRIMEMELO_")}
        if kind == "postgres":
            url, pg_settings = stack.enter_context(postgres.postgres_cluster())
            env["COMPRIMEMELO_DATABASE_URL"] = url
            database = {"kind": "PostgreSQL (throwaway local cluster, same machine)", **pg_settings}
        port = _free_port()
        # All load comes from one address: sign-up/log-in limits would measure themselves.
        env["COMPRIMEMELO_RATE_LIMITS"] = "off"
        env.update({f"COMPRIMEMELO_{k}": v for k, v in settings.items()})
        env["COMPRIMEMELO_DATA_DIR"] = str(workdir / "data")
        env["COMPRIMEMELO_PORT"] = str(port)
        if code is not None:
            env["PYTHONPATH"] = str(code)
        log_path = workdir / "server.log"
        log = stack.enter_context(open(log_path, "ab"))
        process = subprocess.Popen(
            [sys.executable, "-m", "comprimemelo", "serve"],
            env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )

        def _stop() -> None:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
                try:
                    process.wait(STOP_TIMEOUT_SECONDS)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)
                    process.wait()

        stack.callback(_stop)
        base_url = f"http://127.0.0.1:{port}"
        _wait_healthy(base_url, process, log_path)
        yield base_url, {**describe_local(kind, settings, database), "serve_pid": process.pid}


def describe_local(kind: str, settings: dict[str, str], database: dict) -> dict:
    """The configuration of a server started by ``local_server``, as the service resolves it."""
    from comprimemelo.settings import Settings

    defaults = Settings()
    cores = os.cpu_count() or 1

    def value(name: str, default):
        return settings.get(name.upper(), default)

    web_workers = int(value("web_workers", defaults.web_workers)) or cores
    concurrency = int(value("worker_concurrency", defaults.worker_concurrency)) or cores
    return {
        "started_by": f"capacity --serve {kind}: comprimemelo serve (gunicorn web + one worker process)",
        "web_server": "gunicorn",
        "web_worker_class": value("web_worker_class", defaults.web_worker_class),
        "web_workers": web_workers,
        "web_threads": int(value("web_threads", defaults.web_threads)),
        "worker_concurrency": concurrency,
        "database": database,
        "storage": "local files in the data folder",
        "queue": "local (database-backed)",
        "argon2": {
            "time_cost": int(value("argon2_time_cost", defaults.argon2_time_cost)),
            "memory_kib": int(value("argon2_memory_kib", defaults.argon2_memory_kib)),
            "parallelism": int(value("argon2_parallelism", defaults.argon2_parallelism)),
        },
        "db_pool": f"{value('db_pool_size', defaults.db_pool_size) or 'one per thread'} + overflow "
                   f"{value('db_max_overflow', defaults.db_max_overflow)} per process",
        "extra_settings": {f"COMPRIMEMELO_{k}": v for k, v in settings.items()},
    }
