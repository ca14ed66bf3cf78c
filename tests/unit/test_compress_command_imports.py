"""``comprimemelo compress`` loads the compression core and nothing of the service."""

from __future__ import annotations

import subprocess
import sys

import pytest

SERVICE_MODULES = ("comprimemelo.settings", "comprimemelo.cli", "flask", "sqlalchemy", "limits", "asyncio",
                   "google", "gevent", "dataclasses", "typing", "zstandard", "zipfile", "pybit7z")


@pytest.mark.parametrize("fmt", ["tar.gz", "tar.zst", "tar.bz2"])
def test_the_compress_command_imports_only_the_core(tmp_path, fmt):
    source = tmp_path / "in.txt"
    source.write_bytes(b"text " * 1000)
    # tarfile too: the core writes tar streams itself (compression/tar.py); lbzip2
    # is started without subprocess, shutil or tempfile (13 ms of start-up).
    unwanted = (*SERVICE_MODULES, "tarfile", "shutil", "subprocess", "tempfile", "bz2")
    # zstd's compiled backend, loaded without the package's __init__ (which imports typing and platform).
    needed = ["zstandard.backend_c"] if fmt == "tar.zst" else []
    script = (
        "import sys\n"
        "from comprimemelo.command import main\n"
        f"status = main(['compress', {str(source)!r}, '--format', {fmt!r}])\n"
        f"print(sorted(name for name in sys.modules if name.startswith({unwanted!r})))\n"
        "sys.exit(status)\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert result.stdout.splitlines()[-1] == repr(needed)
    assert (tmp_path / f"in.txt.{fmt}").stat().st_size > 0


# Costly standard modules the core no longer needs at start-up (concurrent.futures
# brings logging and traceback; zipfile brings pathlib; argparse's own help
# formatter brings shutil, and bz2 and lzma with it).
HEAVY_MODULES = ("concurrent", "logging", "traceback", "pathlib", "tarfile", "zipfile", "shutil", "bz2", "lzma")


def test_the_compress_command_parses_its_arguments_without_the_heavy_standard_modules():
    script = (
        "import sys\n"
        "from comprimemelo.compression import cli\n"
        "parser = cli.argparse.ArgumentParser(formatter_class=cli.HelpFormatter)\n"
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


def test_the_compress_help_still_wraps_to_the_terminal_width(monkeypatch, capsys):
    from comprimemelo.compression.cli import main as compress_main

    monkeypatch.setenv("COLUMNS", "50")
    with pytest.raises(SystemExit):
        compress_main(["compress", "--help"])
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) > 5 and max(map(len, lines)) <= 50
