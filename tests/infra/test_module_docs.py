"""Every module's README is generated from its variables and outputs, and up to date."""

from __future__ import annotations

import pytest

from tests.infra.module_docs import BEGIN, END, documented_directories, expected_readme, generated_section
from tests.infra.terraform_hcl import load_module, named_blocks
from tests.infra.tools import TERRAFORM_DIR


@pytest.mark.parametrize("directory", documented_directories(), ids=lambda p: str(p.relative_to(TERRAFORM_DIR)))
def test_readme_is_up_to_date(directory):
    readme = directory / "README.md"
    assert readme.is_file(), f"{readme} missing: run python -m tests.infra.module_docs"
    assert readme.read_text() == expected_readme(directory), (
        f"{readme} is stale: run python -m tests.infra.module_docs")


def test_generated_section_lists_every_variable_and_output():
    directory = TERRAFORM_DIR / "modules" / "worker"
    section = generated_section(directory)
    assert section.startswith(BEGIN) and section.rstrip().endswith(END)
    module = load_module(directory)
    for kind in ("variable", "output"):
        for name, _ in named_blocks(module, kind):
            assert f"| `{name}` |" in section
    assert "| `subscription_name` | Short name of the task subscription" in section
    assert "| `project_id` | Project that owns the VMs. | `string` | required |" in section


def test_text_outside_the_markers_is_kept(tmp_path, monkeypatch):
    module = tmp_path / "terraform" / "modules" / "demo"
    module.mkdir(parents=True)
    (module / "variables.tf").write_text('variable "x" {\n  type        = number\n  description = "An x."\n}\n')
    (module / "outputs.tf").write_text('output "y" {\n  description = "A y."\n  value       = 1\n}\n')
    (module / "README.md").write_text(f"# demo\n\nHand-written.\n\n{BEGIN}\nold\n{END}\n\nFooter.\n")
    monkeypatch.setattr("tests.infra.module_docs.TERRAFORM_DIR", tmp_path / "terraform")
    text = expected_readme(module)
    assert text.startswith("# demo\n\nHand-written.\n\n")
    assert text.endswith("\n\nFooter.\n")
    assert "| `x` | An x. | `number` | required |" in text and "old" not in text
