"""mlops_nb/__init__.py: the names type checkers see are the names the package loads on first use."""
from __future__ import annotations

import ast
from pathlib import Path

import mlops_nb


def _typed_names() -> set[tuple[str, str]]:
    """(module, name) of each import in the package's `if TYPE_CHECKING:` block, from mlops_nb.api."""
    tree = ast.parse(Path(mlops_nb.__file__).read_text())
    block = next(node for node in tree.body if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.dump(node.test))
    return {(node.module, alias.name) for node in block.body if isinstance(node, ast.ImportFrom)
            and node.module and node.module.startswith("mlops_nb.api") for alias in node.names}


def test_the_type_checking_imports_name_exactly_the_lazy_api():
    loaded = {(module, name) for module, names in mlops_nb._API.items() for name in names}
    assert _typed_names() == loaded


def test_each_name_resolves_to_the_function_its_module_defines():
    import importlib

    for module, name in _typed_names():
        assert getattr(mlops_nb, name) is getattr(importlib.import_module(module), name), name
