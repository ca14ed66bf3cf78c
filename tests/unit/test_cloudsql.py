"""The Cloud SQL creator, with a fake ``Connector`` class (no network)."""

from __future__ import annotations

import os

import pytest
from google.cloud.sql.connector import IPTypes

from comprimemelo.db.cloudsql import ProcessConnectors, cloudsql_creator
from comprimemelo.settings import Settings, SettingsError

INSTANCE = "my-project:europe-west1:comprimemelo"


class FakeConnector:
    """Records how it was built and every connection asked of it."""

    made: list[FakeConnector] = []

    def __init__(self, **options) -> None:
        self.options = options
        self.calls: list[tuple[tuple, dict]] = []
        self.closed = False
        self.pid = os.getpid()
        FakeConnector.made.append(self)

    def connect(self, *args, **kwargs):
        self.calls.append((args, kwargs))
        return ("connection", len(self.calls))

    def close(self) -> None:
        self.closed = True


@pytest.fixture
def connectors():
    FakeConnector.made = []
    return ProcessConnectors(FakeConnector)


def cloudsql_settings(**changes) -> Settings:
    values = {"cloudsql_instance": INSTANCE, "database_user": "web@my-project.iam", **changes}
    return Settings(**values)


def test_connects_with_iam_auth_over_private_ip_and_no_password(connectors):
    connect = cloudsql_creator(cloudsql_settings(), connectors=connectors)
    assert FakeConnector.made == []  # nothing happens until the pool connects
    assert connect() == ("connection", 1)
    (connector,) = FakeConnector.made
    assert connector.options["enable_iam_auth"] is True
    assert connector.options["ip_type"] is IPTypes.PRIVATE
    assert connector.options["refresh_strategy"] == "lazy"
    (args, kwargs), = connector.calls
    assert args == (INSTANCE, "pg8000")
    assert kwargs == {
        "user": "web@my-project.iam",
        "db": "comprimemelo",
        "enable_iam_auth": True,
        "ip_type": IPTypes.PRIVATE,
    }
    assert "password" not in kwargs


def test_public_ip_type_is_honoured(connectors):
    cloudsql_creator(cloudsql_settings(cloudsql_ip_type="public"), connectors=connectors)()
    assert FakeConnector.made[0].calls[0][1]["ip_type"] is IPTypes.PUBLIC


def test_one_connector_per_process_reused_for_every_connection(connectors):
    connect = cloudsql_creator(cloudsql_settings(), connectors=connectors)
    connect()
    connect()
    cloudsql_creator(cloudsql_settings(), connectors=connectors)()
    assert len(FakeConnector.made) == 1
    assert len(FakeConnector.made[0].calls) == 3


def test_a_forked_process_makes_its_own_connector(connectors):
    connect = cloudsql_creator(cloudsql_settings(), connectors=connectors)
    connect()
    parent_connector = FakeConnector.made[0]
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - runs in the child
        try:
            connect()
            child_connector = FakeConnector.made[-1]
            ok = (
                len(FakeConnector.made) == 2
                and child_connector is not parent_connector
                and child_connector.pid == os.getpid()
                and len(parent_connector.calls) == 1
            )
            connectors.close()
            ok = ok and child_connector.closed and not parent_connector.closed
            os.write(write_end, b"ok" if ok else b"bad")
        finally:
            os._exit(0)
    os.close(write_end)
    os.waitpid(pid, 0)
    assert os.read(read_end, 10) == b"ok"
    os.close(read_end)
    assert len(parent_connector.calls) == 1


def test_close_ignores_another_process_and_closes_its_own(connectors):
    cloudsql_creator(cloudsql_settings(), connectors=connectors)()
    connectors.close(pid=os.getpid() + 1)  # an exit handler inherited through fork
    assert not FakeConnector.made[0].closed
    connectors.close()
    assert FakeConnector.made[0].closed


@pytest.mark.parametrize(
    "changes, variable",
    [
        ({"cloudsql_instance": "not-an-instance"}, "CLOUDSQL_INSTANCE"),
        ({"cloudsql_ip_type": "carrier-pigeon"}, "CLOUDSQL_IP_TYPE"),
        ({"database_user": ""}, "DATABASE_USER"),
    ],
)
def test_bad_configuration_is_named(connectors, changes, variable):
    with pytest.raises(SettingsError, match=variable):
        cloudsql_creator(cloudsql_settings(**changes), connectors=connectors)
