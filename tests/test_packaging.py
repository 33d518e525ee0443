"""The installed environment: pinned dependencies import, and `import mlops_nb` stays light."""
from __future__ import annotations

import ast
import json
import re
import subprocess
import sys
from pathlib import Path


def test_evidently_imports_with_the_pinned_pandas():
    import evidently
    import pandas

    assert int(pandas.__version__.split(".")[0]) < 3, "evidently 0.7 needs pandas<3 (see pyproject.toml)"
    assert evidently.__version__.startswith("0.7")


def test_import_mlops_nb_loads_no_heavy_library():
    code = ("import sys, json, mlops_nb; heavy = ['pandas', 'numpy', 'sklearn', 'sqlalchemy', 'sqlmodel', "
            "'evidently', 'plotly', 'streamlit', 'ipywidgets', 'alembic', 'skops']; "
            "print(json.dumps([m for m in heavy if m in sys.modules]))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout) == []


def test_public_api_names_resolve():
    import mlops_nb

    for name in mlops_nb.__all__:
        assert getattr(mlops_nb, name) is not None, name
    assert issubclass(mlops_nb.InvalidInput, mlops_nb.MlopsError)


ROOT = Path(__file__).resolve().parents[1]
# libraries the code uses through another one, never by import: pandas' parquet engine
ENGINES = {"pyarrow": ("mlops_nb/services/data/datasets.py", "parquet")}


def _declared(extra: str | None = None) -> set[str]:
    """Canonical names of the distributions pyproject.toml declares (with the `extra` list, if named)."""
    import tomllib
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    requirements = list(project["dependencies"])
    if extra:
        requirements += project["optional-dependencies"][extra]
    return {_canonical(re.match(r"[A-Za-z0-9._-]+", req).group()) for req in requirements}


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _third_party_imports(folder: str) -> dict[str, set[str]]:
    """{top-level module: files importing it} for every absolute import in `folder`, less the standard
    library and the project's own packages; function-level (lazy) imports count too."""
    found: dict[str, set[str]] = {}
    for path in (ROOT / folder).rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                if top not in sys.stdlib_module_names and top not in ("mlops_nb", "console", "tests", "_bench"):
                    found.setdefault(top, set()).add(str(path.relative_to(ROOT)))
    return found


def _undeclared(folder: str, declared: set[str]) -> dict[str, str]:
    from importlib.metadata import packages_distributions

    providers = packages_distributions()
    missing = {}
    for module, files in sorted(_third_party_imports(folder).items()):
        dists = {_canonical(d) for d in providers.get(module, [module])}
        if not dists & declared:
            missing[module] = f"from {sorted(dists)}, imported in {sorted(files)[0]}"
    return missing


def test_every_module_the_package_imports_is_a_declared_dependency():
    assert _undeclared("mlops_nb", _declared()) == {}


def test_every_module_the_tests_import_is_declared_for_dev():
    assert _undeclared("tests", _declared("dev")) == {}


def test_libraries_used_through_another_are_declared():
    declared = _declared()
    for dist, (path, word) in ENGINES.items():
        assert word in (ROOT / path).read_text(), f"{path} no longer uses {word}: drop {dist} from ENGINES"
        assert dist in declared, f"{dist} is needed by {path} ({word}) but not declared in pyproject.toml"


def test_make_lab_takes_a_port_and_a_host():
    shown = subprocess.run(["make", "-n", "lab", "PORT=8899", "HOST=127.0.0.2"], cwd=ROOT, capture_output=True,
                           text=True, check=True).stdout
    lab = next(line for line in shown.splitlines() if "jupyter lab" in line)
    assert "--port=8899" in lab and "--ip=127.0.0.2" in lab and "--port-retries=0" in lab
    default = subprocess.run(["make", "-n", "lab"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    assert "--ip=127.0.0.1" in default and "--port=8888" in default  # this machine only, Jupyter's usual port
