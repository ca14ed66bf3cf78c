"""Fuzz every operation of the service's own ``/api/openapi.json`` with schemathesis.

A real ``comprimemelo serve`` (gunicorn web and worker, rate limits off) answers
over HTTP, on SQLite and on PostgreSQL. The fuzzer calls each documented
operation with generated valid and invalid requests, authenticated with the
Bearer token of a user who owns processed tasks, and asserts: no 5xx, and every
response has a documented status code, content type, headers and body.

Bounded and reproducible: a few dozen examples per operation, derandomized, no
example database. The schema is the in-process document, which the service is
checked to serve as is: schemathesis' lazy ``from_fixture`` loader (the way to
read it from the live URL) fails under pytest 9.2.
"""

from __future__ import annotations

import io
import json

import pytest
import requests
import schemathesis
from hypothesis import settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from comprimemelo.compression import ArchiveFormat
from comprimemelo.web.api.openapi import openapi_document
from tests.conftest import PASSWORD
from tests.processes import Client, serving

pytestmark = pytest.mark.e2e

schema = schemathesis.openapi.from_dict(openapi_document())

MAX_EXAMPLES_PER_OPERATION = 20
REQUEST_TIMEOUT_SECONDS = 30
LOGOUT_PATH = "/api/auth/logout"
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
]
# The fuzzer's files bear the name the document gives as the example of
# ``GET /api/files/{filename}``, so that example finds them.
DOWNLOADED_NAME = openapi_document()["paths"]["/api/files/{filename}"]["parameters"][0]["schema"]["examples"][0]


@pytest.fixture(
    scope="module",
    params=[
        pytest.param("sqlite", id="sqlite"),
        pytest.param("postgres", id="postgres", marks=pytest.mark.postgres),
    ],
)
def served(request, tmp_path_factory):
    """A running ``comprimemelo serve`` on each database, rate limits off; yields its base URL."""
    tmp_path = tmp_path_factory.mktemp("fuzz")
    database = {}
    if request.param == "postgres":
        cluster = request.getfixturevalue("postgres_cluster")
        database["COMPRIMEMELO_DATABASE_URL"] = cluster.fresh_database()
    try:
        with serving(tmp_path, COMPRIMEMELO_RATE_LIMITS="off", **database) as (base_url, _process):
            yield base_url
    finally:
        if database:
            cluster.drop_database(database["COMPRIMEMELO_DATABASE_URL"])


@pytest.fixture(scope="module")
def accounts(served) -> dict[str, str]:
    """Bearer tokens of two users, by role, each owning processed tasks.

    ``deleter`` is used for ``DELETE /api/tasks/{task_id}`` only and owns task 1,
    the id the fuzzer tries first; ``fuzzer`` is used for everything else and
    owns the next tasks, one per format, all of the file named in the document's
    example, so downloads answer 200 and cannot be deleted from under them.
    """
    tokens = {}
    for role, uploads in (
        ("deleter", [("deleteme.txt", "zip")]),
        ("fuzzer", [(DOWNLOADED_NAME, fmt.value) for fmt in ArchiveFormat]),
    ):
        client = Client(served)
        client.signup_and_login(role)
        ids = [upload(client, name, fmt) for name, fmt in uploads]
        client.wait_finished(ids)
        tokens[role] = client.http.headers["Authorization"].removeprefix("Bearer ")
    return tokens


def upload(client: Client, name: str, fmt: str) -> int:
    response = client.http.post(
        f"{client.base_url}/api/tasks",
        files={"fileName": (name, io.BytesIO(b"fuzz me " * 100))},
        data={"newFormat": fmt},
        timeout=REQUEST_TIMEOUT_SECONDS,
    )
    assert response.status_code == 201, response.text
    return response.json()["id"]


def test_the_fuzzed_document_is_the_one_the_service_serves(served):
    response = requests.get(f"{served}/api/openapi.json", timeout=REQUEST_TIMEOUT_SECONDS)
    assert response.status_code == 200
    assert response.json() == json.loads(json.dumps(openapi_document()))


def fresh_token(base_url: str) -> str:
    """A token of its own for logout, so revoking it leaves the shared one valid."""
    response = requests.post(
        f"{base_url}/api/auth/login",
        json={"username": "fuzzer", "password": PASSWORD},
        timeout=REQUEST_TIMEOUT_SECONDS,
    )
    assert response.status_code == 200, response.text
    return response.json()["access_token"]


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES_PER_OPERATION,
    derandomize=True,
    database=None,
    deadline=None,
)
def test_api_conforms_to_its_openapi_document(case, served, accounts):
    if case.operation.path == LOGOUT_PATH:
        token = fresh_token(served)
    elif case.method == "DELETE":
        token = accounts["deleter"]
    else:
        token = accounts["fuzzer"]
    case.call_and_validate(
        base_url=served,
        headers={"Authorization": f"Bearer {token}"},
        checks=CHECKS,
        timeout=REQUEST_TIMEOUT_SECONDS,
    )
