"""The google and random providers' schemas, from the prebuilt CDKTF packages on npm.

No Terraform registry is reachable here, so ``terraform providers schema``
cannot run. The CDKTF packages (``@cdktf/provider-google`` 16.x is
hashicorp/google 6.50.0) are generated from the providers' own schemas and
ship them in their ``.jsii`` type system: one class per resource and data
source, one config interface per block, every argument with its type,
whether it is optional, and a documentation link that carries its Terraform
name (``...#machine_type``). :func:`provider_schema` turns that into the
shape of ``terraform providers schema -json`` (``block`` with
``attributes`` and ``block_types``), cached as JSON.

What the jsii does not say, and how it is read here:

- computed-only attributes are the class's read-only getters that are not
  arguments; whether an *optional* argument is also computed is not recorded,
  so every optional argument is marked ``optional`` and ``computed`` (an unset
  one is "known after apply" in the stand-in's plan);
- a block is a struct-typed argument: a single struct is a list block of at
  most one, an array of structs a list block (sets are read as lists);
- sensitivity is not recorded.

The packages are fetched with ``npm pack`` into ``.cache/provider-schema``
(ignored by git); nothing downloaded is committed.

``python -m tests.infra.provider_schema`` fetches and converts, and prints
the paths.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import tarfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.infra.tools import REPO

CACHE_DIR = REPO / ".cache" / "provider-schema"
NPM_TIMEOUT_SECONDS = 300
SCHEMA_FORMAT_VERSION = 2


@dataclass(frozen=True)
class ProviderPackage:
    """A prebuilt CDKTF provider package and the Terraform provider it was generated from."""

    name: str  # Terraform provider type: google, random
    npm_package: str
    npm_version: str  # exact: the schema must not move under the tests

    @property
    def tarball(self) -> Path:
        return CACHE_DIR / f"{self.npm_package.lstrip('@').replace('/', '-')}-{self.npm_version}.tgz"

    @property
    def schema_path(self) -> Path:
        return CACHE_DIR / f"{self.name}-{self.npm_version}.schema.json"


GOOGLE = ProviderPackage("google", "@cdktf/provider-google", "16.12.1")  # hashicorp/google 6.50.0
RANDOM = ProviderPackage("random", "@cdktf/provider-random", "12.0.1")
PACKAGES = {package.name: package for package in (GOOGLE, RANDOM)}

_DOC_NAME = re.compile(r"#([a-z0-9_]+) [A-Za-z0-9]+#[a-z0-9_]+\}")
_PRIMITIVES = {"string": "string", "number": "number", "boolean": "bool"}
_COMPUTED_MAPS = {"cdktf.StringMap": ["map", "string"], "cdktf.NumberMap": ["map", "number"],
                  "cdktf.BooleanMap": ["map", "bool"], "cdktf.StringMapList": ["list", ["map", "string"]]}
_RESOURCE_BASE = "cdktf.TerraformResource"
_DATA_SOURCE_BASE = "cdktf.TerraformDataSource"
_PROVIDER_BASE = "cdktf.TerraformProvider"


class SchemaUnavailable(RuntimeError):
    """npm is missing or the registry could not be reached."""


def fetch_package(package: ProviderPackage) -> Path:
    """The package's tarball, from the cache or ``npm pack``."""
    if package.tarball.is_file():
        return package.tarball
    npm = shutil.which("npm")
    if not npm:
        raise SchemaUnavailable("npm not found (bash tests/install-system-deps.sh installs it)")
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    result = subprocess.run(
        [npm, "pack", f"{package.npm_package}@{package.npm_version}", "--silent", "--pack-destination", str(CACHE_DIR)],
        capture_output=True, text=True, timeout=NPM_TIMEOUT_SECONDS, check=False,
    )
    if result.returncode != 0 or not package.tarball.is_file():
        raise SchemaUnavailable(f"npm pack {package.npm_package}@{package.npm_version} failed: {result.stderr.strip()}")
    return package.tarball


def provider_schema(name: str) -> dict[str, Any]:
    """Provider ``name``'s schema in ``terraform providers schema -json`` shape, converted once and cached."""
    package = PACKAGES[name]
    if package.schema_path.is_file():
        cached = json.loads(package.schema_path.read_text())
        if cached.get("format_version") == SCHEMA_FORMAT_VERSION:
            return cached
    with tarfile.open(fetch_package(package)) as archive:
        assembly = json.load(archive.extractfile("package/.jsii"))
        manifest = json.load(archive.extractfile("package/package.json"))
    schema = convert_assembly(assembly)
    schema["format_version"] = SCHEMA_FORMAT_VERSION
    schema["source"] = {
        "npm_package": f"{package.npm_package}@{package.npm_version}",
        "provider": manifest["cdktf"]["provider"]["name"],
        "provider_version": manifest["cdktf"]["provider"]["version"],
    }
    temporary = package.schema_path.with_suffix(".tmp")
    temporary.write_text(json.dumps(schema))
    temporary.replace(package.schema_path)
    return schema


# --- jsii -> Terraform schema ---------------------------------------------------------


def _snake(camel: str) -> str:
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", camel).lower()


def _terraform_name(prop: dict) -> str:
    """The argument's Terraform name, from its documentation link (camel case is ambiguous: ``ipv6``)."""
    remarks = prop.get("docs", {}).get("remarks", "") + prop.get("docs", {}).get("summary", "")
    match = _DOC_NAME.search(remarks)
    return match.group(1) if match else _snake(prop["name"])


class _Converter:
    def __init__(self, types: dict[str, dict]) -> None:
        self.types = types

    def _struct_elements(self, jsii_type: dict) -> tuple[str | None, bool]:
        """(struct fqn, is_list) when the type is a struct or an array of structs."""
        if "fqn" in jsii_type and self.types.get(jsii_type["fqn"], {}).get("datatype"):
            return jsii_type["fqn"], False
        options = jsii_type.get("union", {}).get("types", [jsii_type])
        for option in options:
            element = option.get("collection", {}).get("elementtype", {})
            if option.get("collection", {}).get("kind") == "array" and self.types.get(element.get("fqn", ""), {}).get(
                    "datatype"):
                return element["fqn"], True
        return None, False

    def _value_type(self, jsii_type: dict) -> Any:
        if "primitive" in jsii_type:
            return _PRIMITIVES.get(jsii_type["primitive"], "dynamic")
        if "union" in jsii_type:
            kinds = [self._value_type(t) for t in jsii_type["union"]["types"] if t.get("fqn") != "cdktf.IResolvable"]
            return kinds[0] if len(kinds) == 1 else "dynamic"
        if "collection" in jsii_type:
            kind = "list" if jsii_type["collection"]["kind"] == "array" else "map"
            return [kind, self._value_type(jsii_type["collection"]["elementtype"])]
        fqn = jsii_type.get("fqn", "")
        if fqn == "cdktf.IResolvable":  # getBooleanAttribute()
            return "bool"
        if fqn in _COMPUTED_MAPS:
            return _COMPUTED_MAPS[fqn]
        klass = self.types.get(fqn)
        if klass and klass.get("base") == "cdktf.ComplexList":
            return ["list", self._object_type(fqn.removesuffix("List") + "OutputReference")]
        if klass and klass.get("base") == "cdktf.ComplexObject":
            return ["list", self._object_type(fqn)]
        return "dynamic"

    def _object_type(self, output_reference_fqn: str) -> Any:
        klass = self.types.get(output_reference_fqn)
        if not klass:
            return "dynamic"
        attributes = {
            _terraform_name(prop): self._value_type(prop["type"])
            for prop in klass.get("properties", [])
            if not prop.get("static") and prop["name"] != "internalValue" and not prop["name"].endswith("Input")
        }
        return ["object", attributes]

    def block(self, config_fqn: str | None, getters_fqn: str | None) -> dict[str, Any]:
        """The block of arguments in struct ``config_fqn``, plus the computed getters of class ``getters_fqn``."""
        attributes: dict[str, dict] = {}
        block_types: dict[str, dict] = {}
        argument_names: set[str] = set()
        for prop in self.types.get(config_fqn, {}).get("properties", []) if config_fqn else []:
            name = _terraform_name(prop)
            argument_names.add(prop["name"])
            optional = bool(prop.get("optional"))
            struct, is_list = self._struct_elements(prop["type"])
            if struct:
                nested = {"nesting_mode": "list", "block": self.block(struct, struct + "OutputReference")}
                if not optional:
                    nested["min_items"] = 1
                if not is_list:
                    nested["max_items"] = 1
                block_types[name] = nested
                continue
            attribute: dict[str, Any] = {"type": self._value_type(prop["type"])}
            if optional:
                attribute.update(optional=True, computed=True)
            else:
                attribute["required"] = True
            description = prop.get("docs", {}).get("summary", "")
            if description and not description.startswith("Docs at Terraform Registry"):
                attribute["description"] = description
            attributes[name] = attribute
        for prop in self.types.get(getters_fqn, {}).get("properties", []) if getters_fqn else []:
            if (prop.get("static") or not prop.get("immutable") or prop["name"] in argument_names
                    or prop["name"].endswith("Input") or prop["name"] == "internalValue"):
                continue
            name = _terraform_name(prop)
            if name in block_types or name in attributes:
                continue
            attributes[name] = {"type": self._value_type(prop["type"]), "computed": True}
        return {"attributes": attributes, "block_types": block_types}


def convert_assembly(assembly: dict[str, Any]) -> dict[str, Any]:
    """Provider, resource and data-source schemas of a CDKTF provider's jsii assembly."""
    types = assembly["types"]
    converter = _Converter(types)
    schema: dict[str, Any] = {"provider": None, "resource_schemas": {}, "data_source_schemas": {}}
    for fqn, klass in types.items():
        base = klass.get("base")
        if klass.get("kind") != "class" or base not in (_RESOURCE_BASE, _DATA_SOURCE_BASE, _PROVIDER_BASE):
            continue
        parameters = klass.get("initializer", {}).get("parameters", [])
        config_fqn = next((p["type"].get("fqn") for p in parameters if p["name"] == "config"), None)
        block = converter.block(config_fqn, fqn)
        if base == _PROVIDER_BASE:
            block["attributes"].pop("alias", None)  # a meta-argument in Terraform, an argument in CDKTF
            schema["provider"] = {"block": block}
            continue
        type_name = _resource_type(klass)
        kind = "resource_schemas" if base == _RESOURCE_BASE else "data_source_schemas"
        schema[kind][type_name] = {"block": block}
    return schema


def _resource_type(klass: dict) -> str:
    """``google_compute_instance`` from the class summary's registry link."""
    match = re.search(r"/docs/(?:resources|data-sources)/([a-z0-9_]+) ([a-z0-9_]+)\}", klass["docs"]["summary"])
    if not match:
        raise ValueError(f"no Terraform type in {klass['fqn']}: {klass['docs']['summary']}")
    return match.group(2)


def main() -> None:
    for name in PACKAGES:
        schema = provider_schema(name)
        print(f"{name}: {schema['source']['provider']} {schema['source']['provider_version']} "
              f"({len(schema['resource_schemas'])} resources, {len(schema['data_source_schemas'])} data sources) "
              f"-> {PACKAGES[name].schema_path}")


if __name__ == "__main__":
    main()
