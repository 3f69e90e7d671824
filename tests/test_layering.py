"""The package's layering: imports point down, never around in a circle.

Every ``import`` of a ``kaohe`` module counts, at the top of a file or inside a function (a
lazy import is still a dependency). Units are the top-level modules and subpackages:
``kaohe.engine.plan`` belongs to ``engine``.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "kaohe"

#: lower layers first; a unit may import only units listed before it (or itself)
LAYERS: list[set[str]] = [
    {"errors", "text"},
    {"i18n"},
    {"numbers", "settings"},
    {"localtime"},
    {"columns", "formatting"},
    {"scheme"},
    {"ingest"},
    {"engine"},
    {"presets", "reports", "demo"},
    {"store"},
    {"workflow", "metrics"},
    {"reminders"},
    {"web", "cli_metrics"},
    {"cli_store"},
    {"cli_remind"},
    {"cli"},
    {"__main__"},
]


def _unit(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "kaohe"


def _module(path: Path) -> str:
    mod = ".".join(path.relative_to(SRC.parent).with_suffix("").parts)
    return mod.removesuffix(".__init__")


def _imports(path: Path) -> list[tuple[str, int]]:
    out: list[tuple[str, int]] = []
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "kaohe":
                out += [(f"kaohe.{a.name}", node.lineno) for a in node.names]
            elif node.module.startswith("kaohe."):
                out.append((node.module, node.lineno))
        elif isinstance(node, ast.Import):
            out += [(a.name, node.lineno) for a in node.names if a.name.startswith("kaohe.")]
    return out


def _edges() -> dict[tuple[str, str], str]:
    """(importing unit, imported unit) → where it happens first."""
    edges: dict[tuple[str, str], str] = {}
    for path in sorted(SRC.rglob("*.py")):
        here = _unit(_module(path))
        for target, line in _imports(path):
            there = _unit(target)
            if there != here:
                edges.setdefault((here, there), f"{path.relative_to(SRC.parent)}:{line}")
    return edges


def test_every_unit_has_a_layer() -> None:
    units = {_unit(_module(p)) for p in SRC.rglob("*.py")} - {"kaohe"}
    placed = set().union(*LAYERS)
    assert units - placed == set(), "add the new module to LAYERS"


def test_imports_point_down() -> None:
    level = {u: i for i, layer in enumerate(LAYERS) for u in layer}
    upward = [f"{where}: {a} imports {b}" for (a, b), where in _edges().items()
              if level.get(b, 0) >= level.get(a, 0)]
    assert upward == []


def _acyclic() -> bool:
    graph: dict[str, set[str]] = {}
    for a, b in _edges():
        graph.setdefault(a, set()).add(b)
    state: dict[str, int] = {}

    def visit(n: str) -> bool:
        if state.get(n) == 1:
            return False
        if state.get(n) == 2:
            return True
        state[n] = 1
        ok = all(visit(m) for m in graph.get(n, ()))
        state[n] = 2
        return ok

    return all(visit(n) for n in list(graph))


def test_no_cycle_between_units() -> None:
    assert _acyclic()
@pytest.mark.parametrize("pattern", [r"""["'](?:in|ind|val|band|sec|adj|pay|pool|poolamt|"""
                                     r"""unalloc|flag|miss|aggc|award|aflag|why):"""])
def test_column_prefixes_spelled_once(pattern: str) -> None:
    """Column-name prefixes are defined in kaohe/columns.py only. (The CSV writer's
    headers, ``pay:base``, are an output format that happens to look alike.)"""
    found = []
    for path in sorted(SRC.rglob("*.py")):
        if path.name == "columns.py" or path.relative_to(SRC).as_posix() == "reports/output.py":
            continue
        for n, line in enumerate(path.read_text("utf-8").splitlines(), start=1):
            if re.search(pattern, line) or re.search(r'f["\'](?:in|ind|adj|pay|sec):\{', line):
                found.append(f"{path.relative_to(SRC.parent)}:{n}: {line.strip()}")
    assert found == []


def test_no_private_names_across_modules() -> None:
    """A module uses another module's public names only."""
    found = []
    for path in sorted(SRC.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith(
                    "kaohe"):
                private = [a.name for a in node.names if a.name.startswith("_")]
                if private:
                    found.append(f"{path.relative_to(SRC.parent)}:{node.lineno}: "
                                 f"{node.module} {', '.join(private)}")
    assert found == []
