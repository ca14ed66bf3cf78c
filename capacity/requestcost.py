"""Database statements and web CPU per request, per endpoint; worker statements per task.

The capacity plan (capacity/plan.py) sizes Cloud SQL from statements per
second and the web tier from CPU per request; this measures both, in one
process, through the real app (``create_app``) on a real database (a throwaway
PostgreSQL 15 cluster by default, SQLite with ``--database sqlite``):

- statements: every statement the engine sends, counted with SQLAlchemy's
  ``before_cursor_execute`` event, per request (median and maximum);
- CPU: ``time.process_time`` around each request through Flask's test client
  (no HTTP server or network: the CPU of gunicorn's parsing and the socket is
  not in it, so the plan adds the HTTP overhead measured by bench-api);
- the worker's statements for one task, inside ``Worker.handle`` (claim,
  heartbeat, progress, completion), with the local queue's own statements
  counted apart: on Google Cloud the queue is Pub/Sub, not the database.

``python -m capacity bench-requests`` writes capacity/reports/requests/.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import statistics
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from sqlalchemy import event

from capacity.content import make_content

PASSWORD = "a long secret for capacity runs"
UPLOAD_BYTES = 1_000_000
QUEUE_TABLE = "queue_messages"


class StatementCounter:
    """Counts the statements an engine sends, split into queue-table and other statements."""

    def __init__(self, engine) -> None:
        self.engine = engine
        self.statements = 0
        self.queue_statements = 0
        self._lock = threading.Lock()
        event.listen(engine, "before_cursor_execute", self._count)

    def _count(self, conn, cursor, statement, parameters, context, executemany) -> None:
        with self._lock:
            if QUEUE_TABLE in statement:
                self.queue_statements += 1
            else:
                self.statements += 1

    @contextlib.contextmanager
    def measure(self) -> Iterator[dict]:
        """Yields a dict that holds, after the block, the statements and CPU seconds it took."""
        before = (self.statements, self.queue_statements)
        cpu = time.process_time()
        result: dict = {}
        yield result
        result["cpu_seconds"] = time.process_time() - cpu
        result["statements"] = self.statements - before[0]
        result["queue_statements"] = self.queue_statements - before[1]

    def close(self) -> None:
        event.remove(self.engine, "before_cursor_execute", self._count)


def _summarise(samples: list[dict]) -> dict:
    statements = [s["statements"] for s in samples]
    return {
        "requests": len(samples),
        "statements_median": statistics.median(statements),
        "statements_max": max(statements),
        "queue_statements_median": statistics.median(s["queue_statements"] for s in samples),
        "cpu_ms_median": round(1000 * statistics.median(s["cpu_seconds"] for s in samples), 3),
        "statuses": sorted({s["status"] for s in samples}),
    }


def _repeat(counter: StatementCounter, count: int, call: Callable[[int], int]) -> list[dict]:
    samples = []
    for index in range(count):
        with counter.measure() as sample:
            status = call(index)
        sample["status"] = status
        samples.append(sample)
    return samples


def measure(settings, *, rounds: int, hash_rounds: int) -> dict:
    """Per-endpoint statements and CPU, and the worker's statements per task, on ``settings``' database."""
    from comprimemelo import db
    from comprimemelo.bootstrap import build_web, open_backends
    from comprimemelo.worker import Worker

    services = open_backends(settings)
    db.upgrade(services.engine, services.settings)
    app = build_web(services.settings, backends=services)
    client = app.test_client()
    counter = StatementCounter(services.engine)
    endpoints: dict[str, dict] = {}
    try:
        def signup(index: int) -> int:
            name = f"cap{index}"
            return client.post("/api/auth/signup", json={
                "username": name, "email": f"{name}@example.com", "password1": PASSWORD, "password2": PASSWORD,
            }).status_code

        endpoints["POST /api/auth/signup"] = _summarise(_repeat(counter, hash_rounds, signup))

        tokens: list[str] = []

        def login(index: int) -> int:
            response = client.post("/api/auth/login", json={"username": f"cap{index}", "password": PASSWORD})
            tokens.append(response.json["access_token"])
            return response.status_code

        endpoints["POST /api/auth/login"] = _summarise(_repeat(counter, hash_rounds, login))
        headers = {"Authorization": f"Bearer {tokens[0]}"}
        content = make_content(UPLOAD_BYTES, seed=1)
        task_ids: list[int] = []

        def upload(index: int) -> int:
            response = client.post("/api/tasks", headers=headers, content_type="multipart/form-data",
                                   data={"fileName": (io.BytesIO(content), f"file{index}.txt"), "newFormat": "tar.zst"})
            task_ids.append(response.json["id"])
            return response.status_code

        endpoints["POST /api/tasks (1 MB file)"] = _summarise(_repeat(counter, rounds, upload))
        endpoints["GET /api/tasks/<id>"] = _summarise(_repeat(
            counter, rounds, lambda i: client.get(f"/api/tasks/{task_ids[i % len(task_ids)]}", headers=headers)
            .status_code))
        endpoints["GET /api/tasks (list)"] = _summarise(_repeat(
            counter, rounds, lambda i: client.get("/api/tasks?max=10&order=1", headers=headers).status_code))
        etag = client.get("/api/tasks?max=10&order=1", headers=headers).headers.get("ETag", "")
        endpoints["GET /api/tasks (list, unchanged: 304)"] = _summarise(_repeat(
            counter, rounds, lambda i: client.get("/api/tasks?max=10&order=1",
                                                  headers={**headers, "If-None-Match": etag}).status_code))

        worker = Worker(services.settings, services.sessions, services.storage, services.queue)
        worker_samples = []
        for _ in task_ids:
            deliveries = services.queue.receive(1, timeout=5)
            if not deliveries:
                break
            with counter.measure() as sample:
                worker.handle(deliveries[0])
            sample["status"] = 0
            worker_samples.append(sample)
        worker_summary = _summarise(worker_samples)
        worker_summary.pop("statuses")
        worker_summary["tasks"] = worker_summary.pop("requests")
        statuses = {client.get(f"/api/tasks/{task_id}", headers=headers).json["status"] for task_id in task_ids}
    finally:
        counter.close()
        services.close()
    return {"endpoints": endpoints, "worker_per_task": worker_summary, "task_statuses_after": sorted(statuses)}


def run(*, database: str, rounds: int, hash_rounds: int, command: str, notes: list[str]) -> dict:
    from capacity.machine import machine_facts
    from comprimemelo.settings import load_settings

    machine = machine_facts()
    with tempfile.TemporaryDirectory(prefix="capacity-requests-") as scratch, contextlib.ExitStack() as stack:
        database_facts: dict = {"kind": "SQLite (file in a temporary folder)"}
        url = ""
        if database == "postgres":
            from capacity.postgres import postgres_cluster

            url, server = stack.enter_context(postgres_cluster())
            database_facts = {"kind": "PostgreSQL (throwaway local cluster)", **server}
        # Rate limits off: the sign-ups and log-ins come from one client, as fast as they run.
        settings = load_settings({}, data_dir=Path(scratch), database_url=url or None, worker_concurrency=1,
                                 rate_limits="off")
        results = measure(settings, rounds=rounds, hash_rounds=hash_rounds)
    machine["load_average_at_end"] = list(os.getloadavg())
    return {
        "mode": "bench-requests",
        "title": "Database statements and web CPU per request; worker statements per task",
        "command": command,
        "machine": machine,
        "configuration": {"database": database_facts, "rounds": rounds, "hash_rounds": hash_rounds,
                          "upload_bytes": UPLOAD_BYTES, "client": "Flask test client, in process (no HTTP server)"},
        "results": results,
        "notes": notes,
    }


def markdown(summary: dict) -> str:
    lines = [f"# {summary['title']}", "", f"`{summary['command']}`; database: {summary['configuration']['database']['kind']}"
             f"; load average {summary['machine']['load_average_at_start'][0]:.1f}→"
             f"{summary['machine']['load_average_at_end'][0]:.1f}", "",
             "| endpoint | requests | statements (median) | statements (max) | web CPU ms (median, in process) |",
             "|---|---:|---:|---:|---:|"]
    for name, row in summary["results"]["endpoints"].items():
        lines.append(f"| `{name}` | {row['requests']} | {row['statements_median']:g} | {row['statements_max']} | "
                     f"{row['cpu_ms_median']:.2f} |")
    worker = summary["results"]["worker_per_task"]
    lines += ["", f"Worker, per task (1 MB tar.zst): {worker['statements_median']:g} statements (max "
              f"{worker['statements_max']}), plus {worker['queue_statements_median']:g} on the local queue's table "
              "(Pub/Sub on Google Cloud, so not counted in the plan).", ""]
    lines += [f"- {note}" for note in summary.get("notes", [])]
    return "\n".join(lines) + "\n"


def write(out: Path, summary: dict) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    (out / "bench.md").write_text(markdown(summary))
