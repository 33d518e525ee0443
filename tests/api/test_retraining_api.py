"""mlops.set_retraining / retrain / retraining_runs from a notebook: the caller's token reaches the kernel,
results display compactly and escape user text."""
from __future__ import annotations

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

import mlops_nb as mlops
from mlops_nb.services import identity
from mlops_nb.store.db import session_scope
from tests.factories import proven, register_credit_model


@pytest.fixture()
def engineer(ctx, credit, monkeypatch, db_url, tmp_path):
    """credit-risk v1, then the API logged in as eli (ml_engineer) by the token in MLOPS_TOKEN."""
    register_credit_model(credit, name="credit-risk")
    with session_scope(ctx.engine) as session:
        proven(session, "eli", "ml_engineer")
        token = identity.issue_token(session=session, actor=identity.OPERATOR, name="eli")
    monkeypatch.setenv("MLOPS_TOKEN", token)
    return mlops.init(project="test", db_url=db_url, artifact_root=str(tmp_path / "artifacts"))


def test_retrain_from_the_api_acts_in_the_kernel_as_the_token_and_displays_the_run(engineer, tmp_path):
    assert (engineer.user, engineer.role) == ("eli", "ml_engineer")
    nb = new_notebook(cells=[new_code_cell("tag = '<b>x</b>'"), new_code_cell(
        "import mlops_nb as mlops\nctx = mlops.init(project=project)\n"
        "assert (ctx.user, ctx.proven) == ('eli', True), ctx\nprint(tag)")])
    nb.cells[0].metadata["tags"] = ["parameters"]
    nbformat.write(nb, str(tmp_path / "check.ipynb"))
    config = mlops.set_retraining("credit-risk", notebook=tmp_path / "check.ipynb", parameters={"tag": "<i>v</i>"})
    assert "Retraining notebook of credit-risk" in repr(config) and "&lt;i&gt;v&lt;/i&gt;" in config._repr_html_()

    run = mlops.retrain("credit-risk", window=("2024-05-01", "2024-05-31"))

    # the kernel proved itself as eli (the assert cell passed); it registered nothing, so the run failed
    assert run.status == "failed" and run.error.startswith("the notebook ran but registered no version")
    shown = repr(run)
    assert shown.startswith(f"Retraining run {run.id} of credit-risk · failed")
    assert "window" in shown and "2024-05-01 to 2024-05-31" in shown and "registered no version" in shown
    table = mlops.retraining_runs("credit-risk")
    assert len(table) == 1 and "Retraining runs of credit-risk (1)" in repr(table)
    frame = table.to_frame()
    assert list(frame[["id", "status", "started_by"]].itertuples(index=False, name=None)) == [(run.id, "failed", "eli")]
    assert str(frame["started_at"].dtype) == "datetime64[ns, UTC]"
    assert len(mlops.retraining_runs()) == 1


def test_a_data_scientist_cannot_set_or_start_retraining(ctx, credit):
    register_credit_model(credit, name="credit-risk")
    with pytest.raises(mlops.PermissionDenied, match="needs the role ml_engineer or admin"):
        mlops.retrain("credit-risk")
    with pytest.raises(mlops.NotFound, match="model 'nope' is not registered"):
        mlops.retraining_runs("nope")
