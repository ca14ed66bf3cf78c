"""``comprimemelo compress`` loads the compression core and nothing of the service."""

from __future__ import annotations

import subprocess
import sys

SERVICE_MODULES = ("comprimemelo.settings", "comprimemelo.cli", "flask", "sqlalchemy", "limits", "asyncio",
                   "google", "gevent", "dataclasses", "typing", "zstandard", "zipfile", "pybit7z")


def test_the_compress_command_imports_only_the_core(tmp_path):
    source = tmp_path / "in.txt"
    source.write_bytes(b"text " * 1000)
    script = (
        "import sys\n"
        "from comprimemelo.command import main\n"
        f"status = main(['compress', {str(source)!r}, '--format', 'tar.gz'])\n"
        f"print(sorted(name for name in sys.modules if name.startswith({SERVICE_MODULES!r})))\n"
        "sys.exit(status)\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert result.stdout.splitlines()[-1] == "[]"
    assert (tmp_path / "in.txt.tar.gz").stat().st_size > 0


# Costly standard modules the core no longer needs at start-up (concurrent.futures
# brings logging and traceback; zipfile brings pathlib). argparse's help formatter
# imports shutil (and bz2, lzma with it) whatever we do.
HEAVY_MODULES = ("concurrent", "logging", "traceback", "pathlib", "tarfile", "zipfile")


def test_the_compress_command_parses_its_arguments_without_the_heavy_standard_modules():
    script = (
        "import sys\n"
        "from comprimemelo.compression import cli\n"
        "parser = cli.argparse.ArgumentParser()\n"
        "cli.add_compress_parser(parser.add_subparsers())\n"
        "parser.parse_args(['compress', 'in', '--format', 'zip'])\n"
        f"print(sorted(name for name in sys.modules if name.split('.')[0] in {HEAVY_MODULES!r}))\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert result.stdout.splitlines()[-1] == "[]"


def test_other_commands_still_reach_the_full_command_line(capsys):
    from comprimemelo.command import main

    try:
        main(["--version"])
    except SystemExit as exit:
        assert exit.code == 0
    assert "comprimemelo" in capsys.readouterr().out
