"""The production stack on one machine: ``python -m tests.stack``.

A throwaway PostgreSQL 15 cluster, the Cloud Storage emulator, Google's Pub/Sub
emulator (topic, exactly-once subscription, dead-letter topic and subscription),
then ``comprimemelo web`` (gunicorn) and two ``comprimemelo worker`` processes
configured exactly as on Google Cloud, only pointed at the emulators. Prints the
URL and the environment; Ctrl-C stops everything and removes all data.

Signed download URLs need credentials that can sign: a throwaway RSA
service-account key is generated and ``GOOGLE_APPLICATION_CREDENTIALS`` points
at it (the emulator serves signed URLs without checking them).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

from tests.conftest import TEST_SECRET_KEY
from tests.emulators import PROJECT, gcs_emulator, pubsub_emulator
from tests.postgres import PostgresCluster
from tests.processes import Process, free_port, process_environment, wait_until_healthy



def _names(suffix: str) -> dict[str, str]:
    return {
        "bucket": f"comprimemelo-files-{suffix}",
        "topic": f"comprimemelo-tasks-{suffix}",
        "subscription": f"comprimemelo-tasks-workers-{suffix}",
        "dead_letter_topic": f"comprimemelo-tasks-dead-letter-{suffix}",
        "dead_letter_subscription": f"comprimemelo-tasks-dead-letter-workers-{suffix}",
    }


SERVICE_ACCOUNT = f"comprimemelo-web@{PROJECT}.iam.gserviceaccount.com"
WORKERS = 2


def write_service_account_key(path: Path) -> None:
    """A throwaway service-account key file: signs URLs, valid nowhere."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    path.write_text(json.dumps({
        "type": "service_account", "project_id": PROJECT, "private_key_id": "local",
        "private_key": pem, "client_email": SERVICE_ACCOUNT, "client_id": "1",
        "token_uri": "https://oauth2.googleapis.com/token",
    }))
    path.chmod(0o600)


class ProductionStack:
    """Running processes of the stack; ``workers`` can be killed and added."""

    def __init__(self, folder: Path, env: dict[str, str], base_url: str, bucket_name: str) -> None:
        self.folder = folder
        self.bucket_name = bucket_name
        self.env = env
        self.base_url = base_url
        self.web: Process | None = None
        self.workers: list[Process] = []

    def start_worker(self) -> Process:
        index = len(self.workers) + 1
        worker = Process(["worker"], self.env, self.folder / f"worker-{index}.log")
        self.workers.append(worker)
        return worker

    def bucket(self):
        from google.auth.credentials import AnonymousCredentials
        from google.cloud import storage

        with _environment(STORAGE_EMULATOR_HOST=self.env["STORAGE_EMULATOR_HOST"]):
            client = storage.Client(project=PROJECT, credentials=AnonymousCredentials())
        return client.bucket(self.bucket_name)

    def logs(self) -> str:
        return "\n".join(
            f"--- {process.log_path.name}\n{process.output()[-4000:]}"
            for process in [self.web, *self.workers] if process is not None
        )


@contextlib.contextmanager
def _environment(**values: str) -> Iterator[None]:
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@contextlib.contextmanager
def production_stack(
    *,
    database_url: str | None = None,
    gcs_host: str | None = None,
    pubsub_host: str | None = None,
    workers: int = WORKERS,
    port: int | None = None,
    **settings: str,
) -> Iterator[ProductionStack]:
    """Start the stack (its own PostgreSQL and emulators unless given), yield it,
    stop it. ``settings`` are extra ``COMPRIMEMELO_*`` values, e.g. ``LEASE_SECONDS="6"``."""
    with contextlib.ExitStack() as stack:
        if database_url is None:
            database_url = stack.enter_context(PostgresCluster.start()).fresh_database()
        gcs_host = gcs_host or stack.enter_context(gcs_emulator())
        pubsub_host = pubsub_host or stack.enter_context(pubsub_emulator())
        folder = Path(tempfile.mkdtemp(prefix="comprimemelo-stack-"))
        stack.callback(shutil.rmtree, folder, True)
        # Fresh names per stack: emulators shared between tests keep old messages.
        names = _names(uuid.uuid4().hex[:8])
        key_file = folder / "service-account.json"
        write_service_account_key(key_file)
        emulators = dict(
            STORAGE_EMULATOR_HOST=gcs_host, PUBSUB_EMULATOR_HOST=pubsub_host, GOOGLE_CLOUD_PROJECT=PROJECT
        )
        with _environment(**emulators):
            from google.auth.credentials import AnonymousCredentials
            from google.cloud import storage

            from comprimemelo.queue.pubsub import ensure_topology

            with contextlib.suppress(Exception):  # already there when reusing an emulator
                storage.Client(project=PROJECT, credentials=AnonymousCredentials()).create_bucket(names["bucket"])
            ensure_topology(
                PROJECT, names["topic"], names["subscription"],
                names["dead_letter_topic"], names["dead_letter_subscription"],
            )
        port = port or free_port()
        env = process_environment(
            folder / "data",
            **emulators,
            GOOGLE_APPLICATION_CREDENTIALS=str(key_file),
            COMPRIMEMELO_MODE="production",
            COMPRIMEMELO_SECRET_KEY=TEST_SECRET_KEY,
            COMPRIMEMELO_DATABASE_URL=database_url,
            COMPRIMEMELO_STORAGE_URL=f"gs://{names['bucket']}/comprimemelo",
            COMPRIMEMELO_QUEUE_URL=f"pubsub://{PROJECT}/{names['topic']}/{names['subscription']}",
            COMPRIMEMELO_DEAD_LETTER_SUBSCRIPTION=names["dead_letter_subscription"],
            COMPRIMEMELO_PORT=str(port),
            **{
                f"COMPRIMEMELO_{name.upper()}": value
                for name, value in {"worker_concurrency": "1", **settings}.items()
            },
        )
        running = ProductionStack(folder, env, f"http://127.0.0.1:{port}", names["bucket"])
        try:
            running.web = Process(["web"], env, folder / "web.log")
            wait_until_healthy(running.base_url, running.web)
            for _ in range(workers):
                running.start_worker()
            yield running
        except BaseException:
            print(running.logs())  # pytest shows it with the failure
            raise
        finally:
            for process in [*running.workers, running.web]:
                if process is not None:
                    process.stop()


def main() -> int:  # pragma: no cover - manual use
    stop = False

    def _stop(_signum, _frame):
        nonlocal stop
        stop = True

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    port = int(os.environ.get("COMPRIMEMELO_PORT", "8000"))
    with production_stack(port=port) as stack:
        print(f"comprimemelo production stack is running at {stack.base_url}  (Ctrl-C stops)")
        print("environment of the web and worker processes:")
        for name in sorted(stack.env):
            if name.startswith(("COMPRIMEMELO_", "STORAGE_EMULATOR", "PUBSUB_EMULATOR", "GOOGLE_")):
                print(f"  {name}={stack.env[name]}")
        print(f"logs: {stack.folder}", flush=True)
        while not stop and all(p.popen.poll() is None for p in [stack.web, *stack.workers]):
            time.sleep(0.5)
        if not stop:
            print("a process exited:\n" + stack.logs())
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
