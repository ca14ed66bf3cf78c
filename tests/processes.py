"""Start real ``comprimemelo`` processes for end-to-end tests, and stop them."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import requests

from tests.conftest import CHEAP_ARGON2, TEST_SECRET_KEY

STARTUP_TIMEOUT_SECONDS = 60


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def process_environment(data_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("COMPRIMEMELO_") or k == "COMPRIMEMELO_TUNING"}
    env.update(
        COMPRIMEMELO_DATA_DIR=str(data_dir),
        COMPRIMEMELO_SECRET_KEY=TEST_SECRET_KEY,
        COMPRIMEMELO_LEASE_SECONDS="6",
        COMPRIMEMELO_WEB_WORKERS="2",
        # No fixed metrics port: several workers run on one machine in tests.
        COMPRIMEMELO_WORKER_METRICS_PORT="0",
        # Tests sign many users up from one address; the limits have tests of their own.
        COMPRIMEMELO_RATE_LIMITS="off",
        **{f"COMPRIMEMELO_{k.upper()}": str(v) for k, v in CHEAP_ARGON2.items()},
    )
    env.update(extra)
    return env


class Process:
    """A child ``comprimemelo`` command whose output goes to a log file."""

    def __init__(
        self, args: list[str], env: dict[str, str], log_path: Path, *, preexec_fn=None
    ) -> None:
        """``preexec_fn`` runs in the child before ``exec`` (e.g. to set resource limits)."""
        self.log_path = log_path
        self._log = open(log_path, "ab")
        self.popen = subprocess.Popen(
            [sys.executable, "-m", "comprimemelo", *args],
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=preexec_fn,
        )

    def signal(self, signum: int) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.popen.pid, signum)

    def stop(self, timeout: float = 45) -> int:
        if self.popen.poll() is None:
            self.signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                self.signal(signal.SIGKILL)
                self.popen.wait()
        self._log.close()
        return self.popen.returncode

    def kill(self) -> None:
        self.signal(signal.SIGKILL)
        self.popen.wait()

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")


def wait_until_healthy(base_url: str, process: Process) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if process.popen.poll() is not None:
            raise RuntimeError(f"process exited early:\n{process.output()}")
        with contextlib.suppress(requests.RequestException):
            if requests.get(f"{base_url}/healthz", timeout=5).status_code == 200:
                return
        time.sleep(0.2)
    raise RuntimeError(f"not healthy after {STARTUP_TIMEOUT_SECONDS}s:\n{process.output()}")


@contextlib.contextmanager
def serving(folder: Path, *args: str, port: int | None = None, **env: str) -> Iterator[tuple[str, Process]]:
    """A healthy ``comprimemelo serve`` (data and log under ``folder``), stopped on exit;
    yields its base URL and process. ``env`` adds ``COMPRIMEMELO_*`` variables."""
    port = port or free_port()
    process = Process(["serve", "--port", str(port), *args], process_environment(folder / "data", **env),
                      folder / "serve.log")
    base_url = f"http://127.0.0.1:{port}"
    try:
        wait_until_healthy(base_url, process)
        yield base_url, process
    finally:
        process.stop()


class Client:
    """A small REST client for the API, as an external caller would use it."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.http = requests.Session()

    def signup_and_login(self, username: str, password: str = "correct horse battery") -> None:
        response = self.http.post(
            f"{self.base_url}/api/auth/signup",
            json={"username": username, "email": f"{username}@example.com",
                  "password1": password, "password2": password},
            timeout=30,
        )
        assert response.status_code == 201, response.text
        response = self.http.post(
            f"{self.base_url}/api/auth/login", json={"username": username, "password": password}, timeout=30
        )
        assert response.status_code == 200, response.text
        self.http.headers["Authorization"] = f"Bearer {response.json()['access_token']}"

    def upload(self, path: Path, fmt: str, name: str | None = None) -> dict:
        with open(path, "rb") as handle:
            response = self.http.post(
                f"{self.base_url}/api/tasks",
                files={"fileName": (name or path.name, handle)},
                data={"newFormat": fmt},
                timeout=120,
            )
        assert response.status_code == 201, response.text
        return response.json()

    def task(self, task_id: int) -> dict:
        response = self.http.get(f"{self.base_url}/api/tasks/{task_id}", timeout=30)
        assert response.status_code == 200, response.text
        return response.json()

    def wait_finished(self, task_ids, timeout: float = 120) -> dict[int, dict]:
        deadline = time.monotonic() + timeout
        pending = set(task_ids)
        finished: dict[int, dict] = {}
        while pending and time.monotonic() < deadline:
            for task_id in list(pending):
                task = self.task(task_id)
                if task["status"] in ("processed", "failed"):
                    finished[task_id] = task
                    pending.discard(task_id)
            time.sleep(0.2)
        assert not pending, f"tasks not finished after {timeout}s: {sorted(pending)}"
        return finished

    def download(self, url_path: str) -> bytes:
        response = self.http.get(f"{self.base_url}{url_path}", timeout=120)
        assert response.status_code == 200, response.text
        return response.content
