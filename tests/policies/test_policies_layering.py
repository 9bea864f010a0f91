"""Layering: dynamics imports only NumPy and the standard library; policies imports neither the
twin, the scenarios, the API nor the CLI (the twin may import policies, not the reverse)."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _imports(package: str) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for path in sorted((ROOT / package).rglob("*.py")):
        tree = ast.parse(path.read_text(), filename=str(path))
        names: set[str] = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module.split(".")[0])
        found[str(path.relative_to(ROOT))] = names
    return found


def test_dynamics_imports_numpy_and_the_standard_library_only() -> None:
    allowed = set(sys.stdlib_module_names) | {"numpy", "__future__", "dynamics"}
    bad = {f: sorted(n - allowed) for f, n in _imports("dynamics").items() if n - allowed}
    assert bad == {}


def test_policies_import_neither_twin_scenarios_api_nor_cli() -> None:
    upper = {"twin", "scenarios", "api", "shopsphere_cli", "dashboards", "edge_sim", "replay"}
    bad = {f: sorted(n & upper) for f, n in _imports("policies").items() if n & upper}
    assert bad == {}
