"""The remote commands load the client alone: no service module, and rich only
for progress bars on a terminal; ``compress`` loads none of the client."""

from __future__ import annotations

import subprocess
import sys

SERVICE_MODULES = ("comprimemelo.settings", "comprimemelo.cli", "comprimemelo.web", "comprimemelo.db",
                   "comprimemelo.services", "comprimemelo.domain",
                   "flask", "sqlalchemy", "gevent", "google", "rich")


def loaded_after(argv: list[str], prefixes: tuple[str, ...], tmp_path) -> list[str]:
    """The modules of ``prefixes`` (packages and their modules) loaded by the command ``argv``."""
    script = (
        "import sys\n"
        "from comprimemelo.command import main\n"
        f"status = main({argv!r})\n"
        f"wanted = {prefixes!r}\n"
        "print(sorted(name for name in sys.modules if name in wanted or name.startswith(tuple(w + '.' for w in wanted))))\n"
    )
    env = {"XDG_CONFIG_HOME": str(tmp_path / "config"), "XDG_STATE_HOME": str(tmp_path / "state"),
           "PATH": "/usr/bin:/bin"}
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, check=True)
    return eval(result.stdout.splitlines()[-1])  # noqa: S307 - a list of names printed above


def test_a_remote_command_loads_no_service_module_and_no_rich_off_a_terminal(tmp_path):
    # Not logged in: the command ends with its message, having loaded what it needs.
    assert loaded_after(["tasks"], SERVICE_MODULES, tmp_path) == []


def test_compress_loads_none_of_the_client(tmp_path):
    source = tmp_path / "in.txt"
    source.write_text("text " * 100)
    assert loaded_after(["compress", str(source), "--format", "tar.gz"],
                        ("comprimemelo.client", "requests", "platformdirs"), tmp_path) == []
