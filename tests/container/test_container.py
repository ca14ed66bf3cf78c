"""The Dockerfile and compose.yaml say what the service needs, and (opt-in, a few
minutes) container/verify.sh builds and runs them with podman for real.

The static tests run everywhere. The podman run is opt-in: from a new machine it
installs podman, makes a Debian base with mmdebstrap, builds the image and three
stand-ins and runs three stacks (2 min 34 s measured without its apt installs, 1 min
22 s with its cache), more than CI's budget leaves. ``COMPRIMEMELO_TEST_CONTAINER=1`` runs it
(then a missing tool fails, it does not skip); docs/container.md says what it verified.
"""

from __future__ import annotations

import dataclasses
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from comprimemelo.settings import PREFIX, Settings, load_settings

ROOT = Path(__file__).resolve().parents[2]
VERIFY_TIMEOUT_SECONDS = 20 * 60
SETTING_NAMES = {PREFIX + field.name.upper() for field in dataclasses.fields(Settings)}
STRONG_KEY = "k" * 8 + "0123456789abcdefghijklmnopqrstuvwxyz"


def compose() -> dict:
    return yaml.safe_load((ROOT / "compose.yaml").read_text())


def interpolated(value: str, env: dict[str, str]) -> str:
    """``${NAME:-default}`` and ``${NAME:?message}`` as compose reads them (nesting included)."""
    pattern = re.compile(r"\$\{(\w+)(?::([-?])((?:[^${}]|\$\{[^}]*\})*))?\}")
    while (found := pattern.search(value)) is not None:
        name, kind, rest = found.groups()
        if env.get(name):
            replacement = env[name]
        elif kind == "?":
            raise KeyError(f"{name} is required: {rest}")
        else:
            replacement = rest or ""
        value = value[:found.start()] + replacement + value[found.end():]
    return value


def app_environment(service: str, env: dict[str, str]) -> dict[str, str]:
    raw = compose()["services"][service]["environment"]
    return {name: interpolated(str(value), env) for name, value in raw.items()}


def env_file(path: Path) -> dict[str, str]:
    lines = [line for line in path.read_text().splitlines() if line.strip() and not line.startswith("#")]
    return dict(line.split("=", 1) for line in lines)


def test_compose_runs_the_two_roles_on_postgresql_with_only_real_settings():
    services = compose()["services"]
    assert services["web"]["command"] == ["web"] and services["worker"]["command"] == ["worker"]
    assert services["db"]["image"].startswith("${POSTGRES_IMAGE:-docker.io/library/postgres:15")
    for service in ("web", "worker", "cloud-setup"):
        names = {name for name in services[service]["environment"] if name.startswith(PREFIX)}
        assert names <= SETTING_NAMES, names - SETTING_NAMES
    assert {name for name, service in services.items() if "cloud" in service.get("profiles", [])} == {
        "gcs", "pubsub", "cloud-setup"}
    with pytest.raises(KeyError, match="COMPRIMEMELO_SECRET_KEY"):
        app_environment("web", {})
    environment = app_environment("web", {"COMPRIMEMELO_SECRET_KEY": STRONG_KEY})
    settings = load_settings(environment)
    assert settings.production and settings.database_url.startswith("postgresql+pg8000://comprimemelo:")
    assert settings.storage_url == "file:///data/files" and settings.queue_url == "local"
    assert settings.public_url == "http://localhost:8000"
    moved = load_settings(app_environment("web", {"COMPRIMEMELO_SECRET_KEY": STRONG_KEY, "COMPRIMEMELO_PORT": "9000"}))
    assert moved.public_url == "http://localhost:9000"


def test_the_cloud_profile_configures_the_google_cloud_backends():
    cloud = env_file(ROOT / "container" / "cloud.env")
    settings = load_settings(app_environment("worker", {**cloud, "COMPRIMEMELO_SECRET_KEY": STRONG_KEY}))
    assert settings.storage_url.startswith("gs://") and settings.queue_url.startswith("pubsub://")
    assert settings.dead_letter_subscription
    host = cloud["STORAGE_EMULATOR_HOST"].removeprefix("http://").split(":")[0]
    assert host in compose()["services"] and cloud["PUBSUB_EMULATOR_HOST"].split(":")[0] in compose()["services"]


def test_the_image_runs_serve_as_a_user_with_a_health_check_and_the_workers_tools():
    text = (ROOT / "Dockerfile").read_text()
    final = text.rsplit("\nFROM ", 1)[1]  # the runtime stage
    assert re.search(r"^USER comprimemelo$", final, re.M)
    assert re.search(r"apt-get install .*\blbzip2\b.*\butil-linux\b", final)
    assert re.search(r"^HEALTHCHECK .*/healthz", final, re.M | re.S)
    assert 'ENTRYPOINT ["comprimemelo"]' in final and 'CMD ["serve"]' in final
    assert 'VOLUME ["/data"]' in final and "COMPRIMEMELO_DATA_DIR=/data" in final
    assert {line.split("=")[0] for line in re.findall(r"COMPRIMEMELO_\w+=", final)} <= SETTING_NAMES


@pytest.mark.e2e
def test_the_image_and_the_compose_stacks_verify_with_podman():
    if os.environ.get("COMPRIMEMELO_TEST_CONTAINER") != "1":
        pytest.skip("opt-in, minutes on a new machine: COMPRIMEMELO_TEST_CONTAINER=1 runs "
                    "container/verify.sh (docs/container.md)")
    result = subprocess.run(["bash", str(ROOT / "container" / "verify.sh"), "all"], capture_output=True, text=True,
                            timeout=VERIFY_TIMEOUT_SECONDS, env={**os.environ, "PYTHON": sys.executable})
    assert result.returncode == 0, result.stderr[-6000:]
    assert "all checks passed (all)" in result.stderr
