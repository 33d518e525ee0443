"""services.registry and services.model_files: lineage, numbering, lookups, safe files, environments."""
from __future__ import annotations

import threading
import time

import pytest
from sklearn.base import BaseEstimator, ClassifierMixin
from sqlalchemy import select

import mlops_nb as mlops
from mlops_nb.services import registry, tracking
from mlops_nb.services.errors import IntegrityFailure, InvalidInput, NotFound
from mlops_nb.store.db import session_scope
from mlops_nb.store.models import AuditEvent, ModelVersion, Policy
from tests.factories import fit_credit_model


class MajorityClassifier(ClassifierMixin, BaseEstimator):
    """A custom estimator: its type is not one skops trusts by default."""

    def fit(self, X, y):
        import numpy as np

        self.classes_ = np.unique(y)
        self.majority_ = int(np.bincount(y).argmax())
        return self

    def predict(self, X):
        import numpy as np

        return np.full(len(X), self.majority_)


@pytest.fixture()
def trained(ctx, credit):
    """An active run with a training dataset, params and a metric, and a fitted pipeline."""
    run = mlops.start_run(experiment="credit", name="lr")
    mlops.log_dataset(credit, name="german", role="train")
    mlops.log_params({"C": 1.0, "note": "baseline"})
    mlops.log_metric("auc", 0.79)
    model, X = fit_credit_model(credit)
    return run, model, X


def _register(ctx, run_id, model, name="credit", **kwargs):
    with session_scope(ctx.engine) as session:
        return registry.register_model(session=session, store=ctx.artifacts, project_id=ctx.project_id,
                                       user=ctx.user, model=model, name=name, run_id=run_id, **kwargs)


def test_register_records_lineage(ctx, trained):
    run, model, _ = trained
    v = _register(ctx, run.id, model, target="creditability")
    assert (v.name, v.version, v.stage, v.run_id) == ("credit", 1, "none", run.id)
    assert v.dataset.name == "german" and v.dataset.version == 1
    assert v.params["C"] == "1.0" and v.params["logisticregression__C"] == "1.0"
    assert v.metrics == {"auc": 0.79}
    assert set(v.code) == {"git_commit", "git_dirty", "code_hash", "notebook_path"}
    assert set(v.env["packages"]) >= {"scikit-learn", "numpy", "pandas", "scipy", "skops"}
    assert f"scikit-learn=={v.env['packages']['scikit-learn']}\n" in v.requirements
    assert v.features == []
    columns = [c["name"] for c in v.signature["inputs"]["columns"]]
    assert "creditability" not in columns and "duration_in_month" in columns
    assert v.signature["outputs"]["predict_proba"]["shape"] == [-1, 2]
    assert v.signature["outputs"]["classes"] == [0, 1]
    assert len(v.sha256) == 64 and v.artifact_uri.startswith("file:///") and v.artifact_uri.endswith("v1/model.skops")
    with session_scope(ctx.engine) as session:
        event = session.execute(select(AuditEvent).where(AuditEvent.action == "model.register")).scalars().one()
    assert (event.actor, event.entity, event.entity_id) == ("dana", "model_version", "credit:1")
    assert event.after["sha256"] == v.sha256


def test_versions_increment_per_model(ctx, trained):
    run, model, _ = trained
    assert [_register(ctx, run.id, model).version for _ in range(3)] == [1, 2, 3]
    assert _register(ctx, run.id, model, name="other").version == 1


def test_unknown_run_is_not_found(ctx, trained):
    _, model, _ = trained
    with pytest.raises(NotFound, match="run 'nope' does not exist"):
        _register(ctx, "nope", model)


def test_unknown_model_is_not_found_naming_the_models(ctx, trained):
    run, model, _ = trained
    _register(ctx, run.id, model)
    with session_scope(ctx.engine) as session, pytest.raises(NotFound, match="model 'credt' is not registered.*models: credit"):
        registry.get_version(session=session, project_id=ctx.project_id, name="credt")


def test_unknown_version_names_the_versions_there_are(ctx, trained):
    run, model, _ = trained
    for _ in range(2):
        _register(ctx, run.id, model)
    with session_scope(ctx.engine) as session, pytest.raises(NotFound, match="model 'credit' has no version 7; versions are 1-2"):
        registry.get_version(session=session, project_id=ctx.project_id, name="credit", version=7)


def test_no_version_in_stage_is_not_found(ctx, trained):
    run, model, _ = trained
    _register(ctx, run.id, model)
    with session_scope(ctx.engine) as session, pytest.raises(NotFound, match="no version in production; versions: v1 none"):
        registry.get_version(session=session, project_id=ctx.project_id, name="credit", stage="production")


@pytest.mark.parametrize("thing, kind", [(lambda X: X, "function"), ({"coef": [1, 2]}, "dict")])
def test_non_sklearn_object_is_refused_naming_its_type(ctx, trained, thing, kind):
    run, _, _ = trained
    with pytest.raises(InvalidInput, match=f"scikit-learn estimator or pipeline; got builtins.{kind}"):
        _register(ctx, run.id, thing)


def test_unfitted_estimator_is_refused(ctx, trained):
    from sklearn.linear_model import LogisticRegression

    run, _, _ = trained
    with pytest.raises(InvalidInput, match="LogisticRegression given to register_model is not fitted"):
        _register(ctx, run.id, LogisticRegression())


def test_target_missing_from_dataset_is_refused(ctx, trained):
    run, model, _ = trained
    with pytest.raises(InvalidInput, match="target 'default' is not a column of dataset 'german' v1"):
        _register(ctx, run.id, model, target="default")


def test_dataset_by_name_is_the_version_the_run_used(ctx, trained, credit):
    run, model, _ = trained
    mlops.end_run()
    with mlops.start_run(experiment="credit", name="newer data"):
        mlops.log_dataset(credit.head(500), name="german")  # version 2, used by another run
    assert _register(ctx, run.id, model, dataset="german").dataset.version == 1
    assert _register(ctx, mlops.runs().rows[0]["run_id"], model, dataset="german").dataset.version == 2


def test_signature_comes_from_input_example(ctx, trained):
    run, model, X = trained
    v = _register(ctx, run.id, model, input_example=X.head(20))
    assert [c["name"] for c in v.signature["inputs"]["columns"]] == list(X.columns)
    assert v.signature["outputs"]["predict"]["dtype"] == "int64"


def test_env_mismatches_names_each_difference():
    env, _ = tracking.training_env([])
    assert tracking.env_mismatches(env) == []
    old = {**env, "python": "2.7.18", "packages": {**env["packages"], "scikit-learn": "1.4.0", "gone-pkg": "1.0"}}
    found = tracking.env_mismatches(old)
    assert any(m.startswith("Python 2.7.18 at training") for m in found)
    assert "scikit-learn 1.4.0 at training, " + env["packages"]["scikit-learn"] + " here" in found
    assert "gone-pkg 1.0 at training, not installed here" in found


def test_env_policy_prefers_the_models_own_row(ctx, trained):
    run, model, _ = trained
    v = _register(ctx, run.id, model)
    with session_scope(ctx.engine) as session:
        assert registry.env_policy(session=session, project_id=ctx.project_id, model_id=v.model_id) == "warn"
        session.add(Policy(project_id=ctx.project_id, model_id=None, rules={"env_mismatch": "refuse"},
                           updated_by="eve", updated_at=time.time()))
        session.flush()
        assert registry.env_policy(session=session, project_id=ctx.project_id, model_id=v.model_id) == "refuse"
        session.add(Policy(project_id=ctx.project_id, model_id=v.model_id, rules={"env_mismatch": "warn"},
                           updated_by="eve", updated_at=time.time()))
        session.flush()
        assert registry.env_policy(session=session, project_id=ctx.project_id, model_id=v.model_id) == "warn"


def test_custom_type_is_recorded_and_trusted_only_as_recorded(ctx, trained, credit):
    run, _, X = trained
    custom = MajorityClassifier().fit(X, (credit.creditability == "bad").astype(int))
    v = _register(ctx, run.id, custom, name="majority", target="creditability")
    assert v.env["trusted_types"] == [f"{__name__}.MajorityClassifier"]
    with session_scope(ctx.engine) as session:
        plan = registry.plan_load(session=session, project_id=ctx.project_id, name="majority", version=1)
    assert registry.load(plan, store=ctx.artifacts).predict(X.head(3)).tolist() == [0, 0, 0]
    plan.trusted = []  # as if the record had listed nothing unusual: the file's type is unexpected
    with pytest.raises(IntegrityFailure, match="types that were not recorded at registration: .*MajorityClassifier"):
        registry.load(plan, store=ctx.artifacts)


def test_model_file_with_unexpected_type_is_refused_without_loading(monkeypatch):
    import skops.io as sio

    data = sio.dumps(MajorityClassifier().fit([[0], [1], [1]], [0, 1, 1]))
    monkeypatch.setattr(sio, "loads", lambda *a, **k: pytest.fail("deserialised an unexpected type"))
    with pytest.raises(IntegrityFailure, match="MajorityClassifier"):
        registry.model_files.load(data, trusted=[])


def test_non_finite_metrics_survive_registration(ctx, trained):
    import math

    run, model, _ = trained
    mlops.log_metrics({"loss": float("nan"), "gain": float("inf")})
    v = _register(ctx, run.id, model)
    assert math.isnan(v.metrics["loss"]) and v.metrics["gain"] == math.inf
    with session_scope(ctx.engine) as session:
        again = registry.get_version(session=session, project_id=ctx.project_id, name="credit", version=1)
    assert math.isnan(again.metrics["loss"]) and again.metrics["auc"] == 0.79


def test_ranges_are_compact():
    assert registry.models._ranges([3, 1, 2, 5, 7, 8]) == "1-3, 5, 7-8"
    assert registry.models._ranges([4]) == "4"


def test_concurrent_creators_of_one_model_get_distinct_versions(ctx, trained):
    """Two writers register the first versions of a new model at once: one creates it, both number."""
    run, model, _ = trained
    results, errors = [], []

    def worker():
        try:
            for _ in range(3):
                results.append(_register(ctx, run.id, model, name="race").version)
        except Exception as err:  # noqa: BLE001 - reported below
            errors.append(err)

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert sorted(results) == [1, 2, 3, 4, 5, 6]


def test_stage_lookups_for_promotion(ctx, trained):
    run, model, _ = trained
    for _ in range(3):
        _register(ctx, run.id, model)
    with session_scope(ctx.engine) as session:
        m = registry.get_model(session=session, project_id=ctx.project_id, name="credit")
        assert registry.production_version_row(session=session, model_id=m.id) is None
        row = registry.get_version_row(session=session, model_id=m.id, version=2)
        row.stage = "production"
        session.add(row)
        session.flush()
        assert registry.production_version_row(session=session, model_id=m.id).version == 2
        with pytest.raises(InvalidInput, match="give version or stage"):
            registry.find_version_row(session=session, model=m, version=1, stage="production")
        with pytest.raises(InvalidInput, match="stage 'live' is not one of"):
            registry.find_version_row(session=session, model=m, stage="live")
        assert session.execute(select(ModelVersion.stage).where(ModelVersion.model_id == m.id)
                               .order_by(ModelVersion.version)).scalars().all() == ["none", "production", "none"]
