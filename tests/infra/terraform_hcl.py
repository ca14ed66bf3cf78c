"""Reading the Terraform modules with python-hcl2, across its versions.

python-hcl2 >= 5 keeps the quotes of string literals and block labels
(``'"google_pubsub_topic"'``) and marks blocks with ``__is_block__``; 4.x does
neither. :func:`load_module` normalises both to plain Python values: labels
and literals unquoted, interpolations left as ``${...}``, blocks as lists of
dicts.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import hcl2

from tests.infra.tools import TERRAFORM_DIR

MODULES_DIR = TERRAFORM_DIR / "modules"
MODULE_NAMES = (
    "network",
    "database",
    "messaging",
    "storage",
    "iam",
    "secrets",
    "instance_template",
    "web",
    "worker",
    "load_balancer",
)


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == '"' and value[-1] == '"':
        return value[1:-1].replace('\\"', '"')
    return value


def normalise(value: Any) -> Any:
    """Unquote strings and keys, drop python-hcl2's ``__*__`` markers."""
    if isinstance(value, dict):
        return {
            _unquote(key): normalise(item)
            for key, item in value.items()
            if not (key.startswith("__") and key.endswith("__"))
        }
    if isinstance(value, list):
        return [normalise(item) for item in value]
    if isinstance(value, str):
        return _unquote(value)
    return value


def load_file(path: Path) -> dict[str, list[dict[str, Any]]]:
    with path.open() as handle:
        return normalise(hcl2.load(handle))


def load_module(directory: Path) -> dict[str, list[dict[str, Any]]]:
    """Every top-level block kind (resource, variable, ...) of all .tf files in ``directory``."""
    merged: dict[str, list[dict[str, Any]]] = {}
    for path in sorted(directory.glob("*.tf")):
        for kind, blocks in load_file(path).items():
            merged.setdefault(kind, []).extend(blocks if isinstance(blocks, list) else [blocks])
    return merged


def resources(module: dict, resource_type: str) -> dict[str, dict[str, Any]]:
    """Resources of ``resource_type`` in a loaded module, by name."""
    found: dict[str, dict[str, Any]] = {}
    for block in module.get("resource", []):
        for rtype, by_name in block.items():
            if rtype == resource_type:
                found.update(by_name)
    return found


def named_blocks(module: dict, kind: str) -> Iterator[tuple[str, dict[str, Any]]]:
    """(name, body) of each ``variable``/``output``/``module`` block."""
    for block in module.get(kind, []):
        yield from block.items()


def block(body: dict[str, Any], name: str) -> dict[str, Any]:
    """The single nested block ``name`` of a body (hcl2 gives a list)."""
    value = body[name]
    assert isinstance(value, list) and len(value) == 1, f"expected one {name} block, got {value!r}"
    return value[0]


def all_modules() -> dict[str, Path]:
    """Root module and every child module, by name."""
    return {"root": TERRAFORM_DIR, **{name: MODULES_DIR / name for name in MODULE_NAMES}}
