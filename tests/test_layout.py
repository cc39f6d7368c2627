"""The package's layout is its architecture: every import (at the top of a module or inside a
function) goes down the floors below or stays on its floor, no import circle, no module over 500
lines. ``FLOORS`` is the architecture, top first (docs/DESIGN.md draws the same)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "flowzip"
FLOORS = [
    ["cli"],  # the command line
    ["__init__", "__main__", "api", "bench", "datasets", "training"],  # entry points
    ["policy"],  # how a file is made: choices by names, no I/O
    ["zoo", "families", "adapt"],  # the models: registry, family table, per-image adapters
    ["images"],  # images in and out (``Picture``)
    ["pipelines"],  # tiles laid out in files, on workers
    ["flows", "classical", "priors", "models", "architecture"],  # the tile codecs, the float models (torch), and the
    # level walk a float model and its exact twin share (it calls back into the steps each gives it)
    ["entropy"],  # the entropy coders and their tables
    ["fileformat"],  # the .fz container
    ["errors", "exact", "files", "jit", "aot", "version"],  # the base
]
FLOOR = {room: level for level, rooms in enumerate(FLOORS) for room in rooms}
MAX_LINES = 500


def _modules() -> dict[str, Path]:
    """Module name (``flowzip.x.y``) -> file."""
    out = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        out[name] = path
    return out


MODULES = _modules()


def _resolve(module: str, node: ast.ImportFrom | ast.Import, is_package: bool) -> list[str]:
    """The flowzip modules an import statement imports (``from . import x`` names the submodule x
    when there is one)."""
    if isinstance(node, ast.Import):
        return [a.name for a in node.names if a.name.split(".")[0] == "flowzip"]
    if node.level:
        base = module.split(".") if is_package else module.split(".")[:-1]
        base = base[: len(base) - (node.level - 1)]
        target = ".".join(base + ([node.module] if node.module else []))
    else:
        target = node.module or ""
    if target.split(".")[0] != "flowzip":
        return []
    found = [f"{target}.{a.name}" for a in node.names if f"{target}.{a.name}" in MODULES]
    return found or [target]


def _imports() -> dict[str, set[str]]:
    graph = {}
    for name, path in MODULES.items():
        tree = ast.parse(path.read_text(), str(path))
        targets = set()
        for node in ast.walk(tree):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                targets.update(t for t in _resolve(name, node, path.name == "__init__.py") if t in MODULES)
        graph[name] = targets - {name}
    return graph


GRAPH = _imports()


def _room(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def test_every_room_has_a_floor():
    assert sorted({_room(m) for m in MODULES} - set(FLOOR)) == []


def test_no_import_goes_up_a_floor():
    climbs = sorted(f"{a} -> {b}" for a, targets in GRAPH.items() for b in targets
                    if FLOOR[_room(b)] < FLOOR[_room(a)])
    assert climbs == []


def test_no_import_circle():
    """Depth-first search for a cycle among the modules (a package counts as its __init__)."""
    state: dict[str, int] = {}
    path: list[str] = []
    cycles = []

    def visit(m):
        state[m] = 1
        path.append(m)
        for t in sorted(GRAPH[m]):
            # importing a module imports its packages' __init__ first: not an edge of its own
            if state.get(t) == 1:
                cycles.append(path[path.index(t):] + [t])
            elif t not in state:
                visit(t)
        path.pop()
        state[m] = 2

    for m in sorted(GRAPH):
        if m not in state:
            visit(m)
    assert cycles == []


@pytest.mark.parametrize("module", sorted(MODULES))
def test_no_module_is_over_500_lines(module):
    assert len(MODULES[module].read_text().splitlines()) <= MAX_LINES


def test_an_install_holds_every_package_and_its_data():
    """pyproject.toml lists every package folder (a plain ``pip install .`` holds only those) and
    the data files beside the modules."""
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    setuptools = tomllib.loads((PACKAGE.parent / "pyproject.toml").read_text())["tool"]["setuptools"]
    folders = {".".join(p.parent.relative_to(PACKAGE.parent).parts) for p in PACKAGE.rglob("__init__.py")}
    assert folders <= set(setuptools["packages"])
    for data in PACKAGE.rglob("*.npz"):
        package = ".".join(data.parent.relative_to(PACKAGE.parent).parts)
        assert data.name in setuptools["package-data"].get(package, []), data
