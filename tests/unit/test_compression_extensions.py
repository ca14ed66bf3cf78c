"""Compiled modules loaded without their package's ``__init__`` are the modules the package uses."""

from __future__ import annotations

import subprocess
import sys

import pytest

from comprimemelo.compression import extensions


def run(script: str) -> str:
    return subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout.strip()


def test_zstandards_backend_loads_without_the_package_and_the_package_then_reuses_it():
    result = run(
        "import sys\n"
        "from comprimemelo.compression import extensions\n"
        "backend = extensions.zstandard()\n"
        "before = 'zstandard' in sys.modules\n"
        "import zstandard\n"
        "print(before, zstandard.ZstdCompressor is backend.ZstdCompressor, zstandard.backend)\n"
    )
    assert result == "False True cext"


def test_after_the_package_the_loader_returns_the_packages_module():
    result = run(
        "import zstandard\n"
        "from comprimemelo.compression import extensions\n"
        "print(extensions.zstandard().ZstdCompressor is zstandard.ZstdCompressor)\n"
    )
    assert result == "True"


def test_the_loaded_backend_compresses_what_the_package_decompresses():
    import zstandard

    data = b"the same library either way " * 1000
    assert zstandard.ZstdDecompressor().decompress(extensions.zstandard().ZstdCompressor().compress(data)) == data


@pytest.mark.parametrize("package, module", [("zstandard", "no_such_backend"), ("no_such_package", "backend_c")])
def test_a_missing_package_or_module_is_an_import_error(package, module):
    with pytest.raises(ImportError, match=f"{package}.{module} is not installed"):
        extensions.load(package, module)
