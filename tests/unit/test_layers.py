"""The layer rules of docs/design.md ("Layers"), checked on the source (STYLE S17).

An AST walk over ``src/critmat`` collects every import (module level and inside functions;
imports under ``if TYPE_CHECKING:`` do not count, they never run) and checks that

* a module imports only its own layer and the layers below it;
* the only upward imports are the documented accessor pattern: ``knowledge_base.py``
  importing a package's ``accessor`` module inside the accessor property (PyPSA's
  ``n.optimize``);
* no two packages import each other, directly or through others (no import cycles).
"""

from __future__ import annotations

import ast
import itertools
from collections.abc import Iterator
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src"
PACKAGE = SRC / "critmat"

#: Layer of each top-level part of the package, bottom (1) to top (10); docs/design.md.
LAYERS: dict[str, int] = {
    # 1 base modules
    "critmat._version": 1,
    "critmat.errors": 1,
    "critmat.dims": 1,
    "critmat.units": 1,
    "critmat.params": 1,
    "critmat.provenance": 1,
    "critmat.checks": 1,
    "critmat.vocab": 1,
    "critmat.columns": 1,
    "critmat.options": 1,
    "critmat.binding": 1,
    # 2 pure methods
    "critmat.methods": 2,
    # 3 the data layer
    "critmat": 3,
    "critmat.data": 3,
    "critmat.knowledge_base": 3,
    # 4 .. 8 domain packages and the composition of the main job
    "critmat.indicators": 4,
    "critmat.defence": 5,
    "critmat.scenarios": 6,
    "critmat.optimize": 7,
    "critmat.policy": 7,
    "critmat.assess": 8,
    # 9 drawing and writing
    "critmat.report": 9,
    "critmat.output": 9,
    # 10 faces
    "critmat.cli": 10,
    "critmat.api": 10,
    "critmat.web": 10,
    "critmat.__main__": 10,
}

NAMES = {1: "base", 2: "methods", 3: "data", 4: "indicators", 5: "defence", 6: "scenarios"}
NAMES |= {7: "optimize/policy", 8: "assess", 9: "report", 10: "faces"}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def part_of(module: str) -> str:
    """The top-level part a module belongs to (``critmat.data.store`` -> ``critmat.data``)."""
    parts = module.split(".")
    return ".".join(parts[:2]) if len(parts) > 1 else parts[0]


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def imports(path: Path) -> Iterator[tuple[str, int, bool]]:
    """``(imported module, line, inside a function)`` for every import that runs."""
    tree = ast.parse(path.read_text(encoding="utf-8"))

    def walk(node: ast.AST, in_function: bool) -> Iterator[tuple[str, int, bool]]:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _is_type_checking(child.test):
                for sub in child.orelse:
                    yield from walk(sub, in_function)
                continue
            if isinstance(child, ast.Import):
                for alias in child.names:
                    yield alias.name, child.lineno, in_function
            elif isinstance(child, ast.ImportFrom) and child.module:
                for alias in child.names:
                    full = f"{child.module}.{alias.name}"
                    # `from critmat import scenarios` imports a module; `from x import f` not
                    target = full if _is_module(full) else child.module
                    yield target, child.lineno, in_function
            fn = isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda)
            yield from walk(child, in_function or fn)

    yield from walk(tree, False)


def _is_module(name: str) -> bool:
    rel = Path(*name.split("."))
    return (SRC / rel).with_suffix(".py").is_file() or (SRC / rel / "__init__.py").is_file()


def layer_of(module: str) -> int:
    part = part_of(module)
    if part not in LAYERS:
        raise AssertionError(
            f"{module} belongs to no layer: add '{part}' to LAYERS in tests/unit/test_layers.py "
            "and to the layer table of docs/design.md"
        )
    return LAYERS[part]


def is_accessor_exception(module: str, target: str, in_function: bool) -> bool:
    return module == "critmat.knowledge_base" and target.endswith(".accessor") and in_function


def edges() -> list[tuple[str, str, int, bool, Path]]:
    out = []
    for path in sorted(PACKAGE.rglob("*.py")):
        module = module_name(path)
        for target, line, in_function in dict.fromkeys(imports(path)):
            if target == "critmat" or target.startswith("critmat."):
                out.append((module, target, line, in_function, path))
    return out


def test_every_module_has_a_layer() -> None:
    missing = sorted({part_of(module_name(p)) for p in PACKAGE.rglob("*.py")} - set(LAYERS))
    assert not missing, (
        f"modules without a layer (add them to LAYERS and docs/design.md): {missing}"
    )


def test_imports_go_down_the_layers() -> None:
    bad = []
    for module, target, line, in_function, path in edges():
        if is_accessor_exception(module, target, in_function):
            continue
        a, b = layer_of(module), layer_of(target)
        if b > a:
            bad.append(
                f"{path.relative_to(SRC.parent)}:{line}: {module} (layer {a}, {NAMES[a]}) imports "
                f"{target} (layer {b}, {NAMES[b]}); a module may import only its own layer and "
                "the layers below (docs/design.md, Layers)"
            )
    assert not bad, "\n".join(bad)


def test_methods_import_nothing_above_them() -> None:
    bad = [
        f"{p.relative_to(SRC.parent)}:{line}: {m} imports {t}"
        for m, t, line, _f, p in edges()
        if part_of(m) == "critmat.methods" and layer_of(t) > 1 and part_of(t) != "critmat.methods"
    ]
    assert not bad, "methods/ imports only base modules, numpy and pandas:\n" + "\n".join(bad)


def test_no_import_cycles_between_packages() -> None:
    graph: dict[str, set[str]] = {}
    where: dict[tuple[str, str], str] = {}
    for module, target, line, in_function, path in edges():
        if is_accessor_exception(module, target, in_function):
            continue
        a, b = part_of(module), part_of(target)
        if a != b and a != "critmat" and b != "critmat":
            graph.setdefault(a, set()).add(b)
            where.setdefault((a, b), f"{path.relative_to(SRC.parent)}:{line}")
    cycles = []
    state: dict[str, int] = {}

    def visit(node: str, trail: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                loop = [*trail[trail.index(nxt) :], nxt] if nxt in trail else [node, nxt]
                cycles.append(
                    " -> ".join(loop)
                    + " ("
                    + ", ".join(where[(x, y)] for x, y in itertools.pairwise(loop))
                    + ")"
                )
            elif state.get(nxt) is None:
                visit(nxt, [*trail, nxt])
        state[node] = 2

    for start in sorted(graph):
        if start not in state:
            visit(start, [start])
    assert not cycles, "import cycles between packages:\n" + "\n".join(cycles)


@pytest.mark.parametrize(
    ("module", "target", "in_function", "allowed"),
    [
        ("critmat.knowledge_base", "critmat.indicators.accessor", True, True),
        ("critmat.knowledge_base", "critmat.indicators.accessor", False, False),
        ("critmat.knowledge_base", "critmat.indicators.geopolrisk", True, False),
        ("critmat.data.store", "critmat.indicators.accessor", True, False),
    ],
)
def test_the_accessor_exception_is_narrow(
    module: str, target: str, in_function: bool, allowed: bool
) -> None:
    assert is_accessor_exception(module, target, in_function) is allowed
