"""Imports between the API modules go one way: no module imports one that (even lazily) imports it.

Imports made only for annotations (under `if TYPE_CHECKING:`) do not run, so they do not count.
"""
from __future__ import annotations

import ast
from pathlib import Path

import mlops_nb.api

API = Path(mlops_nb.api.__file__).parent


def _runtime_nodes(node: ast.AST):
    """Every node under `node`, skipping `if TYPE_CHECKING:` blocks (imports for annotations only)."""
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.If) and isinstance(child.test, ast.Name) and child.test.id == "TYPE_CHECKING":
            continue
        yield child
        yield from _runtime_nodes(child)


def _api_imports(path: Path) -> set[str]:
    """The mlops_nb.api modules `path` imports when it runs, at the top or inside a function."""
    found = set()
    for node in _runtime_nodes(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom) and node.module:
            if node.module == "mlops_nb.api":
                found |= {alias.name for alias in node.names}
            elif node.module.startswith("mlops_nb.api."):
                found.add(node.module.split(".")[2])
        elif isinstance(node, ast.Import):
            found |= {a.name.split(".")[2] for a in node.names if a.name.startswith("mlops_nb.api.")}
    return found - {path.stem}


def test_api_modules_import_each_other_one_way():
    graph = {path.stem: _api_imports(path) for path in API.glob("*.py") if path.stem != "__init__"}
    cycles = []

    def visit(module: str, trail: list[str]) -> None:
        for target in sorted(graph.get(module, ())):
            if target in trail:
                cycles.append(" -> ".join(trail[trail.index(target):] + [target]))
            else:
                visit(target, trail + [target])

    for module in graph:
        visit(module, [module])
    assert cycles == []
    assert "tracking" not in graph["connect"] and "connect" not in graph["context"]
