"""The house's layout (issue 13): every module imports only from its own floor or the floors
below it, so the import graph has no circle and nothing imports upward; lazy imports inside
functions count too.

Floors, bottom up:

0. ``errors``
1. ``core`` (polynomials, fields, tables, linear algebra, budgets, progress), ``io.files``
2. ``io.parse``
3. ``models``
4. ``results``
5. ``algorithms``
6. ``verify`` (shares only model building and the reader with the solver)
7. ``io.report``, ``io.export``
8. ``apps``, and the public namespaces ``conslaw_flint`` and ``conslaw_flint.torch``
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "conslaw_flint"

FLOORS = [
    ("conslaw_flint.errors", 0),
    ("conslaw_flint.core", 1),
    ("conslaw_flint.io.files", 1),
    ("conslaw_flint.io.parse", 2),
    ("conslaw_flint.models", 3),
    ("conslaw_flint.results", 4),
    ("conslaw_flint.algorithms", 5),
    ("conslaw_flint.verify", 6),
    ("conslaw_flint.io.report", 7),
    ("conslaw_flint.io.export", 7),
    ("conslaw_flint.io", 7),
    ("conslaw_flint.apps", 8),
    ("conslaw_flint.torch", 8),
    ("conslaw_flint.__main__", 8),
    ("conslaw_flint", 9),
]


def floor(module: str) -> int:
    for prefix, level in FLOORS:
        if module == prefix or module.startswith(prefix + "."):
            return level
    raise AssertionError(f"no floor for {module}")


def module_name(path: Path) -> str:
    rel = path.relative_to(PACKAGE.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imported(path: Path) -> list[tuple[str, int]]:
    """(module, line) of every conslaw_flint module imported by the file, resolved."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                if node.level > 1:
                    base = base[: len(base) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.startswith("conslaw_flint"):
                if node.module is None or target == "conslaw_flint":
                    out += [(f"{target}.{a.name}", node.lineno) for a in node.names]
                else:
                    out.append((target, node.lineno))
        elif isinstance(node, ast.Import):
            out += [(a.name, node.lineno) for a in node.names
                    if a.name.startswith("conslaw_flint")]
    return out


FILES = sorted(PACKAGE.rglob("*.py"))


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_upward_import(path: Path) -> None:
    me = module_name(path)
    if me == "conslaw_flint":
        return  # the public namespace sits on top of everything
    mine = floor(me)
    for target, line in imported(path):
        assert floor(target) <= mine, (f"{me} (floor {mine}) imports {target} "
                                       f"(floor {floor(target)}) at line {line}")


def test_every_module_has_a_floor() -> None:
    for path in FILES:
        floor(module_name(path))


def test_no_import_circle() -> None:
    """No chain of imports (lazy ones included) leads from a module back to itself; a
    package's ``__init__`` counts as the modules it re-exports."""
    import networkx as nx

    modules = {module_name(p) for p in FILES}
    g = nx.DiGraph()
    for path in FILES:
        me = module_name(path)
        g.add_node(me)
        for target, _ in imported(path):
            while target not in modules and "." in target:
                target = target.rpartition(".")[0]
            if target != me:
                g.add_edge(me, target)
    cycles = list(nx.simple_cycles(g))
    assert not cycles, cycles[:3]
