"""Helpers of the fault-injection tests: real ``comprimemelo`` processes on real
backends, faults injected from outside (signals, stopped servers, full disks),
and assertions read straight from the database and the storage.

Nothing of ours is mocked here. Timings are kept short through settings
(``LEASE_SECONDS=5``, small files); every wait is on a condition with a deadline.
"""

from __future__ import annotations

import contextlib
import re
import signal
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import requests
import sqlalchemy as sa

from tests.processes import Client, Process, free_port, process_environment, wait_until_healthy

LEASE_SECONDS = "5"
# Tests that are about stopping wait on their own; teardown only needs the processes gone.
TEARDOWN_STOP_SECONDS = 3


def wait_for(condition: Callable[[], object], timeout: float, what: str, interval: float = 0.1):
    """Poll ``condition`` until it returns something truthy; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


class Deployment:
    """Web and worker processes sharing one data dir and one environment."""

    def __init__(self, folder: Path, **settings: str) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        self.data_dir = folder / "data"
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.env = process_environment(
            self.data_dir,
            COMPRIMEMELO_PORT=str(self.port),
            COMPRIMEMELO_LEASE_SECONDS=LEASE_SECONDS,
            COMPRIMEMELO_WEB_WORKERS="1",
            COMPRIMEMELO_WORKER_CONCURRENCY="1",
            **{f"COMPRIMEMELO_{name.upper()}": value for name, value in settings.items()},
        )
        self.web: Process | None = None
        self.workers: list[Process] = []
        self._engine: sa.Engine | None = None

    @property
    def database_url(self) -> str:
        return self.env.get("COMPRIMEMELO_DATABASE_URL") or (
            f"sqlite:///{self.data_dir / 'comprimemelo.sqlite3'}"
        )

    @property
    def files_dir(self) -> Path:
        return self.data_dir / "files"

    def start_web(self, *, preexec_fn=None) -> Process:
        """``comprimemelo web``: gunicorn, as in production; returns once healthy."""
        self.web = Process(["web"], self.env, self.folder / "web.log", preexec_fn=preexec_fn)
        wait_until_healthy(self.base_url, self.web)
        return self.web

    def start_worker(self, *, preexec_fn=None, **settings: str) -> Process:
        env = {**self.env, **{f"COMPRIMEMELO_{k.upper()}": v for k, v in settings.items()}}
        worker = Process(
            ["worker"], env, self.folder / f"worker-{len(self.workers) + 1}.log", preexec_fn=preexec_fn
        )
        self.workers.append(worker)
        return worker

    def stop(self) -> None:
        """SIGTERM to every process at once, SIGKILL to those still running after
        ``TEARDOWN_STOP_SECONDS``: the tests about stopping check that themselves."""
        processes = [p for p in [*self.workers, self.web] if p is not None]
        for process in processes:
            process.signal(signal.SIGTERM)
        deadline = time.monotonic() + TEARDOWN_STOP_SECONDS
        for process in processes:
            process.stop(max(0.1, deadline - time.monotonic()))
        if self._engine is not None:
            self._engine.dispose()

    def client(self, username: str) -> Client:
        client = Client(self.base_url)
        client.signup_and_login(username)
        return client

    def logs(self) -> str:
        return "\n".join(
            f"--- {p.log_path.name}\n{p.output()[-6000:]}" for p in [self.web, *self.workers] if p
        )

    # -- what the database and the storage hold --------------------------------

    def engine(self) -> sa.Engine:
        if self._engine is None:
            self._engine = sa.create_engine(self.database_url, poolclass=sa.pool.NullPool)
        return self._engine

    def rows(self) -> dict[int, dict]:
        """Every task row, by id, read directly from the database."""
        with self.engine().connect() as connection:
            result = connection.execute(sa.text(
                "SELECT id, status, attempts, error, compressed_key, lease_owner, storage_prefix FROM tasks"
            ))
            return {row.id: dict(row._mapping) for row in result}

    def local_files(self, kind: str | None = None) -> list[Path]:
        """Files under the local storage root (``kind``: only ``original`` or ``archive`` objects)."""
        if not self.files_dir.exists():
            return []
        return [
            path for path in self.files_dir.rglob("*")
            if path.is_file() and (kind is None or kind in path.relative_to(self.files_dir).parts)
        ]

    def incoming_leftovers(self) -> list[Path]:
        incoming = self.files_dir / ".incoming"
        return sorted(incoming.iterdir()) if incoming.exists() else []


def worker_id(worker: Process, timeout: float = 60) -> str:
    """The id a worker process logs as it starts (``worker <id> started``)."""
    pattern = re.compile(r"worker (\w+) started")

    def started():
        if worker.popen.poll() is not None:
            raise AssertionError(f"worker exited early:\n{worker.output()}")
        return pattern.search(worker.output())

    return wait_for(started, timeout, "the worker to start").group(1)


def processed_log_lines(workers: list[Process]) -> dict[int, int]:
    """How many times each task id was logged ``processed`` across ``workers``."""
    counts: dict[int, int] = {}
    for worker in workers:
        for match in re.finditer(r"task (\d+) processed", worker.output()):
            counts[int(match.group(1))] = counts.get(int(match.group(1)), 0) + 1
    return counts


def assert_error_json(response: requests.Response, status: int) -> dict:
    """The single error shape, with ``Retry-After`` on 503."""
    assert response.status_code == status, (response.status_code, response.text[:500])
    assert response.headers["Content-Type"].startswith("application/json"), response.headers
    error = response.json()["error"]
    assert error["code"] and error["message"]
    if status == 503:
        assert int(response.headers["Retry-After"]) > 0
    return error


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Remember whether the test itself failed, for fixtures that print logs then."""
    outcome = yield
    report = outcome.get_result()
    if report.when == "call":
        item.faults_test_failed = report.failed


@pytest.fixture
def deployment(request, tmp_path) -> Iterator[Callable[..., Deployment]]:
    """Make a ``Deployment``; its processes are stopped at the end, and their
    logs printed if the test failed."""
    made: list[Deployment] = []

    def make(**settings: str) -> Deployment:
        made.append(Deployment(tmp_path / f"deployment-{len(made) + 1}", **settings))
        return made[-1]

    yield make
    for each in made:
        with contextlib.suppress(Exception):
            each.stop()
        if getattr(request.node, "faults_test_failed", False):
            print(each.logs())
