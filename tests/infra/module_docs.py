"""Module READMEs generated from the Terraform itself: description, inputs, outputs, requirements.

Every module under terraform/modules/ and terraform/examples/ gets a README.md
whose generated part (between the markers, as terraform-docs writes them) is
rebuilt from the module's header comment, ``variable``, ``output`` and
``required_providers`` blocks; text outside the markers is kept. The root
README (terraform/README.md) gets its inputs and outputs the same way.

``python -m tests.infra.module_docs`` rewrites them; tests/infra/test_module_docs.py
fails when one is stale.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

from tests.infra.terraform_hcl import load_file, load_module, named_blocks
from tests.infra.tools import TERRAFORM_DIR

BEGIN = "<!-- BEGIN_TF_DOCS -->"
END = "<!-- END_TF_DOCS -->"
HEADER_COMMENT = re.compile(r"\A\s*/\*\*(.*?)\*/", re.S)


def documented_directories() -> list[Path]:
    """The root module, every module and every example."""
    return [TERRAFORM_DIR, *sorted(p for p in (TERRAFORM_DIR / "modules").iterdir() if p.is_dir()),
            *sorted(p for p in (TERRAFORM_DIR / "examples").iterdir() if p.is_dir())]


def _expression(value) -> str:
    """A python-hcl2 value written back as HCL-ish text for a table cell."""
    if isinstance(value, str):
        text = value[2:-1] if value.startswith("${") and value.endswith("}") else value
        return text
    return json.dumps(value)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _header(directory: Path) -> str:
    main = directory / "main.tf"
    match = HEADER_COMMENT.match(main.read_text()) if main.is_file() else None
    if not match:
        return ""
    lines = [line.strip().removeprefix("*").strip() for line in match.group(1).splitlines()]
    return " ".join(line for line in lines if line)


def generated_section(directory: Path) -> str:
    module = load_module(directory)
    lines = [BEGIN]
    header = _header(directory)
    if header:
        lines += ["", header]
    lines += ["", "## Inputs", "", "| Name | Description | Type | Default |", "|------|-------------|------|---------|"]
    for name, body in named_blocks(module, "variable"):
        default = f"`{_cell(_expression(body['default']))}`" if "default" in body else "required"
        if "default" in body and body["default"] is None:
            default = "`null`"
        lines.append(f"| `{name}` | {_cell(str(body.get('description', '')))} | "
                     f"`{_cell(_expression(body.get('type', 'any')))}` | {default} |")
    lines += ["", "## Outputs", "", "| Name | Description |", "|------|-------------|"]
    lines += [f"| `{name}` | {_cell(str(body.get('description', '')))} |" for name, body in named_blocks(module, "output")]
    versions = directory / "versions.tf"
    if versions.is_file():
        terraform = load_file(versions)["terraform"][0]
        lines += ["", "## Requirements", "", "| Name | Version |", "|------|---------|",
                  f"| terraform | `{terraform.get('required_version', '')}` |"]
        for block in terraform.get("required_providers", []):
            for provider, spec in block.items():
                lines.append(f"| {provider} (`{spec['source']}`) | `{spec['version']}` |")
    lines += ["", END]
    return "\n".join(lines) + "\n"


def expected_readme(directory: Path) -> str:
    """The README with its generated part rebuilt (a new README gets a title and the generated part)."""
    path = directory / "README.md"
    section = generated_section(directory)
    if not path.is_file():
        kind = "example" if directory.parent.name == "examples" else "module"
        return f"# `{directory.relative_to(TERRAFORM_DIR)}` ({kind})\n\n{section}"
    text = path.read_text()
    if BEGIN in text and END in text:
        before, _, rest = text.partition(BEGIN)
        _, _, after = rest.partition(END)
        return before + section.rstrip("\n") + after
    return text.rstrip("\n") + "\n\n" + section


def main() -> int:
    for directory in documented_directories():
        path = directory / "README.md"
        expected = expected_readme(directory)
        if not path.is_file() or path.read_text() != expected:
            path.write_text(expected)
            print(f"wrote {path.relative_to(TERRAFORM_DIR.parent)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
