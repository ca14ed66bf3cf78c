"""Shared fixtures: settings for a throwaway data dir, the real adapters, the app.

The database under test is SQLite by default; ``COMPRIMEMELO_TEST_DATABASE=postgres``
runs the same tests on a throwaway PostgreSQL cluster (``tests/postgres.py``).
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from comprimemelo import db
from comprimemelo.bootstrap import Services, build_services
from comprimemelo.settings import Settings, load_settings

TEST_SECRET_KEY = "test-secret-key-" + "x" * 32
# Cheap argon2 parameters: tests exercise the code path, not the cost.
CHEAP_ARGON2 = dict(argon2_time_cost=1, argon2_memory_kib=1024, argon2_parallelism=1)
PASSWORD = "correct horse battery"


@pytest.fixture(scope="session")
def database_server() -> Iterator[str | None]:
    """The PostgreSQL server URL when testing on PostgreSQL, else ``None``."""
    if os.environ.get("COMPRIMEMELO_TEST_DATABASE", "sqlite") != "postgres":
        yield None
        return
    from tests.postgres import PostgresCluster

    with PostgresCluster.start() as cluster:
        yield cluster


@pytest.fixture
def database_url(database_server, tmp_path) -> str:
    if database_server is None:
        return f"sqlite:///{tmp_path / 'data' / 'comprimemelo.sqlite3'}"
    return database_server.fresh_database()


@pytest.fixture
def settings(tmp_path, database_url) -> Settings:
    return load_settings(
        {},
        data_dir=tmp_path / "data",
        database_url=database_url,
        secret_key=TEST_SECRET_KEY,
        **CHEAP_ARGON2,
    )


@pytest.fixture
def services(settings) -> Iterator[Services]:
    built = build_services(settings)
    db.upgrade(built.engine, settings)
    yield built
    built.close()


@pytest.fixture
def app(services):
    from comprimemelo.web import create_app

    app = create_app(services=services)
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
