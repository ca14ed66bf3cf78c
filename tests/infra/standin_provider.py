"""A stand-in Terraform provider that serves a published schema and plans without a cloud.

Run by Terraform as ``terraform-provider-google`` (or ``-random``) from a
filesystem mirror that tests/infra/terraform_offline.py builds, under the
Python of a virtual environment of its own (the ``tf`` framework pins
protobuf < 6, which the app's Google clients cannot use).

It speaks Terraform's plugin protocol 6 through the PyPI ``tf`` framework
(its gRPC server, handshake and value codec) and answers from the schema JSON
given in ``--schema`` (tests/infra/provider_schema.py):

- schema, validation and configuration: the schema as published; no value
  checks beyond Terraform's own (types, required arguments, nesting);
- plan of a new resource: the configuration, with every computed attribute
  left unset (at any depth) *unknown*, as the real provider's create plan
  shows "(known after apply)";
- data sources: read at plan with the arguments given and placeholders for the
  computed attributes (the real provider would ask Google): see
  ``DATA_SOURCE_PLACEHOLDERS``;
- apply is refused: nothing here can create a real resource.

It imports nothing from the repository; only ``tf`` and the standard library.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from typing import Any

import tf.provider
from tf.gen import tfplugin_pb2 as pb
from tf.runner import run_provider
from tf.types import Unknown
from tf.utils import Diagnostics, read_dynamic_value, to_dynamic_value

NESTING = {"list": pb.Schema.NestedBlock.NestingMode.LIST, "set": pb.Schema.NestedBlock.NestingMode.SET,
           "single": pb.Schema.NestedBlock.NestingMode.SINGLE}

# Computed attributes of data sources that the configuration reads, with a
# value that says it is a placeholder where the type allows.
DATA_SOURCE_PLACEHOLDERS = {
    # The project number: 12 digits derived from the project ID.
    ("google_project", "number"): lambda config: str(
        int(hashlib.sha256(str(config.get("project_id")).encode()).hexdigest(), 16) % 10**12).zfill(12),
}


def _block_pb(block: dict[str, Any]) -> pb.Schema.Block:
    attributes = []
    for name, spec in sorted(block.get("attributes", {}).items()):
        attributes.append(pb.Schema.Attribute(
            name=name, type=json.dumps(spec["type"]).encode(), description=spec.get("description", ""),
            required=bool(spec.get("required")), optional=bool(spec.get("optional")),
            computed=bool(spec.get("computed")), sensitive=bool(spec.get("sensitive")),
        ))
    nested = []
    for name, spec in sorted(block.get("block_types", {}).items()):
        nested.append(pb.Schema.NestedBlock(
            type_name=name, block=_block_pb(spec["block"]), nesting=NESTING[spec.get("nesting_mode", "list")],
            min_items=spec.get("min_items", 0), max_items=spec.get("max_items", 0),
        ))
    return pb.Schema.Block(attributes=attributes, block_types=nested)


def plan_value(value: Any, block: dict[str, Any]) -> Any:
    """``value`` (an object of ``block``) with its unset computed attributes unknown, at every depth."""
    if not isinstance(value, dict):
        return value
    planned = dict(value)
    for name, spec in block.get("attributes", {}).items():
        if spec.get("computed") and planned.get(name) is None:
            planned[name] = Unknown
    for name, spec in block.get("block_types", {}).items():
        items = planned.get(name)
        if isinstance(items, list):
            planned[name] = [plan_value(item, spec["block"]) for item in items]
    return planned


def read_value(type_name: str, config: dict[str, Any], block: dict[str, Any]) -> dict[str, Any]:
    """A data source's result: the arguments given, placeholders or null for what Google would compute."""
    result = dict(config)
    for name, spec in block.get("attributes", {}).items():
        if result.get(name) is None and spec.get("computed"):
            placeholder = DATA_SOURCE_PLACEHOLDERS.get((type_name, name))
            result[name] = placeholder(config) if placeholder else None
    if result.get("id") is None and "id" in block.get("attributes", {}):
        result["id"] = f"stand-in/{type_name}"
    return result


class StandInServicer(tf.provider.ProviderServicer):
    """The plugin's RPCs, answered from a schema document instead of Python resource classes."""

    def __init__(self, app: "StandInProvider") -> None:
        super().__init__(app)
        self.schema = app.schema
        self._schema_response: pb.GetProviderSchema.Response | None = None

    def _resource_block(self, type_name: str) -> dict[str, Any]:
        return self.schema["resource_schemas"][type_name]["block"]

    def GetProviderSchema(self, request, context):  # noqa: N802 (gRPC method names)
        if self._schema_response is None:
            self._schema_response = pb.GetProviderSchema.Response(
                provider=pb.Schema(block=_block_pb(self.schema["provider"]["block"])),
                provider_meta=pb.Schema(block=pb.Schema.Block()),
                resource_schemas={name: pb.Schema(block=_block_pb(spec["block"]))
                                  for name, spec in self.schema["resource_schemas"].items()},
                data_source_schemas={name: pb.Schema(block=_block_pb(spec["block"]))
                                     for name, spec in self.schema["data_source_schemas"].items()},
            )
        return self._schema_response

    def ValidateProviderConfig(self, request, context):  # noqa: N802
        return pb.ValidateProviderConfig.Response()

    def ValidateResourceConfig(self, request, context):  # noqa: N802
        return pb.ValidateResourceConfig.Response()

    def ValidateDataResourceConfig(self, request, context):  # noqa: N802
        return pb.ValidateDataResourceConfig.Response()

    def ConfigureProvider(self, request, context):  # noqa: N802
        return pb.ConfigureProvider.Response()

    def UpgradeResourceState(self, request, context):  # noqa: N802
        return pb.UpgradeResourceState.Response(upgraded_state=to_dynamic_value(json.loads(request.raw_state.json)))

    def ReadResource(self, request, context):  # noqa: N802
        return pb.ReadResource.Response(new_state=request.current_state)

    def PlanResourceChange(self, request, context):  # noqa: N802
        proposed = read_dynamic_value(request.proposed_new_state)
        prior = read_dynamic_value(request.prior_state)
        if proposed is None or prior is not None:  # destroy, or an update of a state we never made
            return pb.PlanResourceChange.Response(planned_state=request.proposed_new_state)
        planned = plan_value(proposed, self._resource_block(request.type_name))
        return pb.PlanResourceChange.Response(planned_state=to_dynamic_value(planned))

    def ApplyResourceChange(self, request, context):  # noqa: N802
        diagnostics = Diagnostics().add_error(
            "The stand-in provider cannot apply",
            f"{request.type_name}: this provider only serves the published schema for validate and plan.")
        return pb.ApplyResourceChange.Response(diagnostics=diagnostics.to_pb())

    def ReadDataSource(self, request, context):  # noqa: N802
        config = read_dynamic_value(request.config)
        block = self.schema["data_source_schemas"][request.type_name]["block"]
        return pb.ReadDataSource.Response(state=to_dynamic_value(read_value(request.type_name, config, block)))


class StandInProvider:
    """What ``tf.runner.run_provider`` needs of a provider: its name (the servicer does the rest)."""

    def __init__(self, address: str, schema: dict[str, Any]) -> None:
        self.address = address
        self.schema = schema

    def full_name(self) -> str:
        return self.address


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--schema", required=True, help="schema JSON (terraform providers schema shape)")
    parser.add_argument("--address", required=True, help="e.g. registry.terraform.io/hashicorp/google")
    args, rest = parser.parse_known_args(argv[1:])
    with open(args.schema) as handle:
        schema = json.load(handle)
    # run_provider builds tf.provider.ProviderServicer(provider); ours answers from the schema.
    tf.provider.ProviderServicer = StandInServicer
    run_provider(StandInProvider(args.address, schema), [argv[0], *rest])


if __name__ == "__main__":
    main(sys.argv)
