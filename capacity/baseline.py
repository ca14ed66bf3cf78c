"""The baseline servers of ``bench-api``: ``capacity.bareapp`` under gunicorn with the
service's settings, and the seed-style stand-in (``capacity.seedapp``)."""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import requests

from capacity.server import _free_port

log = logging.getLogger("capacity")

BASELINE_START_SECONDS = 30
REPO = Path(__file__).resolve().parent.parent


def gunicorn_options(service: dict) -> list[str]:
    """The service's gunicorn settings (``comprimemelo web``), as command-line options."""
    from comprimemelo import cli
    from comprimemelo.bootstrap import gunicorn_worker_class
    from comprimemelo.settings import Settings

    worker_class = gunicorn_worker_class(Settings(web_worker_class=service.get("web_worker_class", "gthread")))
    return ["--workers", str(service["web_workers"]), "--threads", str(service["web_threads"]),
            "--worker-class", worker_class, "--timeout", str(cli.GUNICORN_TIMEOUT_SECONDS),
            "--graceful-timeout", str(cli.GUNICORN_GRACEFUL_TIMEOUT_SECONDS),
            "--keep-alive", str(cli.GUNICORN_KEEPALIVE_SECONDS), "--no-control-socket"]


@contextlib.contextmanager
def bare_server(service: dict) -> Iterator[tuple[str, subprocess.Popen]]:
    """``capacity.bareapp`` under gunicorn with the service's settings, on a free port."""
    with _gunicorn("capacity.bareapp:app", gunicorn_options(service), {}, None) as running:
        yield running


@contextlib.contextmanager
def seed_server() -> Iterator[tuple[str, subprocess.Popen, str]]:
    """``capacity.seedapp`` under gunicorn (4 sync workers) on a free port, and its token."""
    from capacity import seedapp

    with tempfile.TemporaryDirectory(prefix="capacity-seed-") as folder:
        database, secret = Path(folder) / "seed.db", secrets.token_urlsafe(32)
        token = seedapp.prepare(database, secret)
        environment = {"CAPACITY_SEED_DB": str(database), "CAPACITY_SEED_SECRET": secret}
        with _gunicorn("capacity.seedapp:app", seedapp.GUNICORN_OPTIONS, environment, token) as (url, process):
            yield url, process, token


@contextlib.contextmanager
def _gunicorn(app: str, options: list[str], environment: dict[str, str],
              token: str | None) -> Iterator[tuple[str, subprocess.Popen]]:
    port = _free_port()
    log_file = tempfile.TemporaryFile()
    command = [sys.executable, "-m", "gunicorn", *options, "--bind", f"127.0.0.1:{port}", app]
    process = subprocess.Popen(command, cwd=REPO, stdout=log_file, stderr=subprocess.STDOUT,
                               start_new_session=True, env={**os.environ, **environment})
    base_url = f"http://127.0.0.1:{port}"
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    try:
        deadline = time.monotonic() + BASELINE_START_SECONDS
        while True:
            with contextlib.suppress(requests.RequestException):
                if requests.get(base_url + "/api/tasks", headers=headers, timeout=5).status_code == 200:
                    break
            if process.poll() is not None or time.monotonic() > deadline:
                log_file.seek(0)
                raise RuntimeError(f"{app} under gunicorn did not start: {log_file.read()[-2000:]!r}")
            time.sleep(0.2)
        yield base_url, process
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(30)
        log_file.close()
