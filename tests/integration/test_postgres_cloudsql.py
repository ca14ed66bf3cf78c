"""The Cloud SQL path of ``db.create_engine``, with the connector faked at its
boundary: it hands out real pg8000 connections to the test cluster."""

from __future__ import annotations

import pg8000.dbapi
import pytest
import sqlalchemy as sa

from comprimemelo import db
from comprimemelo.db import cloudsql
from comprimemelo.settings import load_settings
from tests.conftest import TEST_SECRET_KEY

pytestmark = pytest.mark.postgres


class LoopbackConnector:
    """Stands in for ``google.cloud.sql.connector.Connector``: same call shape,
    but connects to the local cluster as the IAM user would (no password)."""

    def __init__(self, url: sa.URL, **options) -> None:
        self.url = url
        self.options = options
        self.calls: list[dict] = []

    def connect(self, instance: str, driver: str, **kwargs):
        assert driver == "pg8000"
        self.calls.append({"instance": instance, **kwargs})
        return pg8000.dbapi.connect(
            user=kwargs["user"], database=kwargs["db"], host=self.url.host, port=self.url.port
        )

    def close(self) -> None:
        pass


def test_cloudsql_engine_migrates_and_queries_through_the_connector(postgres_url, tmp_path, monkeypatch):
    url = sa.make_url(postgres_url)
    made: list[LoopbackConnector] = []

    def factory(**options):
        made.append(LoopbackConnector(url, **options))
        return made[-1]

    monkeypatch.setattr(cloudsql, "_PROCESS_CONNECTORS", cloudsql.ProcessConnectors(factory))
    settings = load_settings(
        {},
        data_dir=tmp_path,
        secret_key=TEST_SECRET_KEY,
        cloudsql_instance="proj:europe-west1:main",
        database_user=url.username,
        database_name=url.database,
    )
    assert settings.effective_database_url == "postgresql+pg8000://"
    engine = db.create_engine(settings)
    try:
        db.upgrade(engine, settings)
        db.ping(engine)
        with engine.connect() as connection:
            assert connection.scalar(sa.text("SELECT count(*) FROM users")) == 0
    finally:
        engine.dispose()
    assert len(made) == 1
    assert made[0].calls and all(
        call == {
            "instance": "proj:europe-west1:main",
            "user": url.username,
            "db": url.database,
            "enable_iam_auth": True,
            "ip_type": cloudsql._ip_type("private"),
        }
        for call in made[0].calls
    )
