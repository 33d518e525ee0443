"""Every gate, passing and failing, evaluated on what the store holds."""
from __future__ import annotations

import math

import pytest

from mlops_nb.services import governance
from mlops_nb.services.governance.policies import EffectivePolicy
from tests import factories as g


def _policy(**rules) -> EffectivePolicy:
    return EffectivePolicy(governance.merge(governance.DEFAULT_RULES, rules) if rules else governance.DEFAULT_RULES, "test")


def _only(results, name):
    found = [r for r in results if r.name == name]
    assert len(found) == 1, [r.name for r in results]
    return found[0]


def _eval(session, version, to="production", **rules):
    return governance.evaluate(session=session, version=version, target_stage=to, policy=_policy(**rules))


def test_default_gates_are_staging_first_and_lineage(session):
    pid = g.project(session)
    v = g.version(session, g.model(session, pid), stage="staging")
    assert [r.name for r in _eval(session, v, "production")] == ["staging_before_production", "lineage_complete"]
    assert [r.name for r in _eval(session, v, "staging")] == ["lineage_complete"]


def test_staging_before_production_passes_from_staging_and_fails_otherwise(session):
    pid = g.project(session)
    m = g.model(session, pid)
    staged, fresh = g.version(session, m, stage="staging"), g.version(session, m)
    ok = _only(_eval(session, staged), "staging_before_production")
    assert ok.passed and ok.detail == "version 1 is in staging"
    bad = _only(_eval(session, fresh), "staging_before_production")
    assert not bad.passed and bad.detail == "version 2 is in none, not staging: promote it to staging first"


def test_lineage_complete_names_run_dataset_code_and_params(session):
    pid = g.project(session)
    m = g.model(session, pid)
    ok = _only(_eval(session, g.version(session, m)), "lineage_complete")
    assert ok.passed and "dataset data-" in ok.detail and "git commit abc123" in ok.detail and "1 params" in ok.detail
    bad = _only(_eval(session, g.version(session, m, lineage=False)), "lineage_complete")
    assert not bad.passed
    assert bad.detail.startswith("version 2 has no run and no training dataset version; register it from a run")


def _with_code(session, m, *, cells: list[str] | None = None, **context):
    from mlops_nb.services import tracking

    v = g.version(session, m, run_context=context)
    if cells:
        tracking.set_run_code(session=session, run_id=v.run_id, cell_source="\n\n# %%\n".join(cells),
                              code_hash="c" * 64, cell_hashes=["h"] * len(cells))
    return _only(_eval(session, v), "lineage_complete")


def test_lineage_complete_fails_a_run_that_recorded_no_code(session):
    m = g.model(session, g.project(session))
    # what `with mlops.start_run():` in one cell of an untracked notebook recorded before: HEAD, "clean"
    bad = _with_code(session, m, git_commit="abc123", git_dirty=False, notebook_path="/nb/train.ipynb",
                     code_status="untracked")
    assert not bad.passed and bad.data["code_recorded"] is False
    assert bad.detail.startswith("version 1 has no code (no code recorded: no cells were recorded and "
                                 "'/nb/train.ipynb' is untracked in git (commit abc123 does not hold it)")
    nothing = _with_code(session, m, git_commit=None, code_status="unknown")
    assert not nothing.passed and "no code file is known and no git commit holds it" in nothing.detail
    modified = _with_code(session, m, git_commit="abc123", git_dirty=True, notebook_path="/nb/train.ipynb",
                          code_status="modified")
    assert not modified.passed and "'/nb/train.ipynb' is modified in git" in modified.detail
    outside = _with_code(session, m, git_commit=None, notebook_path="/tmp/train.py", code_status="no_git")
    assert not outside.passed and "'/tmp/train.py' is in no git repository" in outside.detail


def test_lineage_complete_passes_recorded_cells_and_warns_when_the_notebook_is_not_in_git(session):
    m = g.model(session, g.project(session))
    untracked = _with_code(session, m, cells=["import pandas", "model.fit(X, y)"], git_commit="abc123",
                           notebook_path="/nb/train.ipynb", code_status="untracked")
    assert untracked.passed and untracked.data["code_recorded"] is True
    assert ("2 cells recorded (code hash cccccccccccc); warning: '/nb/train.ipynb' is untracked in git, "
            "so the recorded cells are its only copy") in untracked.detail
    committed = _with_code(session, m, git_commit="abc123", git_dirty=False, notebook_path="/src/train.py",
                           code_status="committed")
    assert committed.passed and "git commit abc123 of '/src/train.py'" in committed.detail


@pytest.mark.parametrize("metrics, passed, words", [
    ({"auc": 0.75, "ks": 0.3}, True, "auc = 0.75 >= 0.7, ks = 0.3 < 0.5"),
    ({"auc": 0.65, "ks": 0.3}, False, "auc = 0.65, needs >= 0.7"),
    ({"ks": 0.3}, False, "auc was not logged"),
    ({"auc": "nan", "ks": 0.3}, False, "auc = nan, needs >= 0.7"),
    ({"auc": 0.9, "ks": 0.6}, False, "ks = 0.6, needs < 0.5"),
])
def test_metric_thresholds(session, metrics, passed, words):
    pid = g.project(session)
    v = g.version(session, g.model(session, pid), metrics=metrics)
    result = _only(_eval(session, v, "staging", metric_thresholds={"auc": ">= 0.70", "ks": "< 0.5"}), "metric_thresholds")
    assert result.passed is passed and words in result.detail


def test_metric_thresholds_fall_back_to_the_runs_metrics(session):
    from mlops_nb.services import tracking

    pid = g.project(session)
    v = g.version(session, g.model(session, pid), metrics={})
    tracking.log_metrics(session=session, run_id=v.run_id, metrics={"auc": 0.72})
    assert _only(_eval(session, v, "staging", metric_thresholds={"auc": ">= 0.7"}), "metric_thresholds").passed


@pytest.mark.parametrize("production_auc, candidate_auc, options, passed, words", [
    (None, 0.70, {}, True, "no other version is in production"),
    (0.80, 0.79, {"tolerance": 0.02}, True, "auc 0.79 vs production version 1 0.8 (within tolerance 0.02)"),
    (0.80, 0.75, {"tolerance": 0.02}, False, "beyond tolerance 0.02: 0.05 below"),
    (0.80, 0.80, {}, True, "within tolerance 0"),
    (0.20, 0.25, {"higher_is_better": False, "tolerance": 0.01}, False, "0.05 above"),
    (0.20, 0.18, {"higher_is_better": False}, True, "within"),
])
def test_no_regression(session, production_auc, candidate_auc, options, passed, words):
    pid = g.project(session)
    m = g.model(session, pid)
    if production_auc is not None:
        g.version(session, m, metrics={"auc": production_auc}, stage="production")
    v = g.version(session, m, metrics={"auc": candidate_auc}, stage="staging")
    result = _only(_eval(session, v, no_regression={"metric": "auc", **options}), "no_regression")
    assert result.passed is passed and words in result.detail


def test_no_regression_fails_when_the_candidate_lacks_the_metric(session):
    pid = g.project(session)
    m = g.model(session, pid)
    g.version(session, m, metrics={"auc": 0.8}, stage="production")
    v = g.version(session, m, metrics={"f1": 0.5}, stage="staging")
    result = _only(_eval(session, v, no_regression={"metric": "auc"}), "no_regression")
    assert not result.passed and result.detail == "auc of version 2 was not logged"
    assert result.to_dict()["data"]["value"] is None  # NaN is stored as JSON null


@pytest.mark.parametrize("rows, target, profile, passed, words", [
    (500, "y", None, True, "500 rows, target y complete, every null rate <= 0.1"),
    (50, "y", None, False, "50 rows, needs at least 100"),
    (500, "label", None, False, "target column 'label' is not in the dataset"),
    (500, None, None, False, "the version names no target column"),
    (500, "y", {"x": {"null_rate": 0.0, "nulls": 0}, "y": {"null_rate": 0.02, "nulls": 10}}, False,
     "target column 'y' has 10 missing labels"),
    (500, "y", {"x": {"null_rate": 0.3, "nulls": 150}, "y": {"null_rate": 0.0, "nulls": 0}}, False,
     "column 'x' is 30% null (bound 10%)"),
])
def test_data_validated(session, rows, target, profile, passed, words):
    pid = g.project(session)
    data = g.dataset(session, pid, rows=rows, profile=profile)
    v = g.version(session, g.model(session, pid), target=target, dataset_row=data)
    result = _only(_eval(session, v, "staging", data_validated=True), "data_validated")
    assert result.passed is passed and words in result.detail


def test_data_validated_fails_without_a_dataset(session):
    pid = g.project(session)
    v = g.version(session, g.model(session, pid), lineage=False)
    result = _only(_eval(session, v, "staging", data_validated={"min_rows": 1}), "data_validated")
    assert not result.passed and result.detail == "version 1 names no training dataset version to validate"


# --- prediction distribution: real models through the public API -----------------------------------

def _register(credit, **fit):
    import mlops_nb as mlops
    from tests.factories import fit_credit_model

    with mlops.start_run(experiment="gates"):
        mlops.log_dataset(credit, name="german", role="train")
        model, _ = fit_credit_model(credit, **{k: v for k, v in fit.items() if k == "C"})
        if fit.get("balanced"):
            model.set_params(logisticregression__class_weight="balanced").fit(
                credit.drop(columns="creditability"), (credit.creditability == "bad").astype(int))
        return mlops.register_model(model, name="credit", dataset="german", target="creditability")


def _distribution(ctx, version: int, max_shift: float):
    from mlops_nb.services import registry
    from mlops_nb.store.db import session_scope

    with session_scope(ctx.engine) as session:
        model = registry.get_model(session=session, project_id=ctx.project_id, name="credit")
        row = registry.get_version_row(session=session, model_id=model.id, version=version)
        results = governance.evaluate(session=session, version=row, target_stage="staging", store=ctx.artifacts,
                                 policy=_policy(prediction_distribution={"max_shift": max_shift}))
        return _only(results, "prediction_distribution")


def test_prediction_distribution_against_the_training_label_rate(ctx, credit):
    v = _register(credit)
    result = _distribution(ctx, v.version, 0.05)
    assert result.passed, result.detail
    assert "vs the training rate of label 'bad' (inferred)" in result.detail
    assert math.isclose(result.data["reference"], (credit.creditability == "bad").mean())
    skewed = _register(credit, balanced=True)  # class weights push the mean probability to ~0.5
    result = _distribution(ctx, skewed.version, 0.05)
    assert not result.passed and "> 0.05" in result.detail and result.data["shift"] > 0.1


def test_prediction_distribution_against_the_production_version(ctx, credit):
    from mlops_nb.services import registry
    from mlops_nb.store.db import session_scope

    live = _register(credit, C=1.0)
    with session_scope(ctx.engine) as session:
        row = registry.get_version_row(session=session, model_id=live.model_id, version=live.version)
        g.move_stage(session, row, "production")
    close = _register(credit, C=0.5)
    result = _distribution(ctx, close.version, 0.02)
    assert result.passed and f"vs production version {live.version}" in result.detail
    skewed = _register(credit, balanced=True)
    assert not _distribution(ctx, skewed.version, 0.02).passed


def test_prediction_distribution_fails_without_an_artifact_store(session):
    pid = g.project(session)
    v = g.version(session, g.model(session, pid))
    result = _only(_eval(session, v, "staging", prediction_distribution=True), "prediction_distribution")
    assert not result.passed and result.detail == "no artifact store to read the reference sample from"


def test_prediction_distribution_fails_when_the_model_file_is_missing(ctx, session):
    pid = g.project(session)
    v = g.version(session, g.model(session, pid))  # its artifact row points at no file
    results = governance.evaluate(session=session, version=v, target_stage="staging", store=ctx.artifacts,
                             policy=_policy(prediction_distribution=True))
    result = _only(results, "prediction_distribution")
    assert not result.passed and result.detail.startswith("could not score the reference sample")
