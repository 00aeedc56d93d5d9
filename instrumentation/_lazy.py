"""Lazy public names for a package: ``import annotrace`` must not load pandas, httpx or the OTel SDK.

A package lists ``{public name: defining module}`` and its lazily imported submodules; the first
access imports the module and caches the value in the package's globals.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Collection, Mapping
from typing import Any


def attach(
    package: str, names: Mapping[str, str], submodules: Collection[str]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """The ``__getattr__`` and ``__dir__`` for ``package``."""
    namespace = vars(sys.modules[package])

    def __getattr__(name: str) -> Any:
        if name in names:
            value = getattr(importlib.import_module(names[name]), name)
        elif name in submodules:
            value = importlib.import_module(f"{package}.{name}")
        else:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        namespace[name] = value
        return value

    def __dir__() -> list[str]:
        return sorted(set(namespace) | set(namespace.get("__all__", ())) | set(submodules))

    return __getattr__, __dir__
