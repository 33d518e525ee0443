"""The governance package names what it offers and loads it on first use, so the registry can use
policies and the audit trail without loading promotion (which uses the registry)."""
from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from mlops_nb.services import governance

INIT = Path(governance.__file__)


def _type_checking_names() -> set[str]:
    tree = ast.parse(INIT.read_text())
    block = next(n for n in tree.body if isinstance(n, ast.If) and "TYPE_CHECKING" in ast.dump(n.test))
    return {alias.asname or alias.name for node in block.body if isinstance(node, ast.ImportFrom)
            for alias in node.names}


def test_every_offered_name_resolves_and_type_checkers_see_the_same_names():
    assert _type_checking_names() == set(governance.__all__)
    for name in governance.__all__:
        assert getattr(governance, name) is not None


def test_an_unknown_name_is_an_attribute_error():
    with pytest.raises(AttributeError, match="has no attribute 'no_such_thing'"):
        governance.no_such_thing  # noqa: B018


def test_the_registry_loads_without_promotion():
    code = ("import sys; import mlops_nb.services.registry; "
            "print('mlops_nb.services.governance.promotion' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
