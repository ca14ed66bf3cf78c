"""Every schema of the OpenAPI document carries an example that its schema accepts."""

from __future__ import annotations

import pytest

from tests.openapi import SCHEMAS, validator_for


@pytest.mark.parametrize("name", sorted(SCHEMAS))
def test_every_schema_has_an_example_its_schema_accepts(name):
    examples = SCHEMAS[name].get("examples")
    assert examples, f"{name} has no example"
    for example in examples:
        errors = [error.message for error in validator_for(name).iter_errors(example)]
        assert not errors, f"{name}: {errors}"


def test_a_wrong_example_would_be_caught():
    assert list(validator_for("Task").iter_errors({**SCHEMAS["Task"]["examples"][0], "status": "lost"}))
