"""Drift references stored with dataset versions, and drift reports stored against a model's production
version, on SQLite and PostgreSQL (the `ctx` fixture runs on both)."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

import mlops_nb as mlops
from mlops_nb.services import data
from mlops_nb.services.monitoring import drift
from mlops_nb.store.db import session_scope
from mlops_nb.store.models import Artifact, DriftColumn, DriftRecord, DriftReference
from tests.factories import register_credit_model


def _count(ctx, table) -> int:
    with session_scope(ctx.engine) as session:
        return session.execute(select(func.count()).select_from(table)).scalar_one()



def test_log_dataset_stores_the_reference_with_a_new_version_once(ctx, credit):
    with mlops.start_run(experiment="d"):
        version = mlops.log_dataset(credit, name="german")
        again = mlops.log_dataset(credit.copy(), name="german")  # the same content: the same version
    assert again.id == version.id
    with session_scope(ctx.engine) as session:
        rows = session.execute(select(DriftReference)).scalars().all()
        assert [(r.dataset_version_id, r.source, r.rows) for r in rows] == [(version.id, "dataset", 1000)]
        artifact = session.get(Artifact, rows[0].artifact_id)
        assert artifact.name.startswith(f"datasets/{version.id}/drift_reference") and artifact.name.endswith(".npz")
        assert set(rows[0].columns["columns"]) == set(credit.columns)
        profile = drift.reference_for(session=session, store=ctx.artifacts, dataset_version_id=version.id)
    assert profile.source == "dataset" and list(profile.columns) == list(credit.columns)
    assert profile.columns["credit_amount"].rows == 1000


def test_a_version_logged_before_drift_gets_its_reference_from_its_sample(ctx, credit):
    """A version the service logged without the API's hook (as before this issue) has no reference:
    the first report builds it from the stored sample, stores it, and says the reference was the sample."""
    with mlops.start_run(experiment="d") as run, session_scope(ctx.engine) as session:
        version = data.log_dataset(session=session, store=ctx.artifacts, project_id=ctx.project_id, df=credit,
                                   name="old", run_id=run.id, user="dana")
    assert _count(ctx, DriftReference) == 0
    with session_scope(ctx.engine) as session:
        report = drift.drift_report(session=session, store=ctx.artifacts, project_id=ctx.project_id, user="dana",
                                    reference=version.id, current=credit.iloc[:300])
        stored = session.get(DriftReference, version.id)
        assert (stored.source, stored.rows) == ("sample", 1000)
    assert report.reference == "dataset old v1 (its stored sample)" and report.id is None
    with session_scope(ctx.engine) as session:  # read back, not rebuilt
        profile = drift.reference_for(session=session, store=ctx.artifacts, dataset_version_id=version.id)
    assert profile.source == "sample" and _count(ctx, DriftReference) == 1


def test_a_changed_reference_file_is_refused(ctx, credit):
    with mlops.start_run(experiment="d"):
        version = mlops.log_dataset(credit, name="german")
    with session_scope(ctx.engine) as session:
        artifact = session.get(Artifact, session.get(DriftReference, version.id).artifact_id)
    assert artifact.uri.startswith("file://")  # the local store
    with open(artifact.uri.removeprefix("file://"), "r+b") as f:
        f.seek(-20, 2)
        f.write(b"x" * 20)
    with session_scope(ctx.engine) as session, pytest.raises(mlops.IntegrityFailure):
        drift.reference_for(session=session, store=ctx.artifacts, dataset_version_id=version.id)


def test_a_report_with_a_model_is_stored_against_its_production_version_target_left_out(ctx, production):
    X = production
    shifted = X.assign(credit_amount=X.credit_amount * 1.8)
    report = mlops.drift_report(current=shifted, model="credit")
    assert report.id is not None and (report.model, report.version) == ("credit", 1)
    assert report.reference == "dataset german v1" and report.current == "frame" and report.trigger == "manual"
    assert "credit_amount" in report.drifted_columns and "creditability" not in set(report.to_frame()["column"])
    assert [f.column for f in report.findings if f.column == "creditability"] == []  # left out, not missing
    assert report.to_frame()["column"].tolist() == [c for c in X.columns if c in set(report.to_frame()["column"])]
    with session_scope(ctx.engine) as session:
        again = drift.get_drift_report(session=session, project_id=ctx.project_id, report_id=report.id)
        record = session.get(DriftRecord, report.id)
        assert record.current_sample_artifact_id is not None and record.current_rows == len(X)
    assert _count(ctx, DriftColumn) == report.tested
    assert again.rows == report.rows and again.drifted_columns == report.drifted_columns
    assert again.share == pytest.approx(report.drifted / report.tested)
    second = mlops.drift_report(reference=X, current=X, model="credit")
    history = mlops.drift_history("credit")
    assert [r.id for r in history] == [second.id, report.id] and second.drifted_columns == []
    assert second.reference == "frame" and history[0].rows[0]["distribution"]["kind"] in ("bins", "categories")


def test_a_report_without_a_model_stores_nothing(ctx, credit):
    report = mlops.drift_report(reference=credit.iloc[:500], current=credit.iloc[500:])
    assert report.id is None and report.model is None
    assert _count(ctx, DriftRecord) == 0 and _count(ctx, DriftColumn) == 0


def test_a_model_without_a_production_version_is_not_found_and_nothing_is_stored(ctx, credit):
    X = register_credit_model(credit)
    with pytest.raises(mlops.NotFound, match="model 'credit' has no version in production"):
        mlops.drift_report(current=X, model="credit")
    with pytest.raises(mlops.NotFound, match="model 'other' is not registered in this project"):
        mlops.drift_report(current=X, model="other")
    assert _count(ctx, DriftRecord) == 0


def test_bad_current_data_is_refused_and_nothing_is_stored(ctx, production):
    X = production
    with pytest.raises(mlops.InvalidInput, match="current has no rows; drift needs at least one row"):
        mlops.drift_report(current=X.iloc[:0], model="credit")
    with pytest.raises(mlops.InvalidInput, match="current must be a pandas DataFrame, got list"):
        mlops.drift_report(current=[1, 2], model="credit")
    with pytest.raises(mlops.InvalidInput, match=r"column name that is not valid text: 'x\\udcff' holds a lone surr"):
        mlops.drift_report(current=X.assign(**{"x\udcff": 1.0}), model="credit")  # once a raw UnicodeEncodeError
    with pytest.raises(mlops.InvalidInput, match="exclude names columns neither .* holds: nope"):
        mlops.drift_report(current=X, model="credit", exclude=["nope"])
    assert _count(ctx, DriftRecord) == 0 and _count(ctx, DriftColumn) == 0


def test_history_reads_are_bounded_and_name_the_model(ctx, production):
    with pytest.raises(mlops.InvalidInput, match="limit"):
        mlops.drift_history("credit", limit=0)
    with pytest.raises(mlops.NotFound, match="model 'nope' is not registered in this project"):
        mlops.drift_history("nope")
    assert mlops.drift_history("credit") == []
    with session_scope(ctx.engine) as session, pytest.raises(mlops.NotFound, match="drift report 99 does not exist"):
        drift.get_drift_report(session=session, project_id=ctx.project_id, report_id=99)


def test_two_readers_building_one_reference_at_once_store_one(ctx, credit):
    """The reference of a version logged before drift is built by its first reader; a second reader
    building it at the same moment waits (SQLite's write lock) or loses the insert (PostgreSQL's key)
    and reads the first one's: one row, whichever way."""
    import threading
    import time

    with mlops.start_run(experiment="d") as run, session_scope(ctx.engine) as session:
        version = data.log_dataset(session=session, store=ctx.artifacts, project_id=ctx.project_id, df=credit,
                                   name="old", run_id=run.id, user="dana")
    results = {}

    def second():
        with session_scope(ctx.engine) as other:
            results["profile"] = drift.reference_for(session=other, store=ctx.artifacts, dataset_version_id=version.id)

    with session_scope(ctx.engine) as first:
        mine = drift.reference_for(session=first, store=ctx.artifacts, dataset_version_id=version.id)
        thread = threading.Thread(target=second)
        thread.start()
        time.sleep(1.0)  # the second reader reaches its insert (or the lock) while this one is open
    thread.join(timeout=60)
    assert not thread.is_alive()
    assert _count(ctx, DriftReference) == 1
    assert list(results["profile"].columns) == list(mine.columns) and results["profile"].source == "sample"
    with session_scope(ctx.engine) as session:
        assert session.get(DriftReference, version.id).source == "sample"
