"""Validate JSON against one schema of the served OpenAPI document."""

from __future__ import annotations

from jsonschema import Draft202012Validator
from referencing import Registry
from referencing.jsonschema import DRAFT202012

from comprimemelo.web.api.openapi import openapi_document

DOCUMENT = openapi_document()
SCHEMAS = DOCUMENT["components"]["schemas"]
_REGISTRY = Registry().with_resource("urn:document", DRAFT202012.create_resource(DOCUMENT))


def validator_for(name: str) -> Draft202012Validator:
    return Draft202012Validator({"$ref": f"urn:document#/components/schemas/{name}"}, registry=_REGISTRY,
                                format_checker=Draft202012Validator.FORMAT_CHECKER)


def schema_errors(name: str, instance: object) -> list[str]:
    return [f"{list(error.absolute_path)}: {error.message}" for error in validator_for(name).iter_errors(instance)]
