"""The package's shape holds: imports point one way (interfaces -> services -> store), services render
nothing, and no two modules import each other at load time (SPEC §2, STYLE.md)."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "mlops_nb"
INTERFACES = ("mlops_nb.api", "mlops_nb.magics", "mlops_nb.display", "mlops_nb.cli", "mlops_nb.demo", "console")
RENDERING = ("html", "IPython", "ipywidgets", "plotly", "streamlit")


def _modules() -> dict[str, Path]:
    found = {}
    for path in PACKAGE.rglob("*.py"):
        if "migrations" in path.parts:
            continue
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = path
    return found


MODULES = _modules()


def _imports(path: Path, *, top_level_only: bool) -> set[str]:
    """Modules `path` imports: all of them, or only those run when it loads (not inside functions)."""
    tree = ast.parse(path.read_text())
    names: set[str] = set()

    def visit(node: ast.AST, in_function: bool) -> None:
        for child in ast.iter_child_nodes(node):
            nested = in_function or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
            if isinstance(child, ast.If) and "TYPE_CHECKING" in ast.dump(child.test):
                continue
            if isinstance(child, ast.Import) and not (top_level_only and in_function):
                names.update(alias.name for alias in child.names)
            elif isinstance(child, ast.ImportFrom) and child.module and child.level == 0 \
                    and not (top_level_only and in_function):
                for alias in child.names:  # `from pkg import submodule` depends on the submodule only
                    full = f"{child.module}.{alias.name}"
                    names.add(full if full in MODULES else child.module)
                    names.add(full)
            visit(child, nested)

    visit(tree, False)
    return names


def _of(names: set[str], prefixes: tuple[str, ...]) -> set[str]:
    return {n for n in names if any(n == p or n.startswith(p + ".") for p in prefixes)}


@pytest.mark.parametrize("module", sorted(m for m in MODULES if m.startswith("mlops_nb.services")))
def test_services_render_nothing_and_import_no_interface(module):
    imported = _imports(MODULES[module], top_level_only=False)
    assert not _of(imported, RENDERING), f"{module} imports {sorted(_of(imported, RENDERING))}"
    assert not _of(imported, INTERFACES), f"{module} imports {sorted(_of(imported, INTERFACES))}"


@pytest.mark.parametrize("module", sorted(m for m in MODULES if m.startswith("mlops_nb.store")))
def test_the_store_imports_no_service_and_no_interface(module):
    imported = _imports(MODULES[module], top_level_only=False)
    upward = _of(imported, ("mlops_nb.services",) + INTERFACES)
    assert not upward, f"{module} imports {sorted(upward)}"


def _graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for name, path in MODULES.items():
        targets = set()
        for imported in _imports(path, top_level_only=False):
            while imported and imported not in MODULES:
                imported = imported.rpartition(".")[0]
            # importing a.b.c also runs the __init__ of a and a.b: those are dependencies too, except a
            # package the importer sits in (its own __init__ re-exporting it is no dependency)
            while imported and imported != "mlops_nb":
                if imported != name and not name.startswith(imported + "."):
                    targets.add(imported)
                imported = imported.rpartition(".")[0]
        graph[name] = targets
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected groups of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []

    def connect(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in graph.get(node, ()):
            if target not in index:
                connect(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            group = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                group.append(top)
                if top == node:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            connect(node)
    return groups


def test_no_import_cycle():
    """No chain of modules imports back to where it started, at load time or inside a function."""
    assert _cycles(_graph()) == []


def test_the_layer_rules_see_a_violation(tmp_path):
    """The checker itself: a services module importing IPython is caught."""
    bad = tmp_path / "bad.py"
    bad.write_text("def f():\n    from IPython.display import display\n")
    assert _of(_imports(bad, top_level_only=False), RENDERING) == {"IPython.display", "IPython.display.display"}
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_stage_moves_are_private_to_the_services():
    """Moving a stage checks no permission (the promotion service checks the decision), so nothing
    outside mlops_nb/services may call it: not the interfaces, not the benchmarks; in tests only the
    factories (setup) and the services' own tests."""
    from mlops_nb.services import governance

    assert not hasattr(governance, "set_stage") and "set_stage" not in governance.__all__
    root = PACKAGE.parent
    outside = [p for p in (list(PACKAGE.rglob("*.py")) + list((root / "benchmarks").rglob("*.py"))
                           + list((root / "notebooks").rglob("*.ipynb")) + list((root / "tests").rglob("*.py")))
               if "set_stage" in p.read_text()]
    allowed = {PACKAGE / "services", root / "tests" / "services" / "governance", root / "tests" / "factories.py",
               Path(__file__)}
    callers = [str(p.relative_to(root)) for p in outside if not any(p == a or a in p.parents for a in allowed)]
    assert callers == []
