"""Every operation of the OpenAPI document has an ``operationId``, one of a
kind and in snake_case: a generated client names its functions after them."""

from __future__ import annotations

import re

from comprimemelo.web.api.openapi import openapi_document

METHODS = {"get", "put", "post", "delete", "patch", "head", "options", "trace"}
SNAKE_CASE = re.compile(r"[a-z][a-z0-9]*(_[a-z0-9]+)*")


def _operations(document: dict) -> list[tuple[str, str, dict]]:
    found = []
    for section in ("paths", "webhooks"):
        for path, item in document.get(section, {}).items():
            found += [(path, method, op) for method, op in item.items() if method in METHODS]
    return found


def test_every_operation_has_a_snake_case_operation_id():
    missing = [(path, method) for path, method, op in _operations(openapi_document()) if "operationId" not in op]
    assert missing == []
    badly_spelt = [op["operationId"] for _, _, op in _operations(openapi_document())
                   if not SNAKE_CASE.fullmatch(op["operationId"])]
    assert badly_spelt == []


def test_operation_ids_are_unique():
    ids = [op["operationId"] for _, _, op in _operations(openapi_document())]
    assert len(ids) > 20
    assert sorted(ids) == sorted(set(ids))
