"""The shipped notebooks run top to bottom in a real kernel and leave what they promise in the store."""
from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

import mlops_nb as mlops

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
README = Path(__file__).resolve().parents[1] / "README.md"


@pytest.mark.parametrize("name", ["quickstart.ipynb", "registry.ipynb", "consistency.ipynb", "monitoring.ipynb"])
def test_notebook_is_committed_without_outputs(name):
    import nbformat

    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    code = [cell for cell in nb.cells if cell.cell_type == "code"]
    assert code and all(not cell.outputs and cell.execution_count is None for cell in code)


def test_quickstart_runs_and_tracks_two_runs(tmp_path, kernel_of_this_python):
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(NOTEBOOKS / "quickstart.ipynb", as_version=4)
    NotebookClient(nb, timeout=300, kernel_name=kernel_of_this_python,
                   resources={"metadata": {"path": str(tmp_path)}}).execute()

    mlops.init(project="credit", user="dana")  # the same default store, from MLOPS_HOME
    table = mlops.runs("baseline")
    assert sorted(row["name"] for row in table) == ["logreg-C0.1", "logreg-C1"]
    for row in table:
        run = mlops.get_run(row["run_id"])
        assert run.status == "finished"
        assert 0.6 < run.metrics["roc_auc"] <= 1.0
        assert [p.step for p in mlops.get_metric_history(run.id, "cv_roc_auc")] == [0, 1, 2, 3, 4]
        assert [(d["name"], d["role"]) for d in run.datasets] == [("german-credit", "train")]
        assert "make_model" in run.context["cell_source"]
    shown = [output for cell in nb.cells if cell.cell_type == "code" for output in cell.outputs]
    assert not [output for output in shown if output.output_type == "error"]
    card = nb.cells[-1].outputs[0]["data"]  # %mlops scorecard: the project's card, its first criterion earned
    assert "mlops-scorecard" in card["text/html"]
    assert card["text/plain"].startswith("Scorecard credit (whole project): phase 0 Not yet foundational, ")
    assert "    pass     Runs tracked with params and metrics" in card["text/plain"]


def test_registry_runs_promotes_to_production_and_rolls_back(tmp_path, kernel_of_this_python):
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(NOTEBOOKS / "registry.ipynb", as_version=4)
    started = time.monotonic()
    NotebookClient(nb, timeout=300, kernel_name=kernel_of_this_python,
                   resources={"metadata": {"path": str(tmp_path)}}).execute()
    assert time.monotonic() - started < 90

    mlops.init(project="credit", user="dana")  # the same default store, from MLOPS_HOME
    versions = {row["version"]: row["stage"] for row in mlops.models("credit-risk")}
    assert versions == {1: "production", 2: "archived"}
    live = mlops.load_model("credit-risk", stage="production")
    assert live.version == 1 and live.info.dataset.name == "german-credit"
    requests = mlops.requests("credit-risk")
    assert [(r.version, r.target_stage, r.status) for r in reversed(requests.requests)] == [
        (1, "staging", "approved"), (1, "production", "approved"),
        (2, "staging", "approved"), (2, "production", "approved")]
    production = [r for r in requests if r.target_stage == "production"]
    assert all(sorted(a["role"] for a in r.approvals) == ["ml_engineer", "reviewer"] for r in production)
    assert all(r.requester == "dana" and all(a["user"] != "dana" for a in r.approvals) for r in requests)

    mlops_cli = Path(sys.executable).with_name("mlops")
    verified = subprocess.run([str(mlops_cli), "audit", "verify"], capture_output=True, text=True, env=os.environ)
    assert verified.returncode == 0, verified.stderr
    assert "audit chain intact" in verified.stdout

    shown = [output for cell in nb.cells if cell.cell_type == "code" for output in cell.outputs]
    assert not [output for output in shown if output.output_type == "error"]
    text = "".join(str(output.get("data", {}).get("text/plain", "")) + str(output.get("text", "")) for output in shown)
    assert "Promotion request" in text and "approved" in text and "scoring with credit-risk v2" in text


def test_consistency_names_the_reencoded_column_and_the_edited_feature(tmp_path, kernel_of_this_python):
    """The issue's story end to end: trained on one period, a later batch with `housing` as integer
    codes is named (column, rule, mapping) and refused under the policy, the edited feature is named
    by the skew check and by a serving process that defines it, and outcomes are stored."""
    import nbformat
    from nbclient import NotebookClient
    from sqlmodel import select

    from mlops_nb.store.db import session_scope
    from mlops_nb.store.models.data import ValidationRecord

    nb = nbformat.read(NOTEBOOKS / "consistency.ipynb", as_version=4)
    started = time.monotonic()
    NotebookClient(nb, timeout=300, kernel_name=kernel_of_this_python,
                   resources={"metadata": {"path": str(tmp_path)}}).execute()
    assert time.monotonic() - started < 60

    shown = [output for cell in nb.cells if cell.cell_type == "code" for output in cell.outputs]
    assert not [output for output in shown if output.output_type == "error"]
    text = "".join(str(output.get("data", {}).get("text/plain", "")) + str(output.get("text", "")) for output in shown)
    assert "ValidationFailed: model 'credit-scorer' v1 refused the batch" in text and "Traceback" not in text
    assert "errors: [('housing', 'dtype_changed')]" in text
    assert "Skew check of credit-scorer v1 on 100 rows, 1 feature" in text and "monthly_burden  feature_skew" in text
    assert "Conflict: feature 'monthly_burden' was edited since training: trained with v1" in text

    context = mlops.init(project="credit", user="dana")  # the same default store, from MLOPS_HOME
    (version,) = mlops.models("credit-scorer").rows
    assert version["dataset"] == "credit-applications v1"
    trained = mlops.get_model_version("credit-scorer", version=1)
    assert [(ref["name"], ref["version"]) for ref in trained.features] == [("monthly_burden", 1)]
    assert [row.version for row in mlops.features("monthly_burden").rows] == [1, 2]

    batches = mlops.batches("credit-scorer")
    assert [row["status"] for row in reversed(batches.rows)] == ["accepted", "refused", "accepted", "warned"]
    (refused,) = [row for row in batches.rows if row["status"] == "refused"]
    findings = [(f["column"], f["rule"], f["severity"]) for f in batches.details[refused["id"]]]
    assert findings == [("housing", "dtype_changed", "error")]
    mapping = batches.details[refused["id"]][0]["details"]["mapping"]
    assert {str(code): level for code, level in mapping.items()} == {"0": "for free", "1": "own", "2": "rent"}
    (warned,) = [row for row in batches.rows if row["status"] == "warned"]
    assert [(f["column"], f["rule"]) for f in batches.details[warned["id"]]] == [("duration_in_month", "out_of_range")]
    assert all(row["rows"] == 100 for row in batches.rows)

    (outcome,) = mlops.outcomes("credit-scorer").rows
    january = batches.rows[-1]["id"]
    assert outcome["batch"] == january and outcome["rows"] == 100
    assert outcome["business"] == {"default_rate": pytest.approx(0.33)}
    assert 0.6 < outcome["metrics"]["roc_auc"] <= 1.0 and 0 < outcome["metrics"]["brier"] < 0.25

    with session_scope(context.engine) as session:
        reports = session.exec(select(ValidationRecord).order_by(ValidationRecord.id)).all()
        recorded = [(r.ok, [(f["column"], f["rule"]) for f in r.findings]) for r in reports
                    if r.model_version_id is None]
    assert recorded == [(True, []), (False, [("housing", "dtype_changed")])]


def test_monitoring_story_names_the_drift_alerts_once_and_retrains_for_two_approvers(tmp_path, kernel_of_this_python):
    """Issue 11's story end to end: the economy shifts (the drifted columns named), August arrives
    re-encoded (housing named, refused), each alert fires once, the drift alert's retrain action runs
    the training notebook headless and its version waits for approval; two people then approve it."""
    import nbformat
    from nbclient import NotebookClient

    from mlops_nb.services.monitoring.drift_store import drift_history
    from mlops_nb.store.db import session_scope

    nb = nbformat.read(NOTEBOOKS / "monitoring.ipynb", as_version=4)
    NotebookClient(nb, timeout=600, kernel_name=kernel_of_this_python,
                   resources={"metadata": {"path": str(tmp_path)}}).execute()
    shown = [output for cell in nb.cells if cell.cell_type == "code" for output in cell.outputs]
    assert not [output for output in shown if output.output_type == "error"]
    text = "".join(str(output.get("data", {}).get("text/plain", "")) + str(output.get("text", "")) for output in shown)
    assert "evaluated again: 0 new alert(s)" in text
    assert re.search(r"credit-risk v2 \(retraining run 1, succeeded\): request \d+ to staging is pending, "
                     r"asked by retrain-bot", text)
    assert "credit-risk v2: approved; production is v2" in text

    context = mlops.init(project="credit", user="dana")  # the same default store, from MLOPS_HOME
    alerts = mlops.alerts("credit-risk").rows
    fired = sorted((a.rule, a.column) for a in alerts)
    assert fired.count(("economy drift", None)) == 1  # the drift persisted for months: one alert
    assert ("scoring contract", "housing") in fired
    assert ("default rate", None) in fired  # the realised default rate left 30% +- 6%
    with session_scope(context.engine) as session:
        history = drift_history(session=session, project_id=context.project_id, model="credit-risk")
    drifted = {column for report in history for column in report.drifted_columns}
    assert {"credit_amount", "duration_in_month", "present_employment_since", "savings_account_and_bonds"} <= drifted
    assert len(history) == 8  # the refused month has no drift report of its own

    (run,) = mlops.retraining_runs("credit-risk").runs
    assert run.status == "succeeded" and run.trigger == "economy drift" and run.notebook_artifact_id is not None
    assert run.model_version == 2 and run.started_by == "eli"
    production = mlops.requests("credit-risk", status="approved").requests
    (approved,) = [r for r in production if r.version == 2 and r.target_stage == "production"]
    assert sorted(a["user"] for a in approved.approvals) == ["eli", "rita"]


def readme_blocks(language: str) -> list[str]:
    """The README's fenced code blocks in `language`, in order."""
    return re.findall(rf"```{language}\n(.*?)```", README.read_text(), flags=re.S)


def test_readme_first_run_works_pasted_into_one_cell_of_a_fresh_kernel(tmp_path, kernel_of_this_python):
    """The README's blocks as a new user runs them: the first in one cell of a fresh kernel, the
    Python API block in the next cell, the operator's `mlops user add` in a shell, then the login and
    promotion request (the password typed at the prompt is the one the operator set)."""
    import nbformat
    from nbclient import NotebookClient

    first, *rest = readme_blocks("python")
    password = "dana-readme-password"
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(first)]
    client = NotebookClient(nb, timeout=300, kernel_name=kernel_of_this_python,
                            resources={"metadata": {"path": str(tmp_path)}})
    with client.setup_kernel():
        client.execute_cell(nb.cells[0], 0)  # the first block alone, in a fresh kernel
        api, validate, promote = rest
        assert "mlops.validate(" in validate
        (add_user,) = [block for block in readme_blocks("bash") if "mlops user add" in block]
        # what dana types at the prompt (ipykernel puts its kernel's getpass into the module for each cell)
        typed = f"get_ipython().kernel.getpass = lambda prompt='', **kwargs: {password!r}"
        nb.cells += [nbformat.v4.new_code_cell(source) for source in (api, typed, promote, validate)]
        client.execute_cell(nb.cells[1], 1)
        client.execute_cell(nb.cells[4], 4)  # the validation block, right after the API block
        report = "".join(str(output.get("data", {}).get("text/plain", "")) for output in nb.cells[4].outputs)
        assert "against german-credit v1" in report
        (tmp_path / "dana-password.txt").write_text(password + "\n")
        mlops_cli = Path(sys.executable).with_name("mlops")
        env = {**os.environ, "PATH": f"{mlops_cli.parent}{os.pathsep}{os.environ['PATH']}"}
        added = subprocess.run(["bash", "-c", add_user], cwd=tmp_path, env=env, capture_output=True, text=True)
        assert added.returncode == 0, added.stderr
        client.execute_cell(nb.cells[2], 2)
        client.execute_cell(nb.cells[3], 3)

    shown = [output for cell in nb.cells for output in cell.outputs]
    assert not [output for output in shown if output.output_type == "error"]
    table = "".join(str(output.get("data", {}).get("text/plain", "")) for output in nb.cells[0].outputs)
    assert "Runs in baseline (1)" in table and "lr-C0.5" in table

    mlops.init(project="credit", user="dana")  # the same default store, from MLOPS_HOME
    runs = {row["name"]: mlops.get_run(row["run_id"]) for row in mlops.runs("baseline")}
    assert sorted(runs) == ["lr-C0.5", "lr-C0.5-api"]
    for run in runs.values():
        assert run.status == "finished" and 0.6 < run.metrics["roc_auc"] <= 1.0
        assert [(d["name"], d["role"]) for d in run.datasets] == [("german-credit", "train")]
    assert {row["version"]: row["run_id"] for row in mlops.models("credit-risk")} == {
        1: runs["lr-C0.5"].id, 2: runs["lr-C0.5-api"].id}
    (request,) = mlops.requests("credit-risk")
    assert (request.version, request.target_stage, request.status, request.requester) == (2, "staging", "pending", "dana")
