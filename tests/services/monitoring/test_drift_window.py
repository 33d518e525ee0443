"""Drift of a window of recorded scoring batches: accepted and warned batches' sampled inputs against
the training reference, refused ones left out, prediction drift against the version's own predictions
on its training sample; on SQLite and PostgreSQL."""
from __future__ import annotations

import time
import warnings

import pytest
from sqlalchemy import select

import mlops_nb as mlops
from mlops_nb.services import governance
from mlops_nb.services.identity.auth import OPERATOR
from mlops_nb.services.monitoring import drift
from mlops_nb.store.db import session_scope
from mlops_nb.store.models import DriftRecord, ModelVersion
from tests.factories import move_stage, register_credit_model


@pytest.fixture()
def scored(ctx, credit):
    """Model 'credit' v1 in production and three batches: one like training (accepted), one with
    credit_amount and duration shifted (warned: out of range), one refused (a re-encoded
    categorical under the refuse policy). Returns (version id, [accepted, warned, refused] ids, X)."""
    X = register_credit_model(credit)
    with session_scope(ctx.engine) as session:
        row = session.execute(select(ModelVersion)).scalars().one()
        move_stage(session, row, "staging")
        move_stage(session, row, "production")
        governance.change_policy(session=session, actor=OPERATOR, project_id=ctx.project_id, model="credit",
                                 rules={"scoring": {"on_invalid": "refuse"}})
        version_id = row.id
    live = mlops.load_model("credit", stage="production")
    live.predict_proba(X)
    ids = [live.last_batch_id]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the out-of-range warning of the shifted batch
        live.predict_proba(X.assign(credit_amount=X.credit_amount * 2.5, duration_in_month=X.duration_in_month + 24))
    ids.append(live.last_batch_id)
    with pytest.raises(mlops.ValidationFailed):
        live.predict_proba(X.assign(housing=X.housing.map({"for free": 0, "own": 1, "rent": 2})))
    ids.append(live.last_batch_id)
    live.flush()
    return version_id, ids, X


def _window(ctx, version_id, **kwargs):
    with session_scope(ctx.engine) as session:
        return drift.window_drift(session=session, store=ctx.artifacts, project_id=ctx.project_id,
                                  model_version_id=version_id, user="monitor", **kwargs)


def test_a_window_drifts_on_the_shifted_columns_and_leaves_the_refused_batch_out(ctx, scored):
    version_id, ids, X = scored
    report = _window(ctx, version_id)
    assert (report.batches, report.current_rows, report.current, report.trigger) == (2, 2000, "2 batches", "monitor")
    assert (report.model, report.version, report.reference) == ("credit", 1, "dataset german v1")
    assert {"credit_amount", "duration_in_month"} <= set(report.drifted_columns)
    frame = report.to_frame()
    assert "creditability" not in set(frame["column"])  # the target is left out
    assert frame.iloc[-1][["column", "role"]].tolist() == ["_proba_1", "prediction"]
    assert report.prediction_drift is not None and report.prediction["reference_rows"] == 1000
    with session_scope(ctx.engine) as session:
        record = session.get(DriftRecord, report.id)
        created = [b.created_at for b in drift.window_batches(session=session, model_version_id=version_id)]
    assert (record.window_start, record.window_end) == (min(created), max(created))


def test_integer_columns_keep_their_type_through_the_sample_file(ctx, scored):
    """The sample file keeps the inputs of 1,000 rows of a batch and nulls elsewhere, so an int column
    comes back as float: the window puts it back, and evidently's types (an int with 10 or fewer
    values is categorical) hold."""
    import pandas as pd

    version_id, _, X = scored
    live = mlops.load_model("credit", stage="production")
    live.predict_proba(pd.concat([X, X.iloc[:500]], ignore_index=True))  # 1,500 rows: 500 not sampled
    live.flush()
    window = _window(ctx, version_id, batch_ids=[live.last_batch_id])
    direct = mlops.drift_report(reference=X, current=X)
    assert window.current_rows == 1000
    assert ({r["column"]: r["type"] for r in window.rows if r["role"] == "feature"}
            == {r["column"]: r["type"] for r in direct.rows})
    assert not window.dataset_drift  # rows of the training data itself


def test_batch_ids_choose_the_batches(ctx, scored):
    version_id, ids, _ = scored
    report = _window(ctx, version_id, batch_ids=[ids[1]])
    assert report.batches == 1 and report.current_rows == 1000 and "credit_amount" in report.drifted_columns
    assert report.prediction_drift is True  # longer, larger loans: higher predicted default
    same = _window(ctx, version_id, batch_ids=[ids[0]])
    assert same.prediction_drift is False and (same.prediction["test"], same.prediction["statistic"]) == ("ks", 1.0)


def test_a_window_without_an_accepted_or_warned_batch_is_refused_naming_model_version_and_window(ctx, scored):
    version_id, ids, _ = scored
    with pytest.raises(mlops.InvalidInput, match=r"model 'credit' v1 has no accepted or warned scoring batch in "
                                                 r"batches [0-9a-f]{32}; .*refused and failed batches are left out"):
        _window(ctx, version_id, batch_ids=[ids[2]])
    later = time.time() + 3600
    with pytest.raises(mlops.InvalidInput, match=r"model 'credit' v1 has no accepted or warned scoring batch in "
                                                 r"the window since \d{4}-\d\d-\d\d"):
        _window(ctx, version_id, since=later)
    with pytest.raises(mlops.InvalidInput, match=r"since \(.*\) must be before until"):
        _window(ctx, version_id, since=later, until=later - 1)
    with session_scope(ctx.engine) as session:
        assert session.execute(select(DriftRecord)).first() is None


def test_unknown_versions_and_batches_are_not_found(ctx, scored):
    version_id, ids, _ = scored
    with pytest.raises(mlops.NotFound, match="model version id 999 does not exist in this project"):
        _window(ctx, 999)
    with pytest.raises(mlops.NotFound, match="scoring batch 'nope' is not a batch of this model version"):
        _window(ctx, version_id, batch_ids=["nope"])
