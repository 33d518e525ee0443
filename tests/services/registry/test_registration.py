"""services.registry.registration: numbering under a lock, lineage recorded, audited."""
from __future__ import annotations

import threading

import pytest
from sqlalchemy import select

import mlops_nb as mlops
from mlops_nb.services import registry
from mlops_nb.services.errors import NotFound
from mlops_nb.store.db import session_scope
from mlops_nb.store.models import AuditEvent


def test_register_records_lineage(ctx, trained, register):
    run, model, _ = trained
    v = register(run.id, model, target="creditability")
    assert (v.name, v.version, v.stage, v.run_id) == ("credit", 1, "none", run.id)
    assert v.dataset.name == "german" and v.dataset.version == 1
    assert v.params["C"] == "1.0" and v.params["logisticregression__C"] == "1.0"
    assert v.metrics == {"auc": 0.79}
    assert set(v.code) == {"git_commit", "git_dirty", "code_hash", "notebook_path", "code_status", "cells"}
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


def test_versions_increment_per_model(ctx, trained, register):
    run, model, _ = trained
    assert [register(run.id, model).version for _ in range(3)] == [1, 2, 3]
    assert register(run.id, model, name="other").version == 1


def test_unknown_run_is_not_found(ctx, trained, register):
    _, model, _ = trained
    with pytest.raises(NotFound, match=r"^run 'nope' does not exist; list runs with mlops\.runs\(\)$"):
        register("nope", model)


def test_non_finite_metrics_survive_registration(ctx, trained, register):
    import math

    run, model, _ = trained
    mlops.log_metrics({"loss": float("nan"), "gain": float("inf")})
    v = register(run.id, model)
    assert math.isnan(v.metrics["loss"]) and v.metrics["gain"] == math.inf
    with session_scope(ctx.engine) as session:
        again = registry.get_version(session=session, project_id=ctx.project_id, name="credit", version=1)
    assert math.isnan(again.metrics["loss"]) and again.metrics["auc"] == 0.79


def test_concurrent_creators_of_one_model_get_distinct_versions(ctx, trained, register):
    """Two writers register the first versions of a new model at once: one creates it, both number."""
    run, model, _ = trained
    results, errors = [], []

    def worker():
        try:
            for _ in range(3):
                results.append(register(run.id, model, name="race").version)
        except Exception as err:  # noqa: BLE001 - reported below
            errors.append(err)

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert sorted(results) == [1, 2, 3, 4, 5, 6]


def test_a_name_a_file_system_reads_as_another_cannot_overwrite_its_model_file(ctx, credit, trained, register):
    """'credit/' and 'credit' are two models; before, the second wrote over the first one's file
    (`models/<project>/credit//v1/...` is `models/<project>/credit/v1/...`), which its next load
    found as an IntegrityFailure: the first model was lost."""
    from tests.factories import fit_credit_model

    run, model, X = trained
    first = register(run.id, model)
    other, _ = fit_credit_model(credit, C=0.01)
    second = register(run.id, other, name="credit/")
    assert first.artifact_uri != second.artifact_uri and first.sha256 != second.sha256
    loaded = mlops.load_model("credit", version=1)  # before: IntegrityFailure, the file was the other model
    assert loaded.info.sha256 == first.sha256
    assert list(loaded.predict_proba(X.head(5))[:, 1]) == list(model.predict_proba(X.head(5))[:, 1])
    assert mlops.load_model("credit/", version=1).info.sha256 == second.sha256

