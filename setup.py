"""Maps the two source folders onto one import tree.

``instrumentation/`` is the SDK (``import annotrace``) and ``collector/`` is the server
(``import annotrace.collector``); ARCHITECTURE.md fixes this layout. pyproject.toml cannot
rename found packages, so the package list is computed here.
"""

from setuptools import find_packages, setup

ROOTS = {"instrumentation": "annotrace", "collector": "annotrace.collector"}

packages = [
    ROOTS[p.split(".")[0]] + p[len(p.split(".")[0]) :]
    for p in find_packages(include=["instrumentation", "instrumentation.*", "collector", "collector.*"])
]
setup(packages=packages, package_dir={name: folder for folder, name in ROOTS.items()})
