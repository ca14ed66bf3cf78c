"""Shared fixtures: settings for a throwaway data dir, the real adapters, the app.

Every test that uses a database runs twice: on SQLite and on a throwaway
PostgreSQL 15 cluster (``tests/postgres.py``, started once per session, only
when a ``postgres`` test runs), with ids ``[sqlite]`` and ``[postgres]``, so
``pytest -k sqlite`` or ``pytest -k postgres`` picks one. Without PostgreSQL
the ``postgres`` runs skip on a laptop and fail in CI (``CI`` set).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator

import pytest

from comprimemelo import db
from comprimemelo.bootstrap import Backends, build_web, open_backends
from comprimemelo.settings import Settings, load_settings

# Cloud Storage and Pub/Sub emulator fixtures.
pytest_plugins = ["tests.emulators"]

TEST_SECRET_KEY = "test-secret-key-0123456789abcdefghijklmnopqrstuv"
# Cheap argon2 parameters: tests exercise the code path, not the cost.
CHEAP_ARGON2 = dict(argon2_time_cost=1, argon2_memory_kib=1024, argon2_parallelism=1)
PASSWORD = "correct horse battery"
# The suite runs with the performance tuning on, and again with it off (the README's test command).
TUNING = os.environ.get("COMPRIMEMELO_TUNING", "on")


def require_or_skip(reason: str) -> None:
    """Skip a test whose backend is missing, except in CI, where it fails."""
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (required in CI)")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def postgres_cluster():
    """The session's PostgreSQL cluster, started on first use."""
    from tests.postgres import PostgresCluster

    if not PostgresCluster.available():
        require_or_skip("PostgreSQL 15 server binaries are not installed")
    with PostgresCluster.start() as cluster:
        yield cluster


@pytest.fixture(
    params=[
        pytest.param("sqlite", id="sqlite"),
        pytest.param("postgres", id="postgres", marks=pytest.mark.postgres),
    ]
)
def database_url(request, tmp_path) -> Iterator[str]:
    """A URL of an empty database of each kind: a SQLite file, or a fresh PostgreSQL database."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'data' / 'comprimemelo.sqlite3'}"
        return
    cluster = request.getfixturevalue("postgres_cluster")
    url = cluster.fresh_database()
    yield url
    cluster.drop_database(url)


@pytest.fixture
def postgres_url(postgres_cluster) -> Iterator[str]:
    """A fresh PostgreSQL database, for tests about PostgreSQL itself."""
    url = postgres_cluster.fresh_database()
    yield url
    postgres_cluster.drop_database(url)


@pytest.fixture
def settings(tmp_path, database_url) -> Settings:
    return load_settings(
        {},
        data_dir=tmp_path / "data",
        database_url=database_url,
        secret_key=TEST_SECRET_KEY,
        tuning=TUNING,
        **CHEAP_ARGON2,
    )


@pytest.fixture
def services(settings) -> Iterator[Backends]:
    """The backends the settings select (database migrated), as every role shares them."""
    built = open_backends(settings)
    db.upgrade(built.engine, settings)
    yield built
    built.close()


def app_with(settings: Settings, **changes):
    """An app of its own, built from ``settings`` with ``changes``, its database migrated."""
    app = build_web(settings.replace(**changes))
    services = app.extensions["comprimemelo"]
    db.upgrade(services.engine, services.settings)
    return app


@pytest.fixture
def app(services):
    app = build_web(services.settings, backends=services)
    app.config["TESTING"] = True
    return app


@pytest.fixture
def client(app):
    return app.test_client()


class ApiUser:
    """A signed-up, logged-in user of the test client."""

    def __init__(self, client, username: str) -> None:
        self.client = client
        self.username = username
        response = client.post(
            "/api/auth/signup",
            json={
                "username": username,
                "email": f"{username}@example.com",
                "password1": PASSWORD,
                "password2": PASSWORD,
            },
        )
        assert response.status_code == 201, response.json
        self.id = response.json["id"]
        response = client.post("/api/auth/login", json={"username": username, "password": PASSWORD})
        assert response.status_code == 200, response.json
        self.token = response.json["access_token"]
        self.headers = {"Authorization": f"Bearer {self.token}"}

    def verify_email(self) -> None:
        """Confirm the address as its owner would: the link of the mail sent at sign-up."""
        from urllib.parse import parse_qs, urlsplit

        import sqlalchemy as sa

        from comprimemelo.domain.models import OutboxEvent

        sessions = self.client.application.extensions["comprimemelo"].sessions
        with sessions() as session:
            payload = session.scalar(
                sa.select(OutboxEvent.payload)
                .where(OutboxEvent.user_id == self.id, OutboxEvent.event_type == "account.verify_email")
                .order_by(OutboxEvent.id.desc())
            )
        link = json.loads(payload)["data"]["link"]
        token = parse_qs(urlsplit(link).query)["token"][0]
        response = self.client.post("/api/auth/verify-email", json={"token": token})
        assert response.status_code == 200, response.json

    def upload(self, name: str, data: bytes, fmt: str = "zip", **fields):
        import io

        return self.client.post(
            "/api/tasks",
            data={"fileName": (io.BytesIO(data), name), "newFormat": fmt, **fields},
            headers=self.headers,
            content_type="multipart/form-data",
        )


@pytest.fixture
def make_user(client):
    def make(username: str = "alice") -> ApiUser:
        return ApiUser(client, username)

    return make
