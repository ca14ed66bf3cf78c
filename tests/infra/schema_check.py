"""Every google_* and random_* block in terraform/ against the providers' published schemas.

What ``terraform validate`` would say about arguments, without the providers:
an argument or block the schema does not have, a required argument or block
missing, at every depth (``dynamic`` blocks are checked through their
``content``), and resource or data-source types the provider does not know.
Values are not checked (they are expressions here); ``terraform validate``
with the stand-in provider does that (tests/infra/test_terraform_plan.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import hcl2

# Arguments Terraform itself handles in resource and data blocks.
META_ARGUMENTS = {"count", "for_each", "provider", "depends_on", "lifecycle", "provisioner", "connection"}
CHECKED_PROVIDERS = ("google", "random")
BLOCK_MARKER = "__is_block__"


@dataclass(frozen=True)
class Finding:
    """One disagreement with the schema, located as file, block address and path inside it."""

    path: Path
    address: str
    where: str
    message: str

    def __str__(self) -> str:
        inside = f" {self.where}" if self.where else ""
        return f"{self.path}: {self.address}{inside}: {self.message}"


def _unquote(text: str) -> str:
    return text[1:-1] if len(text) >= 2 and text[0] == text[-1] == '"' else text


def _typed_blocks(path: Path, kind: str) -> Iterator[tuple[str, str, dict]]:
    """(type, name, raw body) of every ``resource`` or ``data`` block in a file."""
    with path.open() as handle:
        parsed = hcl2.load(handle)
    for entry in parsed.get(kind, []):
        for rtype, by_name in entry.items():
            for name, body in by_name.items():
                yield _unquote(rtype), _unquote(name), body


def _is_marker(key: str) -> bool:
    """python-hcl2's own keys (``__is_block__``, ``__comments__``)."""
    return key.startswith("__") and key.endswith("__")


def _is_block_list(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(v, dict) and v.get(BLOCK_MARKER) for v in value)


def check_body(body: dict, schema_block: dict, where: str = "", *, top_level: bool = False) -> Iterator[tuple[str, str]]:
    """(where, message) for each way ``body`` (python-hcl2, raw) disagrees with ``schema_block``."""
    attributes = schema_block.get("attributes", {})
    block_types = schema_block.get("block_types", {})
    present_blocks: set[str] = set()
    for raw_key, value in body.items():
        key = _unquote(raw_key)
        if _is_marker(key) or (top_level and key in META_ARGUMENTS):
            continue
        if key == "dynamic" and isinstance(value, list):
            for dynamic in value:
                for raw_name, spec in dynamic.items():
                    if _is_marker(raw_name):
                        continue
                    name = _unquote(raw_name)
                    if name not in block_types:
                        yield where, f'dynamic "{name}": no block type "{name}" here'
                        continue
                    present_blocks.add(name)
                    for content in spec.get("content", []):
                        yield from check_body(content, block_types[name]["block"], f"{where}{name}[dynamic].")
            continue
        if _is_block_list(value):
            if key not in block_types:
                hint = " (it is an argument: write it with =)" if key in attributes else ""
                yield where, f'unknown block "{key}"{hint}'
                continue
            present_blocks.add(key)
            nested = block_types[key]
            if nested.get("max_items") and len(value) > nested["max_items"]:
                yield where, f'block "{key}" appears {len(value)} times, at most {nested["max_items"]} allowed'
            for item in value:
                yield from check_body(item, nested["block"], f"{where}{key}.")
            continue
        if key in attributes:
            if attributes[key].get("computed") and not (attributes[key].get("optional") or
                                                        attributes[key].get("required")):
                yield where, f'"{key}" is computed by the provider and cannot be set'
            continue
        hint = " (it is a block: write it without =)" if key in block_types else ""
        yield where, f'unknown argument "{key}"{hint}'
    given = {_unquote(k) for k in body}
    for name, attribute in attributes.items():
        if attribute.get("required") and name not in given:
            yield where, f'missing required argument "{name}"'
    for name, nested in block_types.items():
        if nested.get("min_items", 0) > 0 and name not in present_blocks:
            yield where, f'missing required block "{name}"'


def check_files(paths: list[Path], schemas: dict[str, dict]) -> list[Finding]:
    """Findings for every checked resource and data source in ``paths``; ``schemas`` by provider name."""
    findings: list[Finding] = []
    for path in paths:
        for kind, schema_kind, prefix in (("resource", "resource_schemas", ""), ("data", "data_source_schemas", "data.")):
            for rtype, name, body in _typed_blocks(path, kind):
                provider = rtype.split("_", 1)[0]
                if provider not in CHECKED_PROVIDERS:
                    continue
                address = f"{prefix}{rtype}.{name}"
                known = schemas[provider][schema_kind]
                if rtype not in known:
                    findings.append(Finding(path, address, "", f"the {provider} provider has no {kind} type {rtype}"))
                    continue
                for where, message in check_body(body, known[rtype]["block"], top_level=True):
                    findings.append(Finding(path, address, where.rstrip("."), message))
    return findings


def checked_types(paths: list[Path]) -> set[str]:
    """Every checked resource and data-source type used in ``paths`` (``data.`` prefixed for data sources)."""
    used: set[str] = set()
    for path in paths:
        for kind, prefix in (("resource", ""), ("data", "data.")):
            used.update(prefix + rtype for rtype, _, _ in _typed_blocks(path, kind)
                        if rtype.split("_", 1)[0] in CHECKED_PROVIDERS)
    return used
