"""The compose file's cloud profile, once: the bucket, the Pub/Sub topology and a key.

Run by the ``cloud-setup`` service (the comprimemelo image) against the emulators:
creates the bucket of ``COMPRIMEMELO_STORAGE_URL``, the topic and subscriptions of
``COMPRIMEMELO_QUEUE_URL`` and the dead-letter pair (``ensure_topology``, as the test
stack does), and writes a throwaway service-account key to
``GOOGLE_APPLICATION_CREDENTIALS`` for the web role to sign download URLs (the
emulator serves them without checking). Safe to run again.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

SERVICE_USER_ID = 10001  # the image's comprimemelo user
ATTEMPTS = 60


def write_key(path: Path, project: str) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    if path.exists():
        return
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption()).decode()
    path.write_text(json.dumps({
        "type": "service_account", "project_id": project, "private_key_id": "local", "private_key": pem,
        "client_email": f"comprimemelo-web@{project}.iam.gserviceaccount.com", "client_id": "1",
        "token_uri": "https://oauth2.googleapis.com/token",
    }))
    os.chown(path, SERVICE_USER_ID, SERVICE_USER_ID)
    path.chmod(0o600)


def create_backends(project: str) -> None:
    from google.api_core import exceptions
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import storage

    from comprimemelo.queue.pubsub import ensure_topology

    bucket = os.environ["COMPRIMEMELO_STORAGE_URL"].removeprefix("gs://").split("/", 1)[0]
    _, topic, subscription = os.environ["COMPRIMEMELO_QUEUE_URL"].removeprefix("pubsub://").split("/")  # PROJECT/T/S
    dead_letter_subscription = os.environ["COMPRIMEMELO_DEAD_LETTER_SUBSCRIPTION"]
    try:
        storage.Client(project=project, credentials=AnonymousCredentials()).create_bucket(bucket)
    except exceptions.Conflict:
        pass
    ensure_topology(project, topic, subscription, f"{topic}-dead-letter", dead_letter_subscription)


def main() -> None:
    project = os.environ["GOOGLE_CLOUD_PROJECT"]
    write_key(Path(os.environ["GOOGLE_APPLICATION_CREDENTIALS"]), project)
    for attempt in range(1, ATTEMPTS + 1):  # the emulators may still be starting
        try:
            create_backends(project)
            break
        except Exception as error:  # noqa: BLE001 - any failure here is "not ready yet"
            if attempt == ATTEMPTS:
                raise
            print(f"emulators not ready ({type(error).__name__}: {error}); retrying", flush=True)
            time.sleep(2)
    print("cloud profile ready", flush=True)


if __name__ == "__main__":
    main()
