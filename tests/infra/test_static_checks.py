"""Formatters, linters and validators over terraform/, packer/ and the scripts.

Tools that are missing skip the test on a laptop and fail it in CI; see
tests/infra/tools.py and docs/deploy.md for the install lines.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.infra.tools import PACKER_DIR, REPO, STARTUP_SCRIPTS_DIR, TERRAFORM_DIR, find_tool

TOOL_TIMEOUT_SECONDS = 240
PLUGINS_FILE = "plugins.pkr.hcl"


def run(command: list[str], cwd: Path = REPO, **kwargs) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command, cwd=cwd, capture_output=True, text=True, timeout=TOOL_TIMEOUT_SECONDS, check=False, **kwargs
    )


def explain(result: subprocess.CompletedProcess[str]) -> str:
    return f"exit {result.returncode}\nstdout:\n{result.stdout}\nstderr:\n{result.stderr}"


def shell_scripts() -> list[Path]:
    container = REPO / "container"  # not its .cache
    return sorted([*STARTUP_SCRIPTS_DIR.glob("*.sh"), *PACKER_DIR.rglob("*.sh"), *container.glob("*.sh"),
                   *(container / "standins").glob("*.sh")])


def test_terraform_is_formatted():
    result = run([find_tool("terraform"), "fmt", "-check", "-recursive", "-diff", str(TERRAFORM_DIR)])
    assert result.returncode == 0, explain(result)


def test_packer_templates_are_formatted():
    result = run([find_tool("packer"), "fmt", "-check", str(PACKER_DIR)])
    assert result.returncode == 0, explain(result)


@pytest.fixture
def packer_tree_without_plugins(tmp_path: Path) -> Path:
    """packer/ minus plugins.pkr.hcl, whose required_plugins block packer < 1.7
    (Debian's 1.6.6, with googlecompute built in) rejects; plus a stand-in wheel."""
    tree = tmp_path / "packer"
    shutil.copytree(PACKER_DIR, tree, ignore=shutil.ignore_patterns(PLUGINS_FILE))
    (tmp_path / "comprimemelo-0.0.0-py3-none-any.whl").write_bytes(b"stand-in")
    return tree


def test_packer_template_syntax(packer_tree_without_plugins):
    result = run([find_tool("packer"), "validate", "-syntax-only", str(packer_tree_without_plugins)])
    assert result.returncode == 0, explain(result)


def test_packer_template_validates(packer_tree_without_plugins):
    """Full validation: variables, builder settings, provisioner files present.

    It needs no credentials; it does not contact Google Cloud.
    """
    wheel = packer_tree_without_plugins.parent / "comprimemelo-0.0.0-py3-none-any.whl"
    result = run(
        [
            find_tool("packer"),
            "validate",
            "-var",
            "project_id=validate-only",
            "-var",
            f"wheel_path={wheel}",
            str(packer_tree_without_plugins),
        ]
    )
    assert result.returncode == 0, explain(result)


def test_packer_plugins_file_declares_googlecompute():
    text = (PACKER_DIR / PLUGINS_FILE).read_text()
    assert "required_plugins" in text and "github.com/hashicorp/googlecompute" in text
    others = [p for p in PACKER_DIR.glob("*.pkr.hcl") if p.name != PLUGINS_FILE]
    assert others and not any("required_plugins" in p.read_text() for p in others)


def test_shell_scripts_are_shellcheck_clean():
    scripts = shell_scripts()
    assert scripts, "no shell scripts found"
    result = run([find_tool("shellcheck"), "--external-sources", *map(str, scripts)])
    assert result.returncode == 0, explain(result)


def test_shell_scripts_are_strict():
    for script in shell_scripts():
        assert "set -euo pipefail" in script.read_text(), f"{script} lacks set -euo pipefail"


def test_checkov_finds_no_failed_checks():
    """Every skip is an inline ``#checkov:skip=CKV_...:reason`` next to its resource."""
    result = run(
        [find_tool("checkov"), "-d", str(TERRAFORM_DIR), "--framework", "terraform", "--compact", "--quiet"],
        # Offline: do not try to download Prisma Cloud guideline mappings.
        env={**os.environ, "BC_SKIP_MAPPING": "TRUE"},
    )
    assert result.returncode == 0, explain(result)
    assert "Failed checks: 0" in result.stdout, explain(result)


def test_checkov_skips_carry_reasons():
    for path in TERRAFORM_DIR.rglob("*.tf"):
        for line in path.read_text().splitlines():
            if "checkov:skip=" in line:
                check, _, reason = line.split("checkov:skip=", 1)[1].partition(":")
                assert check.startswith("CKV"), f"{path}: {line}"
                assert len(reason.strip()) > 20, f"{path}: skip without a real reason: {line}"

