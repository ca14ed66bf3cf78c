"""Locating the external tools the infrastructure tests run.

A missing tool skips the test on a laptop and fails it in CI (``CI`` set),
like every other optional backend in this suite.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from tests.conftest import require_or_skip

REPO = Path(__file__).resolve().parents[2]
TERRAFORM_DIR = REPO / "terraform"
PACKER_DIR = REPO / "packer"
STARTUP_SCRIPTS_DIR = REPO / "startup-scripts"
CHECKOV_VENV_BINARY = Path("/tmp/checkov-venv/bin/checkov")

INSTALL_HINTS = {
    "terraform": "install terraform >= 1.5 (fmt, and init/validate/plan with the stand-in providers)",
    "packer": "apt-get install -y packer",
    "shellcheck": "apt-get install -y shellcheck",
    "checkov": "python3 -m venv /tmp/checkov-venv && /tmp/checkov-venv/bin/pip install checkov",
}


def find_tool(name: str) -> str:
    """Path of tool ``name``, or skip (fail in CI) naming how to install it.

    checkov is looked up in ``$COMPRIMEMELO_CHECKOV``, then ``PATH``, then
    the venv the docs suggest (/tmp/checkov-venv).
    """
    if name == "checkov":
        candidates = [os.environ.get("COMPRIMEMELO_CHECKOV"), shutil.which("checkov"), str(CHECKOV_VENV_BINARY)]
    else:
        candidates = [shutil.which(name)]
    for candidate in candidates:
        if candidate and os.access(candidate, os.X_OK) and Path(candidate).is_file():
            return candidate
    require_or_skip(f"{name} not found ({INSTALL_HINTS[name]})")
    raise AssertionError("unreachable")
