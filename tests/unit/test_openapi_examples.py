"""Every schema of the OpenAPI document carries an example that its schema accepts."""

from __future__ import annotations

import pytest
from jsonschema import Draft202012Validator
from referencing import Registry
from referencing.jsonschema import DRAFT202012

from comprimemelo.web.api.openapi import openapi_document

DOCUMENT = openapi_document()
SCHEMAS = DOCUMENT["components"]["schemas"]
REGISTRY = Registry().with_resource("urn:document", DRAFT202012.create_resource(DOCUMENT))


def validator_for(name: str) -> Draft202012Validator:
    return Draft202012Validator({"$ref": f"urn:document#/components/schemas/{name}"}, registry=REGISTRY,
                                format_checker=Draft202012Validator.FORMAT_CHECKER)


@pytest.mark.parametrize("name", sorted(SCHEMAS))
def test_every_schema_has_an_example_its_schema_accepts(name):
    examples = SCHEMAS[name].get("examples")
    assert examples, f"{name} has no example"
    for example in examples:
        errors = [error.message for error in validator_for(name).iter_errors(example)]
        assert not errors, f"{name}: {errors}"


def test_a_wrong_example_would_be_caught():
    assert list(validator_for("Task").iter_errors({**SCHEMAS["Task"]["examples"][0], "status": "lost"}))
