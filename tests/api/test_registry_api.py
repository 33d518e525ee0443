"""The registry through `import mlops_nb as mlops`: register, list, look up and load for scoring."""
from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from sqlalchemy import select

import mlops_nb as mlops
from mlops_nb.services import registry
from mlops_nb.services.registry import EnvironmentMismatchWarning
from mlops_nb.store.db import session_scope
from mlops_nb.store.models import ModelVersion, Policy
from tests.factories import fit_credit_model

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture()
def registered(ctx, credit):
    """Two versions of 'credit' (C=0.1, C=9.0) from one run with a training dataset."""
    with mlops.start_run(experiment="credit", name="lr"):
        mlops.log_dataset(credit, name="german", role="train")
        mlops.log_metric("auc", 0.8)
        a, X = fit_credit_model(credit, C=0.1)
        b, _ = fit_credit_model(credit, C=9.0)
        va = mlops.register_model(a, name="credit", dataset="german", target="creditability")
        vb = mlops.register_model(b, name="credit", dataset="german", target="creditability")
    return va, vb, X


def _set(ctx, version: int, **values) -> None:
    """Change a stored version directly (stage changes belong to services.stages)."""
    with session_scope(ctx.engine) as session:
        row = session.execute(select(ModelVersion).where(ModelVersion.version == version)).scalars().one()
        for key, value in values.items():
            setattr(row, key, value)
        session.add(row)


def test_register_model_needs_an_active_run_or_run_id(ctx, credit):
    model, _ = fit_credit_model(credit)
    with pytest.raises(mlops.InvalidInput, match="needs an active run or run_id"):
        mlops.register_model(model, name="credit")
    assert len(mlops.models()) == 0


def test_register_model_with_run_id_after_the_run_ended(ctx, credit):
    with mlops.start_run(experiment="credit") as run:
        mlops.log_dataset(credit, name="german")
    v = mlops.register_model(fit_credit_model(credit)[0], name="credit", run_id=run.id, target="creditability")
    assert v.run_id == run.id and v.dataset.name == "german"


def test_register_model_shows_lineage(registered):
    va, vb, _ = registered
    assert (va.version, vb.version) == (1, 2)
    assert va.sha256 != vb.sha256
    text, html = repr(vb), vb._repr_mimebundle_()["text/html"]
    assert "Model credit v2" in text and "german v1" in text and vb.sha256 in text
    assert "<table" in html


def test_models_lists_models_and_versions(registered):
    table = mlops.models()
    assert [(r["name"], r["versions"], r["latest"]) for r in table] == [("credit", 2, 2)]
    frame = mlops.models("credit").to_frame()
    assert frame["version"].tolist() == [2, 1]
    assert frame["metrics.auc"].tolist() == [0.8, 0.8]
    with pytest.raises(mlops.NotFound, match="model 'nope' is not registered"):
        mlops.models("nope")


def test_model_table_html_is_escaped(ctx, credit):
    with mlops.start_run(experiment="credit"):
        mlops.log_dataset(credit, name="german")
        mlops.register_model(fit_credit_model(credit)[0], name="<b>x</b>", target="creditability")
    html = mlops.models()._repr_mimebundle_()["text/html"]
    assert "&lt;b&gt;x&lt;/b&gt;" in html and "<b>x</b>" not in html


def test_load_by_version_and_by_stage(ctx, registered):
    va, vb, X = registered
    assert mlops.load_model("credit", version=1).version == 1
    assert mlops.load_model("credit").version == 2  # neither given: the newest
    with pytest.raises(mlops.NotFound, match="model 'credit' has no version in production"):
        mlops.load_model("credit", stage="production")
    _set(ctx, 1, stage="production")
    live = mlops.load_model("credit", stage="production")
    assert (live.name, live.version, live.stage) == ("credit", 1, "production")
    assert mlops.get_model_version("credit", stage="production").version == 1
    with pytest.raises(mlops.NotFound, match="model 'credit' has no version 7; versions are 1-2"):
        mlops.load_model("credit", version=7)


def test_predict_proba_shape_and_missing_columns(registered):
    _, _, X = registered
    model = mlops.load_model("credit", version=2)
    assert model.predict_proba(X.head(10)).shape == (10, 2)
    assert model.predict(X[list(reversed(X.columns))].head(4)).shape == (4,)  # reordered columns are fine
    with pytest.raises(mlops.InvalidInput, match="lacks 2 column.*: duration_in_month, credit_amount"):
        model.predict(X.drop(columns=["credit_amount", "duration_in_month"]))
    assert "Scoring model credit v2" in repr(model)


def test_swapped_model_file_is_refused_before_deserialising(registered, monkeypatch):
    va, vb, _ = registered
    path = lambda v: Path(v.artifact_uri.removeprefix("file://"))  # noqa: E731
    path(vb).write_bytes(path(va).read_bytes())  # a valid model file, but not the one registered
    loaded = []
    monkeypatch.setattr(registry.model_files, "load", lambda data, trusted: loaded.append(data))
    with pytest.raises(mlops.IntegrityFailure, match="changed after it was recorded"):
        mlops.load_model("credit", version=2)
    assert loaded == []


def test_environment_mismatch_warns_by_default(ctx, registered):
    _, vb, _ = registered
    _set(ctx, 2, env={**vb.env, "packages": {**vb.env["packages"], "scikit-learn": "1.4.0"}})
    here = vb.env["packages"]["scikit-learn"]
    with pytest.warns(EnvironmentMismatchWarning, match=f"scikit-learn 1.4.0 at training, {here} here"):
        model = mlops.load_model("credit", version=2)
    assert model.env_mismatches == [f"scikit-learn 1.4.0 at training, {here} here"]


def test_environment_mismatch_is_refused_under_policy(ctx, registered):
    _, vb, _ = registered
    _set(ctx, 2, env={**vb.env, "python": "3.6.0"})
    with session_scope(ctx.engine) as session:
        session.add(Policy(project_id=ctx.project_id, model_id=vb.model_id, rules={"env_mismatch": "refuse"},
                           updated_by="eve", updated_at=time.time()))
    with pytest.raises(mlops.Conflict, match="Python 3.6.0 at training.*policy refuses"):
        mlops.load_model("credit", version=2)
    assert mlops.load_model("credit", version=1).version == 1  # the same environment loads


def test_non_sklearn_object_is_refused(ctx):
    with mlops.start_run(experiment="credit"):
        with pytest.raises(mlops.InvalidInput, match="got builtins.dict"):
            mlops.register_model({"weights": [1, 2]}, name="credit")
    assert len(mlops.models()) == 0


def test_importing_the_registry_api_stays_light():
    code = ("import sys, mlops_nb; mlops_nb.register_model, mlops_nb.load_model, mlops_nb.models; "
            "print(sorted(m for m in ('sklearn', 'skops', 'pandas') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert out.stdout.strip() == "[]", out.stderr


WRITER = textwrap.dedent("""
    import sys
    import numpy as np
    from sklearn.linear_model import LogisticRegression
    import mlops_nb as mlops

    url, root, who = sys.argv[1:4]
    X = np.random.default_rng(int(who)).random((50, 3)); y = (X[:, 0] > 0.5).astype(int)
    mlops.init(project="race", db_url=url, user=f"writer{who}", artifact_root=root)
    with mlops.start_run(experiment="race"):
        model = LogisticRegression().fit(X, y)
        print(" ".join(str(mlops.register_model(model, name="racer").version) for _ in range(8)))
""")


def test_concurrent_registration_from_two_processes_gets_distinct_versions(sqlite_url, tmp_path):
    root = str(tmp_path / "artifacts")
    mlops.init(project="race", db_url=sqlite_url, user="dana", artifact_root=root)  # the store exists first
    procs = [subprocess.Popen([sys.executable, "-c", WRITER, sqlite_url, root, str(i)], cwd=ROOT,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for i in range(2)]
    outs = [p.communicate(timeout=240) for p in procs]
    assert all(p.returncode == 0 for p in procs), [err for _, err in outs]
    numbers = [int(n) for out, _ in outs for n in out.split()]
    assert sorted(numbers) == list(range(1, 17))
    for n in (1, 16):
        assert mlops.load_model("racer", version=n).version == n
