"""Compiled modules of third-party packages, loaded without their package's ``__init__``.

``import zstandard`` chooses its backend with ``platform`` and imports
``typing`` on the way: 4-6 ms of a tar.zst ``comprimemelo compress`` that
takes 35 ms to start, for a module we load by name anyway. The module loaded
here is the one ``import zstandard`` would use: it is registered under its
full name, so a later import of the package finds and keeps it.
"""

from __future__ import annotations

import sys
from importlib.machinery import PathFinder


def load(package: str, module: str):
    """``package.module``, a compiled extension, without running ``package/__init__.py``.

    :raise ImportError: if the package or its module is not installed.
    """
    name = f"{package}.{module}"
    loaded = sys.modules.get(name)
    if loaded is not None:
        return loaded
    found = PathFinder.find_spec(package)
    spec = PathFinder.find_spec(module, found.submodule_search_locations) if found and \
        found.submodule_search_locations else None
    if spec is None:
        raise ImportError(f"{name} is not installed", name=name)
    loaded = spec.loader.create_module(spec)
    spec.loader.exec_module(loaded)
    sys.modules[name] = loaded
    return loaded


def zstandard():
    """python-zstandard's C backend (``zstandard.backend_c``): the same classes
    as ``zstandard``, which re-exports them."""
    return load("zstandard", "backend_c")
