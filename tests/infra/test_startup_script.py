"""The VM start-up script against a fake GCE metadata server and Secret Manager.

The script runs for real under bash; only the network endpoints, systemctl and
the comprimemelo binary are replaced (by an in-process HTTP server and small
recorder scripts).
"""

from __future__ import annotations

import base64
import http.server
import json
import os
import stat
import subprocess
import threading
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "startup-scripts" / "comprimemelo-startup.sh"
SCRIPT_TIMEOUT_SECONDS = 60

PROJECT = "demo-project"
SA_EMAIL = "comprimemelo-web@demo-project.iam.gserviceaccount.com"
SECRET_VALUE = "s3cr3t-jwt-key-that-must-never-be-logged"
TOKEN = "ya29.fake-token"

COMMON_ATTRIBUTES = {
    "comprimemelo-cloudsql-instance": "demo-project:europe-west1:comprimemelo",
    "comprimemelo-database-name": "comprimemelo",
    "comprimemelo-bucket": "demo-project-comprimemelo-files",
    "comprimemelo-topic": "comprimemelo-tasks",
    "comprimemelo-subscription": "comprimemelo-tasks-worker",
    "comprimemelo-secret-name": "comprimemelo-secret-key",
    "comprimemelo-retention-seconds": "604800",
    "comprimemelo-max-retention-seconds": "2592000",
}
WEB_ATTRIBUTES = {
    **COMMON_ATTRIBUTES,
    "comprimemelo-role": "web",
    "comprimemelo-public-url": "https://comprimemelo.example.com",
}
WORKER_ATTRIBUTES = {
    **COMMON_ATTRIBUTES,
    "comprimemelo-role": "worker",
    "comprimemelo-dead-letter-subscription": "comprimemelo-tasks-dead-letter",
}


class FakeGoogle:
    """Metadata server + Secret Manager ``:access`` endpoint on 127.0.0.1."""

    def __init__(self, attributes: dict[str, str]) -> None:
        self.attributes = dict(attributes)
        self.requests: list[str] = []
        fake = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:  # keep pytest output quiet
                pass

            def _send(self, status: int, body: str, content_type: str = "text/plain") -> None:
                data = body.encode()
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:  # noqa: N802 (http.server API)
                fake.requests.append(self.path)
                if self.path.startswith("/secretmanager/"):
                    self._secret()
                    return
                if self.headers.get("Metadata-Flavor") != "Google":
                    self._send(403, "Missing Metadata-Flavor: Google header")
                    return
                prefix = "/computeMetadata/v1/"
                path = self.path[len(prefix):] if self.path.startswith(prefix) else None
                if path == "project/project-id":
                    self._send(200, PROJECT)
                elif path == "instance/service-accounts/default/email":
                    self._send(200, SA_EMAIL)
                elif path == "instance/service-accounts/default/token":
                    body = {"access_token": TOKEN, "expires_in": 3599, "token_type": "Bearer"}
                    self._send(200, json.dumps(body), "application/json")
                elif path and path.startswith("instance/attributes/"):
                    name = path.removeprefix("instance/attributes/")
                    if name in fake.attributes:
                        self._send(200, fake.attributes[name])
                    else:
                        self._send(404, "not found")
                else:
                    self._send(404, "not found")

            def _secret(self) -> None:
                expected = (
                    f"/secretmanager/v1/projects/{PROJECT}/secrets/"
                    f"{fake.attributes['comprimemelo-secret-name']}/versions/latest:access"
                )
                if self.headers.get("Authorization") != f"Bearer {TOKEN}":
                    self._send(401, "unauthenticated")
                elif self.path != expected:
                    self._send(404, "no such secret")
                else:
                    payload = base64.b64encode(SECRET_VALUE.encode()).decode()
                    body = {"name": "versions/1", "payload": {"data": payload}}
                    self._send(200, json.dumps(body), "application/json")

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> "FakeGoogle":
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


def _recorder(path: Path, log: Path) -> Path:
    path.write_text(f'#!/bin/sh\necho "$*" >> "{log}"\n')
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


@pytest.fixture
def sandbox(tmp_path: Path):
    """A ROOT_DIR plus recorder scripts standing in for systemctl and the app."""
    root = tmp_path / "root"
    root.mkdir()
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    systemctl_log = tmp_path / "systemctl.log"
    app_log = tmp_path / "comprimemelo.log"
    return {
        "root": root,
        "systemctl": _recorder(bin_dir / "systemctl", systemctl_log),
        "app": _recorder(bin_dir / "comprimemelo", app_log),
        "systemctl_log": systemctl_log,
        "app_log": app_log,
    }


def run_script(fake: FakeGoogle, sandbox: dict) -> subprocess.CompletedProcess[str]:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "METADATA_URL": f"{fake.url}/computeMetadata/v1",
        "SECRET_MANAGER_URL": f"{fake.url}/secretmanager",
        "ROOT_DIR": str(sandbox["root"]),
        "SYSTEMCTL": str(sandbox["systemctl"]),
        "COMPRIMEMELO_BIN": str(sandbox["app"]),
        "RUN_AS": "",
    }
    return subprocess.run(
        ["bash", str(SCRIPT)],
        env=env,
        capture_output=True,
        text=True,
        timeout=SCRIPT_TIMEOUT_SECONDS,
        check=False,
    )


def read_log(path: Path) -> list[str]:
    return path.read_text().splitlines() if path.exists() else []


def test_web_role_writes_env_file_migrates_and_starts_unit(sandbox):
    with FakeGoogle(WEB_ATTRIBUTES) as fake:
        result = run_script(fake, sandbox)
    assert result.returncode == 0, result.stderr

    env_file = sandbox["root"] / "etc" / "comprimemelo" / "env"
    assert env_file.read_text() == (
        "COMPRIMEMELO_MODE=production\n"
        "COMPRIMEMELO_CLOUDSQL_INSTANCE=demo-project:europe-west1:comprimemelo\n"
        "COMPRIMEMELO_DATABASE_NAME=comprimemelo\n"
        "COMPRIMEMELO_DATABASE_USER=comprimemelo-web@demo-project.iam\n"
        "COMPRIMEMELO_STORAGE_URL=gs://demo-project-comprimemelo-files/\n"
        "COMPRIMEMELO_QUEUE_URL=pubsub://demo-project/comprimemelo-tasks/comprimemelo-tasks-worker\n"
        "COMPRIMEMELO_RETENTION_SECONDS=604800\n"
        "COMPRIMEMELO_MAX_RETENTION_SECONDS=2592000\n"
        "COMPRIMEMELO_PUBLIC_URL=https://comprimemelo.example.com\n"
        "COMPRIMEMELO_PROXY_HOPS=2\n"
        f"COMPRIMEMELO_SECRET_KEY={SECRET_VALUE}\n"
        "COMPRIMEMELO_HOST=0.0.0.0\n"
        "COMPRIMEMELO_PORT=8000\n"
    )
    assert stat.S_IMODE(env_file.stat().st_mode) == 0o640
    assert read_log(sandbox["app_log"]) == ["db upgrade"]
    assert read_log(sandbox["systemctl_log"]) == ["enable --now comprimemelo-web.service"]
    assert SECRET_VALUE not in result.stdout + result.stderr


def test_worker_role_writes_dead_letter_and_skips_migration(sandbox):
    with FakeGoogle(WORKER_ATTRIBUTES) as fake:
        result = run_script(fake, sandbox)
    assert result.returncode == 0, result.stderr

    content = (sandbox["root"] / "etc" / "comprimemelo" / "env").read_text()
    assert (
        "COMPRIMEMELO_DEAD_LETTER_SUBSCRIPTION="
        "projects/demo-project/subscriptions/comprimemelo-tasks-dead-letter\n"
    ) in content
    assert "COMPRIMEMELO_PUBLIC_URL" not in content
    assert read_log(sandbox["app_log"]) == []
    assert read_log(sandbox["systemctl_log"]) == ["enable --now comprimemelo-worker.service"]
    assert SECRET_VALUE not in result.stdout + result.stderr


def test_second_run_is_idempotent(sandbox):
    env_file = sandbox["root"] / "etc" / "comprimemelo" / "env"
    with FakeGoogle(WEB_ATTRIBUTES) as fake:
        first = run_script(fake, sandbox)
        content = env_file.read_text()
        second = run_script(fake, sandbox)
    assert first.returncode == 0, first.stderr
    assert second.returncode == 0, second.stderr
    assert env_file.read_text() == content
    assert stat.S_IMODE(env_file.stat().st_mode) == 0o640
    assert sorted(p.name for p in env_file.parent.iterdir()) == ["env"], "no temp files left"


@pytest.mark.parametrize("missing", ["comprimemelo-bucket", "comprimemelo-public-url", "comprimemelo-role"])
def test_missing_attribute_fails_naming_it(sandbox, missing):
    attributes = {k: v for k, v in WEB_ATTRIBUTES.items() if k != missing}
    with FakeGoogle(attributes) as fake:
        result = run_script(fake, sandbox)
    assert result.returncode != 0
    assert missing in result.stderr
    assert not (sandbox["root"] / "etc" / "comprimemelo" / "env").exists()
    assert read_log(sandbox["systemctl_log"]) == []


def test_invalid_role_fails(sandbox):
    with FakeGoogle({**WEB_ATTRIBUTES, "comprimemelo-role": "database"}) as fake:
        result = run_script(fake, sandbox)
    assert result.returncode == 1
    assert "database" in result.stderr
    assert read_log(sandbox["systemctl_log"]) == []


def test_metadata_requests_carry_the_flavor_header(sandbox):
    """The fake rejects header-less requests, so a passing run proves the header is sent."""
    with FakeGoogle(WEB_ATTRIBUTES) as fake:
        result = run_script(fake, sandbox)
    assert result.returncode == 0, result.stderr
    assert any(path.endswith("/token") for path in fake.requests)
