"""``/api/uploads`` as ``comprimemelo.uploads.openapi`` documents it: schemathesis
fuzzes those operations against a real ``comprimemelo serve`` (SQLite): no 5xx,
and every response documented (status, content type, headers, body).

The fragments are merged into the API's document here, as
``comprimemelo.web.openapi`` merges them, so this holds before and after.
"""

from __future__ import annotations

import copy

import pytest
import schemathesis
from hypothesis import settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from comprimemelo.uploads import openapi as upload_openapi
from comprimemelo.web.openapi import openapi_document
from tests.processes import Client, Process, free_port, process_environment, wait_until_healthy

pytestmark = pytest.mark.e2e


def merged_document() -> dict:
    document = copy.deepcopy(openapi_document())
    document["components"]["schemas"].update(upload_openapi.SCHEMAS)
    document["paths"].update(upload_openapi.PATHS)
    return document


schema = schemathesis.openapi.from_dict(merged_document()).include(path_regex="^/api/uploads")
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
]


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("uploads-fuzz")
    port = free_port()
    env = process_environment(tmp_path / "data", COMPRIMEMELO_RATE_LIMITS="off")
    process = Process(["serve", "--port", str(port), "--no-worker"], env, tmp_path / "serve.log")
    base_url = f"http://127.0.0.1:{port}"
    try:
        wait_until_healthy(base_url, process)
        client = Client(base_url)
        client.signup_and_login("uploadfuzzer")
        yield base_url, client.http.headers["Authorization"]
    finally:
        process.stop()


@schema.parametrize()
@settings(max_examples=25, derandomize=True, database=None, deadline=None)
def test_uploads_api_conforms_to_its_openapi_fragment(case, served):
    base_url, authorization = served
    case.call_and_validate(
        base_url=base_url, headers={"Authorization": authorization}, checks=CHECKS, timeout=30
    )
