"""``terraform init``, ``validate`` and ``plan`` with no registry: stand-in providers from a filesystem mirror.

The stand-ins (tests/infra/standin_provider.py) serve the schemas of
hashicorp/google 6.50.0 and hashicorp/random 3.7.2 (tests/infra/provider_schema.py)
and run under a virtual environment of their own, ``.cache/standin-venv``,
made here on first use from tests/infra/standin-requirements.txt. Terraform
finds them through a CLI configuration whose ``filesystem_mirror`` holds one
small launcher script per provider; nothing else is changed in Terraform.

``python -m tests.infra.terraform_offline plan [DIR]`` runs init, validate and
plan on a copy of the repository's terraform/ (or DIR inside it) and prints
the plan.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import venv
from dataclasses import dataclass
from pathlib import Path

from tests.infra.provider_schema import PACKAGES, provider_schema
from tests.infra.tools import REPO, STARTUP_SCRIPTS_DIR, TERRAFORM_DIR, find_tool

STANDIN = Path(__file__).resolve().parent / "standin_provider.py"
REQUIREMENTS = Path(__file__).resolve().parent / "standin-requirements.txt"
VENV_DIR = REPO / ".cache" / "standin-venv"
PIP_TIMEOUT_SECONDS = 300
TERRAFORM_TIMEOUT_SECONDS = 300
PLATFORM = "linux_amd64"


class TerraformFailed(RuntimeError):
    """A terraform command exited non-zero; the message holds its output."""


def standin_python() -> Path:
    """The stand-in venv's interpreter, created (and its requirements installed) if needed."""
    python = VENV_DIR / "bin" / "python"
    stamp = VENV_DIR / "requirements.txt"
    if python.is_file() and stamp.is_file() and stamp.read_text() == REQUIREMENTS.read_text():
        return python
    shutil.rmtree(VENV_DIR, ignore_errors=True)
    venv.EnvBuilder(with_pip=True).create(VENV_DIR)
    subprocess.run([str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check", "-r", str(REQUIREMENTS)],
                   check=True, timeout=PIP_TIMEOUT_SECONDS)
    shutil.copyfile(REQUIREMENTS, stamp)
    return python


@dataclass
class OfflineTerraform:
    """A scratch copy of terraform/ and the CLI configuration that points Terraform at the stand-ins."""

    workspace: Path  # holds terraform/ and startup-scripts/, as the repository does
    environment: dict[str, str]

    @classmethod
    def create(cls, scratch: Path) -> "OfflineTerraform":
        python = standin_python()
        mirror = scratch / "mirror"
        addresses = []
        for name, package in PACKAGES.items():
            schema = provider_schema(name)
            address = schema["source"]["provider"]
            version = schema["source"]["provider_version"]
            addresses.append(address)
            directory = mirror / address / version / PLATFORM
            directory.mkdir(parents=True)
            launcher = directory / f"terraform-provider-{name}_v{version}"
            launcher.write_text(
                "#!/bin/sh\n"
                f'exec "{python}" "{STANDIN}" --schema "{package.schema_path}" --address "{address}" "$@"\n')
            launcher.chmod(0o755)
        config = scratch / "terraform.rc"
        quoted = ", ".join(json.dumps(a) for a in addresses)
        config.write_text(
            "provider_installation {\n"
            f'  filesystem_mirror {{\n    path    = "{mirror}"\n    include = [{quoted}]\n  }}\n'
            f"  direct {{\n    exclude = [{quoted}]\n  }}\n"
            "}\n")
        workspace = scratch / "repo"
        shutil.copytree(TERRAFORM_DIR, workspace / "terraform",
                        ignore=shutil.ignore_patterns(".terraform", ".terraform.lock.hcl", "*.tfstate*"))
        shutil.copytree(STARTUP_SCRIPTS_DIR, workspace / STARTUP_SCRIPTS_DIR.name)
        environment = {
            **os.environ,
            "TF_CLI_CONFIG_FILE": str(config),
            "TF_IN_AUTOMATION": "1",
            "TF_INPUT": "0",
            "CHECKPOINT_DISABLE": "1",
            "HOME": str(scratch / "home"),  # the tf framework caches its TLS certificate under ~/.cache
        }
        environment.pop("TF_PLUGIN_CACHE_DIR", None)
        return cls(workspace, environment)

    def directory(self, relative: str = ".") -> Path:
        """A root module of the copy, by its path under terraform/."""
        return self.workspace / "terraform" / relative

    def run(self, directory: Path, *arguments: str) -> str:
        result = subprocess.run([find_tool("terraform"), f"-chdir={directory}", *arguments],
                                env=self.environment, capture_output=True, text=True,
                                timeout=TERRAFORM_TIMEOUT_SECONDS, check=False)
        if result.returncode != 0:
            raise TerraformFailed(f"terraform {' '.join(arguments)} in {directory}: exit {result.returncode}\n"
                                  f"{result.stdout}\n{result.stderr}")
        return result.stdout

    def plan_json(self, directory: Path, *variables: str) -> dict:
        """init, validate, plan (with ``-var-file``/``-var`` arguments) and the plan as ``terraform show -json``."""
        self.run(directory, "init", "-input=false", "-no-color")
        self.run(directory, "validate", "-no-color")
        self.run(directory, "plan", "-input=false", "-no-color", "-lock=false", "-out=plan.bin", *variables)
        return json.loads(self.run(directory, "show", "-json", "plan.bin"))


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.infra.terraform_offline", description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=["plan"])
    parser.add_argument("directory", nargs="?", default=".", help="root module under terraform/ (default: terraform/)")
    parser.add_argument("--var-file", default=None, help="variables file, relative to the module")
    parser.add_argument("--scratch", type=Path, default=Path("/tmp/comprimemelo-terraform-offline"))
    args = parser.parse_args()
    shutil.rmtree(args.scratch, ignore_errors=True)
    offline = OfflineTerraform.create(args.scratch)
    directory = offline.directory(args.directory)
    variables = [f"-var-file={args.var_file}"] if args.var_file else []
    offline.run(directory, "init", "-input=false", "-no-color")
    offline.run(directory, "validate", "-no-color")
    sys.stdout.write(offline.run(directory, "plan", "-input=false", "-no-color", "-lock=false", *variables))


if __name__ == "__main__":
    main()
