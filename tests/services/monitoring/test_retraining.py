"""Retraining runs the approved notebook headless (papermill, a real kernel of this Python) and links
what it produced; a failure is a failed run and one critical alert; bad notebooks are refused at set time."""
from __future__ import annotations

import json
import time
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook
from sqlmodel import select

from mlops_nb.services import identity
from mlops_nb.services.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from mlops_nb.services.identity.auth import Identity
from mlops_nb.services.monitoring import alerts, retraining
from mlops_nb.services.tracking import RETRAINING_TAG
from mlops_nb.store.db import session_scope
from mlops_nb.store.models import AuditEvent, PromotionRequest, Tag
from mlops_nb.store.models.alerts import RetrainingConfig, RetrainingRun
from tests.factories import proven, register_credit_model

NOTEBOOK = Path(__file__).resolve().parents[3] / "mlops_nb" / "demo" / "credit_retraining.ipynb"
MODEL = "credit-risk"


@pytest.fixture()
def team(ctx, credit):
    """credit-risk v1 registered by dana; eli, a proven ml_engineer, runs retraining; the kernel acts
    as retrain-bot (a data scientist) by its token: (eli, token)."""
    register_credit_model(credit, name=MODEL)
    with session_scope(ctx.engine) as session:
        eli = proven(session, "eli", "ml_engineer")
        proven(session, "retrain-bot", "data_scientist")
        token = identity.issue_token(session=session, actor=identity.OPERATOR, name="retrain-bot")
    return eli, token


def _notebook(tmp_path: Path, *cells: str, tagged: bool = True) -> Path:
    nb = new_notebook(cells=[new_code_cell(source) for source in cells])
    if tagged:
        nb.cells[0].metadata["tags"] = ["parameters"]
    path = tmp_path / "train.ipynb"
    nbformat.write(nb, str(path))
    return path


def _set(ctx, actor, notebook, parameters=None):
    with session_scope(ctx.engine) as session:
        return retraining.set_retraining(session=session, store=ctx.artifacts, project_id=ctx.project_id,
                                         actor=actor, model=MODEL, notebook=notebook, parameters=parameters)


def _start(ctx, actor, **kwargs):
    return retraining.start_retraining(engine=ctx.engine, store=ctx.artifacts, project_id=ctx.project_id,
                                       actor=actor, model=MODEL, **kwargs)


def test_a_retraining_runs_the_notebook_and_links_run_version_and_pending_request(ctx, team, tmp_path):
    eli, token = team
    config = _set(ctx, eli, NOTEBOOK, {"C": 0.5, "rows_per_month": 100})
    assert config.parameters == {"C": 0.5, "rows_per_month": 100} and config.set_by == "eli"

    run = _start(ctx, eli, window=("2024-05-01", "2024-06-30"), env={"MLOPS_TOKEN": token})

    assert run.status == "succeeded", run.error
    assert (run.model_version, run.request_status, run.started_by) == (2, "pending", "eli")
    assert run.parameters == {"C": 0.5, "rows_per_month": 100, "model_name": MODEL, "project": "test",
                              "window_start": "2024-05-01", "window_end": "2024-06-30", "retraining_run_id": run.id}
    with session_scope(ctx.engine) as session:
        tag = session.get(Tag, (run.run_id, RETRAINING_TAG))
        assert tag is not None and tag.value == str(run.id)
        request = session.get(PromotionRequest, run.request_id)
        # the kernel proved itself with retrain-bot's token: the request is theirs, waiting for a decision
        assert (request.requester, request.target_stage, request.status) == ("retrain-bot", "staging", "pending")
        assert "2024-05-01 to 2024-06-30" in request.reason and f"retraining run {run.id}" in request.reason
        assert retraining.retraining_runs(session=session, project_id=ctx.project_id, model=MODEL)[0].id == run.id
        executed = retraining.executed_notebook(session=session, store=ctx.artifacts, project_id=ctx.project_id,
                                                retraining_run_id=run.id)
        actions = [e.action for e in session.exec(select(AuditEvent).where(AuditEvent.entity == "retraining_run"))]
        assert actions == ["retraining.started", "retraining.finished"]
    version = json.loads(executed)
    injected = [c for c in version["cells"] if "injected-parameters" in c["metadata"].get("tags", [])]
    assert len(injected) == 1 and 'window_start = "2024-05-01"' in "".join(injected[0]["source"])
    assert token not in executed.decode() and "MLOPS_TOKEN" not in "".join(injected[0]["source"])
    assert not [o for c in version["cells"] for o in c.get("outputs", []) if o["output_type"] == "error"]
    import mlops_nb as mlops

    assert mlops.get_model_version(MODEL, version=2).run_id == run.run_id  # registered from the tagged run


@pytest.mark.parametrize(("cells", "error"), [
    (["C = 1.0", "rows = []", "raise ValueError(f'no labelled applicants in the window ({len(rows)} rows)')"],
     "the executed notebook's cell 4 (`raise ValueError(f'no labelled applicants in the window ({len(rows)} rows)')`) raised ValueError: "
     "no labelled applicants in the window (0 rows)"),
    (["C = 1.0", "print('trained, but forgot to register')"],
     "the notebook ran but registered no version of model 'credit-risk'"),
], ids=["cell-raises", "registers-nothing"])
def test_a_failed_retraining_is_a_failed_run_and_one_critical_alert(ctx, team, tmp_path, cells, error):
    eli, token = team
    _set(ctx, eli, _notebook(tmp_path, *cells))

    run = _start(ctx, eli, env={"MLOPS_TOKEN": token})

    assert run.status == "failed" and run.error.startswith(error)
    assert run.model_version is None and run.request_id is None and run.finished_at >= run.started_at
    with session_scope(ctx.engine) as session:
        (alert,) = alerts.list_alerts(session=session, project_id=ctx.project_id)
        executed = retraining.executed_notebook(session=session, store=ctx.artifacts, project_id=ctx.project_id,
                                                retraining_run_id=run.id)
    assert (alert.kind, alert.severity, alert.evidence) == ("retraining_failed", "critical", {"retraining_run_id": run.id})
    assert (alert.model, alert.version) == (MODEL, 1) and error in alert.message
    assert nbformat.reads(executed.decode(), as_version=4).cells  # the evidence, as far as it ran


def test_a_notebook_without_a_parameters_cell_is_refused_at_set_time(ctx, team, tmp_path):
    eli, _ = team
    with pytest.raises(InvalidInput, match="has no code cell tagged 'parameters'.*Cell Tags"):
        _set(ctx, eli, _notebook(tmp_path, "C = 1.0", tagged=False))
    (tmp_path / "broken.ipynb").write_text("{not json")
    with pytest.raises(InvalidInput, match="is not a notebook nbformat can read"):
        _set(ctx, eli, tmp_path / "broken.ipynb")
    with pytest.raises(InvalidInput, match="cannot read notebook"):
        _set(ctx, eli, tmp_path / "missing.ipynb")
    with session_scope(ctx.engine) as session:
        assert session.exec(select(RetrainingConfig)).all() == []


@pytest.mark.timeout(60)
def test_a_path_that_is_no_regular_file_or_too_big_is_refused_without_reading_it_whole(ctx, team, tmp_path,
                                                                                     monkeypatch):
    """A FIFO blocked open() forever and /dev/zero was read until memory ran out."""
    import os

    eli, _ = team
    os.mkfifo(tmp_path / "pipe.ipynb")
    for path in (tmp_path / "pipe.ipynb", "/dev/zero"):
        with pytest.raises(InvalidInput, match="is not a regular file"):
            _set(ctx, eli, path)
    monkeypatch.setattr(retraining, "MAX_NOTEBOOK_BYTES", 100)
    with pytest.raises(InvalidInput, match="is over 100 bytes; clear its outputs"):
        _set(ctx, eli, _notebook(tmp_path, "C = 1.0", "x = '" + "y" * 200 + "'"))
    with session_scope(ctx.engine) as session:
        assert session.exec(select(RetrainingConfig)).all() == []


def test_parameters_must_be_json_values_under_python_names_not_the_injected_ones(ctx, team, tmp_path):
    eli, _ = team
    notebook = _notebook(tmp_path, "C = 1.0")
    for parameters, words in [({"window_start": "2024-01-01"}, "'window_start' is set by each retraining run"),
                              ({"max-iter": 3}, "'max-iter' is not a Python variable name"),
                              ({"C": float("nan")}, "values must be JSON"), ({"C": {1, 2}}, "values must be JSON")]:
        with pytest.raises(InvalidInput, match=words):
            _set(ctx, eli, notebook, parameters)


def test_only_proven_stewards_set_and_start_retraining(ctx, team, tmp_path):
    eli, _ = team
    notebook = _notebook(tmp_path, "C = 1.0")
    with session_scope(ctx.engine) as session:
        reviewer = proven(session, "rita", "reviewer")
    for actor in (Identity(name="eli"), reviewer):
        with pytest.raises(PermissionDenied, match="needs the role ml_engineer or admin"):
            _set(ctx, actor, notebook)
    _set(ctx, eli, notebook)
    with pytest.raises(PermissionDenied, match="may not run a model's retraining notebook"):
        _start(ctx, reviewer)
    with session_scope(ctx.engine) as session:
        assert session.exec(select(RetrainingRun)).all() == []


def test_a_model_without_a_notebook_or_with_a_retraining_running_is_refused(ctx, team, tmp_path):
    eli, _ = team
    with pytest.raises(NotFound, match="model 'credit-risk' has no retraining notebook; set one first"):
        _start(ctx, eli)
    _set(ctx, eli, _notebook(tmp_path, "C = 1.0"))
    with session_scope(ctx.engine) as session:
        model_id = session.exec(select(RetrainingConfig)).one().model_id
        session.add(RetrainingRun(model_id=model_id, trigger="manual", status="running", started_by="omar",
                                  started_at=time.time() - 60))
    with pytest.raises(Conflict, match=r"model 'credit-risk' is already being retrained \(retraining run \d+, started by omar"):
        _start(ctx, eli)
    for window, words in [(("2024-06-01", "2024-05-01"), "window end 2024-05-01 is before window start 2024-06-01"),
                          (("May", "June"), "window start 'May' is not an ISO date"), ("2024-05", "window must be")]:
        with pytest.raises(InvalidInput, match=words):
            _start(ctx, eli, window=window)
    with pytest.raises(InvalidInput, match="timeout_s must be a number of seconds above 0, got 0"):
        _start(ctx, eli, timeout_s=0)
    with session_scope(ctx.engine) as session:
        assert len(session.exec(select(RetrainingRun)).all()) == 1


def test_a_run_left_running_for_a_day_is_marked_abandoned_when_the_next_starts(ctx, team, tmp_path):
    eli, token = team
    _set(ctx, eli, _notebook(tmp_path, "C = 1.0", "print(C)"))
    with session_scope(ctx.engine) as session:
        model_id = session.exec(select(RetrainingConfig)).one().model_id
        old = RetrainingRun(model_id=model_id, trigger="manual", status="running", started_by="omar",
                            started_at=time.time() - retraining.ABANDONED_AFTER_S - 60)
        session.add(old)
    run = _start(ctx, eli, env={"MLOPS_TOKEN": token})
    assert run.status == "failed"  # this notebook registers nothing
    with session_scope(ctx.engine) as session:
        left = session.get(RetrainingRun, old.id)
        assert left.status == "failed" and left.error.startswith("abandoned: still running 24 h")


def test_runs_started_in_a_retraining_kernel_are_tagged_with_its_id(ctx, monkeypatch):
    import mlops_nb as mlops

    with mlops.start_run(experiment="plain") as plain:
        pass
    monkeypatch.setenv("MLOPS_RETRAINING_RUN", "42")
    with mlops.start_run(experiment="retraining") as tagged:
        pass
    assert RETRAINING_TAG not in mlops.get_run(plain.id).tags
    assert mlops.get_run(tagged.id).tags[RETRAINING_TAG] == "42"


def test_the_credit_training_notebook_is_committed_without_outputs_with_its_parameters_cell():
    nb = nbformat.read(NOTEBOOK, as_version=4)
    code = [cell for cell in nb.cells if cell.cell_type == "code"]
    assert all(not cell.outputs and cell.execution_count is None for cell in code)
    (parameters,) = [cell for cell in code if "parameters" in cell.metadata.get("tags", [])]
    for name in ("model_name", "project", "window_start", "window_end", "retraining_run_id", "C"):
        assert f"\n{name} = " in f"\n{parameters.source}"


def test_a_cell_past_the_timeout_is_stopped_and_named():
    from mlops_nb.config import child_environment
    from mlops_nb.services.monitoring import headless

    nb = new_notebook(cells=[new_code_cell("pause = 60"), new_code_cell("import time\ntime.sleep(pause)")])
    nb.cells[0].metadata["tags"] = ["parameters"]
    execution = headless.execute(nbformat.writes(nb).encode(), parameters={"pause": 30}, environment=child_environment(),
                                 timeout_s=2)
    assert execution.error.startswith("a cell ran past the timeout of 2 s and was stopped")
    executed = nbformat.reads(execution.notebook.decode(), as_version=4)
    assert "pause = 30" in executed.cells[1].source  # papermill's injected parameters, kept as evidence
