"""The installed environment: pinned dependencies import, and `import mlops_nb` stays light."""
from __future__ import annotations

import json
import subprocess
import sys


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
