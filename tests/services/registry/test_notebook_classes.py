"""Classes defined in a notebook (`__main__`) and classes this process cannot import (issue 8, item 15).

A pipeline with a transformer defined in the notebook registered silently and then failed to load in
any other process with a raw AttributeError. The notebook here is a real second Python process whose
`__main__` defines the class; this test process is the "other process" that loads.
"""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import mlops_nb as mlops
from mlops_nb.services import registry
from mlops_nb.store.db import session_scope
from mlops_nb.store.models import ModelVersion
from tests import factories

ROOT = Path(__file__).resolve().parents[3]
NOTEBOOK = textwrap.dedent('''
    import sys

    import numpy as np
    import skops.io as sio
    from sklearn.base import BaseEstimator, TransformerMixin
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    import mlops_nb as mlops


    class Doubler(TransformerMixin, BaseEstimator):
        def fit(self, X, y=None):
            self.fitted_ = True
            return self

        def transform(self, X):
            return X * 2


    db_url, artifacts, notebook_file, module_dir, module_file = sys.argv[1:6]
    X, y = np.arange(20.0).reshape(10, 2), [0, 1] * 5
    pipe = make_pipeline(Doubler(), LogisticRegression()).fit(X, y)
    mlops.init(project="test", db_url=db_url, user="dana", artifact_root=artifacts)
    with mlops.start_run(experiment="notebook"):
        try:
            mlops.register_model(pipe, name="doubler")
            print("REGISTERED")
        except mlops.InvalidInput as err:
            print("REFUSED:", err)
    open(notebook_file, "wb").write(sio.dumps(pipe))
    sys.path.insert(0, module_dir)
    import ghost_features
    open(module_file, "wb").write(sio.dumps(make_pipeline(ghost_features.Halver(), LogisticRegression()).fit(X, y)))
''')
GHOST = textwrap.dedent('''
    from sklearn.base import BaseEstimator, TransformerMixin


    class Halver(TransformerMixin, BaseEstimator):
        def fit(self, X, y=None):
            self.fitted_ = True
            return self

        def transform(self, X):
            return X / 2
''')


@pytest.fixture()
def notebook(ctx, db_url, tmp_path) -> dict[str, object]:
    """Run the notebook process once: its output, and the skops files it wrote (a `__main__` class;
    a class of a module only it can import)."""
    script, module_dir = tmp_path / "notebook.py", tmp_path / "only-the-notebook"
    module_dir.mkdir()
    script.write_text(NOTEBOOK)
    (module_dir / "ghost_features.py").write_text(GHOST)
    files = tmp_path / "main.skops", tmp_path / "ghost.skops"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, str(script), db_url, str(tmp_path / "artifacts"), str(files[0]),
                           str(module_dir), str(files[1])], capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return {"stdout": done.stdout, "main": files[0].read_bytes(), "ghost": files[1].read_bytes()}


def _registered(ctx, credit):
    with mlops.start_run(experiment="credit"):
        mlops.log_dataset(credit, name="german", role="train")
        return mlops.register_model(factories.fit_credit_model(credit)[0], name="credit", target="creditability")


def test_a_notebook_class_is_refused_at_registration_naming_it_and_what_to_do(ctx, notebook):
    assert "REGISTERED" not in notebook["stdout"]
    assert ("REFUSED: the Pipeline cannot be registered: __main__.Doubler is defined in the notebook (__main__) "
            "or inside a function, so no other process can import it") in notebook["stdout"]
    assert "move the class or function to a module the loading process can import" in notebook["stdout"]
    with session_scope(ctx.engine) as session:
        assert session.get(ModelVersion, 1) is None


def test_an_old_version_holding_a_notebook_class_is_a_named_error_in_another_process(ctx, credit, notebook):
    v = _registered(ctx, credit)
    factories.swap_model_file(ctx.engine, v, notebook["main"], env_types=["__main__.Doubler"])  # as registered before
    with pytest.raises(mlops.InvalidInput, match=r"model 'credit' v1 cannot be loaded here: __main__\.Doubler is "
                                                 r"defined in the notebook"):
        mlops.load_model("credit", version=1)


def test_a_trusted_class_this_process_cannot_import_is_named_with_its_module(ctx, credit, notebook):
    v = _registered(ctx, credit)
    factories.swap_model_file(ctx.engine, v, notebook["ghost"])
    with session_scope(ctx.engine) as session:
        engineer = factories.add_users(session)["ml_engineer"]
        registry.trust_types(session=session, actor=engineer, project_id=ctx.project_id, model="credit",
                             types=["ghost_features.Halver"], reason="our feature module")
    with pytest.raises(mlops.NotFound, match=r"model 'credit' v1 needs a class or function that cannot be imported "
                                             r"here: Halver of module 'ghost_features': the module cannot be imported"):
        mlops.load_model("credit", version=1)
