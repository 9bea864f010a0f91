"""The import direction between the project's packages (docs/architecture.md), kept true.

    dynamics <- policies <- {scenarios, api} <- twin <- {shopsphere_cli, dashboards}
    edge_sim (uses dynamics, policies) <- {api, twin};   {replay, assistant} -> api.client only

Every ``import`` in a package's source counts, wherever it is written: at module level, inside a
function (lazy), or under ``if TYPE_CHECKING:`` (a type-only import still couples the packages).
The check reads the source with ``ast``; nothing is imported.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

PACKAGES = (
    "dynamics",
    "policies",
    "scenarios",
    "api",
    "edge_sim",
    "twin",
    "replay",
    "assistant",
    "shopsphere_cli",
    "dashboards",
)

# What each package may import from the project (besides itself). A dotted entry allows only
# that module and its submodules.
ALLOWED: dict[str, frozenset[str]] = {
    "dynamics": frozenset(),
    "policies": frozenset({"dynamics"}),
    "scenarios": frozenset({"dynamics", "policies"}),
    "api": frozenset({"dynamics", "policies", "edge_sim"}),
    "edge_sim": frozenset({"dynamics", "policies"}),
    "twin": frozenset({"dynamics", "policies", "scenarios", "api", "edge_sim"}),
    "replay": frozenset({"api.client", "api.schemas"}),  # the client and its wire types
    "assistant": frozenset({"api.client", "api.schemas"}),  # likewise: a client of the API
    "shopsphere_cli": frozenset(PACKAGES),
    "dashboards": frozenset(PACKAGES) - {"shopsphere_cli"},
}

# Edges that break the direction today and are being removed by their owners (issue 8). Each
# entry is (importing module, imported module). Shrink this list as the fixes land; the test
# fails if an entry is no longer needed, so the list cannot go stale.
KNOWN_VIOLATIONS: frozenset[tuple[str, str]] = frozenset(set())


def _modules(package: str) -> Iterator[tuple[str, Path]]:
    base = ROOT / package
    if not base.is_dir():
        return
    for path in sorted(base.rglob("*.py")):
        rel = path.relative_to(ROOT).with_suffix("")
        parts = list(rel.parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        yield ".".join(parts), path


def _imports(module: str, path: Path) -> Iterator[str]:
    """Absolute names of every module ``path`` imports (relative imports resolved)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    is_pkg = path.name == "__init__.py"
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = module.split(".")
                if not is_pkg:
                    base = base[:-1]
                base = base[: len(base) - (node.level - 1)]
                prefix = ".".join(base)
                name = f"{prefix}.{node.module}" if node.module else prefix
            else:
                name = node.module or ""
            yield name
            for alias in node.names:  # ``from pkg import submodule``
                yield f"{name}.{alias.name}"


def _package_of(name: str) -> str | None:
    top = name.split(".")[0]
    return top if top in PACKAGES else None


def _allowed(package: str, target: str) -> bool:
    if _package_of(target) == package:
        return True
    return any(target == e or target.startswith(e + ".") for e in ALLOWED[package])


def _edges() -> set[tuple[str, str]]:
    found: set[tuple[str, str]] = set()
    for package in PACKAGES:
        for module, path in _modules(package):
            for target in _imports(module, path):
                target_pkg = _package_of(target)
                if target_pkg is None or _allowed(package, target):
                    continue
                # ``from api.client import x`` also yields ``api.client.x``; report the module
                found.add((module, target))
    return found


def _collapse(edges: set[tuple[str, str]]) -> set[tuple[str, str]]:
    """Drop ``a.b.c`` when ``a.b`` is reported for the same importer (``from a.b import c``)."""
    out = set()
    for src, dst in edges:
        parent = dst.rsplit(".", 1)[0]
        if "." in dst and (src, parent) in edges:
            continue
        out.add((src, dst))
    return out


def test_packages_import_only_in_the_documented_direction() -> None:
    violations = _collapse(_edges()) - KNOWN_VIOLATIONS
    lines = [f"{src} imports {dst}" for src, dst in sorted(violations)]
    assert not lines, "imports against the layering (docs/architecture.md):\n" + "\n".join(lines)


def test_the_allow_list_of_known_violations_holds_only_live_edges() -> None:
    stale = KNOWN_VIOLATIONS - _collapse(_edges())
    assert not stale, f"fixed, remove from KNOWN_VIOLATIONS: {sorted(stale)}"


@pytest.mark.parametrize("package", ["scenarios", "dynamics"])
def test_modules_of_a_leaf_package_import_each_other_without_cycles(package: str) -> None:
    graph: dict[str, set[str]] = {}
    for module, path in _modules(package):
        graph[module] = {t for t in _imports(module, path) if t.split(".")[0] == package}
    graph = {m: {t for t in deps if t in graph and t != m} for m, deps in graph.items()}
    # drop the package itself (``from scenarios import x`` names the package, then the module)
    graph.pop(package, None)
    for deps in graph.values():
        deps.discard(package)
    state: dict[str, int] = {}
    cycle: list[str] = []

    def visit(node: str, trail: list[str]) -> bool:
        state[node] = 1
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                cycle.extend([*trail, node, nxt])
                return True
            if state.get(nxt) is None and visit(nxt, [*trail, node]):
                return True
        state[node] = 2
        return False

    for node in sorted(graph):
        if state.get(node) is None and visit(node, []):
            break
    assert not cycle, " -> ".join(cycle)


def test_the_checker_sees_lazy_and_type_only_imports(tmp_path: Path) -> None:
    src = tmp_path / "mod.py"
    src.write_text(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from twin.engine import Twin\n"
        "def f():\n    import api.services\n    from . import sibling\n",
        encoding="utf-8",
    )
    names = set(_imports("scenarios.mod", src))
    assert {"twin.engine", "api.services", "scenarios.sibling"} <= names


# Public functions still annotated ``-> Any``, each being retyped by its owner (issue 8: "37
# functions return Any"). The test fails when one is fixed and still listed, so it only shrinks.
KNOWN_ANY_RETURNS: frozenset[str] = frozenset(
    {
        "api/models.py::process_bind_param",  # api_core (SQLAlchemy TypeDecorator hook)
        "api/services/catalog.py::upsert_insert",  # api_core
    }
)


def _public_any_returns() -> set[str]:
    found: set[str] = set()

    def walk(node: ast.AST, rel: str, private: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
                public = not private and not child.name.startswith("_")
                returns = ast.unparse(child.returns) if child.returns is not None else ""
                if public and returns in ("Any", "typing.Any"):
                    found.add(f"{rel}::{child.name}")
                walk(child, rel, True)  # nested functions are not public
            elif isinstance(child, ast.ClassDef):
                walk(child, rel, private or child.name.startswith("_"))
            else:
                walk(child, rel, private)

    for package in PACKAGES:
        for module, path in _modules(package):
            rel = path.relative_to(ROOT).as_posix()
            private = any(p.startswith("_") for p in module.split("."))
            walk(ast.parse(path.read_text(encoding="utf-8")), rel, private)
    return found


def test_no_public_function_returns_any() -> None:
    found = _public_any_returns()
    new = sorted(found - KNOWN_ANY_RETURNS)
    assert not new, "public functions annotated -> Any (return a concrete type):\n" + "\n".join(new)
    stale = sorted(KNOWN_ANY_RETURNS - found)
    assert not stale, f"fixed, remove from KNOWN_ANY_RETURNS: {stale}"
