"""`mlops retrain` and `mlops retraining`: run as users run them, a subprocess with --db."""
from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from mlops_nb.services import identity
from mlops_nb.store.db import session_scope
from tests.cli.test_cli import _one_line_error, cli
from tests.factories import proven, register_credit_model

NOTEBOOK = Path(__file__).resolve().parents[2] / "mlops_nb" / "demo" / "credit_retraining.ipynb"


@pytest.fixture()
def store(db_url, credit, tmp_path):
    """credit-risk v1 in project credit, and the token of retrain-bot, the user the kernel acts as."""
    import mlops_nb as mlops

    mlops.init(project="credit", db_url=db_url, user="dana")
    register_credit_model(credit, name="credit-risk")
    with session_scope(mlops.get_context().engine) as session:
        proven(session, "retrain-bot", "data_scientist")
        token = identity.issue_token(session=session, actor=identity.OPERATOR, name="retrain-bot")
    return db_url, token


def test_retrain_runs_the_notebook_and_prints_run_version_and_request(store, tmp_path):
    db, token = store
    set_ = cli("--db", db, "retraining", "set", "credit-risk", "--project", "credit", "--notebook", str(NOTEBOOK),
               "--param", "C=0.5", "--param", "rows_per_month=50")
    assert set_.returncode == 0, set_.stderr
    assert "Retraining notebook of credit-risk" in set_.stdout and re.search(r"parameter C\s+0\.5", set_.stdout)
    shown = cli("--db", db, "retraining", "show", "credit-risk", "--project", "credit")
    assert shown.returncode == 0 and str(NOTEBOOK) in shown.stdout

    ran = cli("--db", db, "retrain", "credit-risk", "--project", "credit", "--window-start", "2024-05-01",
              "--window-end", "2024-05-31", env={"MLOPS_TOKEN": token})

    assert ran.returncode == 0, ran.stderr
    lines = ran.stdout.splitlines()
    assert re.fullmatch(r"retraining run 1 of credit-risk: succeeded in \d+\.\d s", lines[0])
    assert re.fullmatch(r"run [0-9a-f]{32}", lines[1])
    assert lines[2:] == ["version credit-risk v2", "promotion request 1 (pending)"]
    table = cli("--db", db, "retraining", "runs", "credit-risk", "--project", "credit")
    assert table.returncode == 0 and "Retraining runs of credit-risk (1)" in table.stdout
    assert "succeeded" in table.stdout and "1 pending" in table.stdout


def test_a_failed_retrain_prints_the_error_in_one_line_and_exits_1(store, tmp_path):
    db, token = store
    nb = new_notebook(cells=[new_code_cell("C = 1.0"), new_code_cell("raise RuntimeError('the window has no outcomes yet')")])
    nb.cells[0].metadata["tags"] = ["parameters"]
    nbformat.write(nb, str(tmp_path / "bad.ipynb"))
    assert cli("--db", db, "retraining", "set", "credit-risk", "--project", "credit",
               "--notebook", str(tmp_path / "bad.ipynb")).returncode == 0

    ran = cli("--db", db, "retrain", "credit-risk", "--project", "credit", env={"MLOPS_TOKEN": token})

    assert ran.returncode == 1 and ran.stdout.startswith("retraining run 1 of credit-risk: failed")
    assert ran.stderr.strip() == ("mlops: retraining run 1 failed: the executed notebook's cell 3 (`raise RuntimeError("
                                  "'the window has no outcomes yet')`) raised RuntimeError: the window has no outcomes "
                                  "yet (an alert was fired; the executed notebook is kept)")


def test_retrain_refuses_bad_arguments_in_one_line(store, tmp_path):
    db, _ = store
    assert _one_line_error(cli("--db", db, "retrain", "credit-risk", "--project", "credit")) == (
        "mlops: model 'credit-risk' has no retraining notebook; set one first with "
        "mlops.set_retraining('credit-risk', notebook=PATH) or `mlops retraining set credit-risk --notebook PATH`")
    assert _one_line_error(cli("--db", db, "retrain", "credit-risk", "--project", "credit",
                               "--window-start", "2024-05-01")) == "mlops: give both --window-start and --window-end, or neither"
    untagged = new_notebook(cells=[new_code_cell("C = 1.0")])
    nbformat.write(untagged, str(tmp_path / "untagged.ipynb"))
    error = _one_line_error(cli("--db", db, "retraining", "set", "credit-risk", "--project", "credit",
                                "--notebook", str(tmp_path / "untagged.ipynb")))
    assert error.startswith(f"mlops: notebook '{tmp_path / 'untagged.ipynb'}' has no code cell tagged 'parameters'")
    assert _one_line_error(cli("--db", db, "retraining", "set", "credit-risk", "--project", "credit", "--notebook",
                               str(NOTEBOOK), "--param", "C")) == "mlops: --param 'C' is not KEY=VALUE (e.g. --param C=0.5)"


def test_a_parameter_given_twice_is_refused_not_last_wins():
    from mlops_nb.cli.retrain import parse_params
    from mlops_nb.services.errors import InvalidInput

    assert parse_params(["C=0.5", "penalty=l2"]) == {"C": 0.5, "penalty": "l2"}
    with pytest.raises(InvalidInput, match="--param 'C' is given twice; give it once"):
        parse_params(["C=0.5", "C=0.1"])
