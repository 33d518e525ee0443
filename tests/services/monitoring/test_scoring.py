"""The monitored model: each call validated, scored and recorded; refusals and failures recorded too."""
from __future__ import annotations

import threading
import warnings

import numpy as np
import pytest
from sqlalchemy import func, select

import mlops_nb as mlops
from mlops_nb.services import monitoring
from mlops_nb.services.data.results import Finding, ValidationResult
from mlops_nb.services.monitoring import writer
from mlops_nb.services.registry.scoring import ScoringModel
from mlops_nb.store.db import session_scope
from mlops_nb.store.models.monitoring import ScoringBatch


def _batch(ctx, batch_id) -> ScoringBatch:
    with session_scope(ctx.engine) as session:
        row = session.get(ScoringBatch, batch_id)
        assert row is not None, f"batch {batch_id} not recorded"
        return row


def _counts(ctx) -> dict[str, int]:
    from sqlmodel import SQLModel

    with session_scope(ctx.engine) as session:
        return {name: session.execute(select(func.count()).select_from(table)).scalar_one()
                for name, table in SQLModel.metadata.tables.items()}


def _finding(rule="dtype_changed", severity="error", column="credit_amount"):
    return Finding(column, rule, severity, f"{column} broke {rule}", ["x"])


def _validator(*findings):
    """A stand-in for part V's validate_frame: reports `findings` for every frame."""
    def validate(frame):
        return ValidationResult(ok=not any(f.severity == "error" for f in findings), findings=list(findings),
                                contract="german v1", rows=len(frame))
    return validate


def test_accepted_batch_is_recorded_with_profiles_and_a_sample(ctx, registered):
    X, _ = registered
    live = mlops.load_model("credit")
    proba = live.predict_proba(X)
    live.flush()
    row = _batch(ctx, live.last_batch_id)
    assert (row.status, row.rows, row.method, row.stage, row.created_by) == ("accepted", 1000, "predict_proba", "none",
                                                                              "dana")
    assert row.latency_ms > 0 and row.findings == []
    assert set(row.input_profile) == set(X.columns) and row.input_profile["credit_amount"]["count"] == 1000
    assert row.prediction_profile["mean"] == pytest.approx(proba[:, 1].mean())
    assert row.prediction_profile["classes"] == [0, 1] and sum(row.prediction_profile["histogram"]) == 1000
    with session_scope(ctx.engine) as session:
        sample = monitoring.read_sample(session=session, store=ctx.artifacts, batch_id=row.id)
    assert len(sample) == 1000 and sample["_sampled"].all()
    assert np.allclose(sample["_proba_1"], proba[:, 1])
    assert sample["_index"].tolist() == [str(i) for i in X.index]
    assert sample["purpose"].tolist() == X["purpose"].tolist()


def test_refused_batch_is_written_before_raising_and_changes_nothing_else(ctx, registered):
    X, _ = registered
    live = mlops.load_model("credit")
    live.validate, live.on_invalid = _validator(_finding(), _finding("null_rate", "warning", "age")), "refuse"
    before = _counts(ctx)
    with pytest.raises(mlops.ValidationFailed, match=r"refused the batch of 5 row\(s\) .*recorded as refused\): "
                       r"credit_amount: dtype_changed \(credit_amount broke dtype_changed\); fix the input") as err:
        live.predict_proba(X.head(5))
    assert err.value.report.findings[0].rule == "dtype_changed"
    after = _counts(ctx)  # written before the raise: no flush needed
    assert after["scoring_batch"] == before["scoring_batch"] + 1
    assert {k: v for k, v in after.items() if k != "scoring_batch"} == {k: v for k, v in before.items()
                                                                         if k != "scoring_batch"}
    row = _batch(ctx, live.last_batch_id)
    assert row.status == "refused" and row.rows == 5 and row.sample_artifact_id is None
    assert [(f["column"], f["rule"], f["severity"]) for f in row.findings] == [
        ("credit_amount", "dtype_changed", "error"), ("age", "null_rate", "warning")]
    assert row.prediction_profile == {} and row.input_profile["credit_amount"]["count"] == 5


def test_warn_policy_scores_with_a_warning_naming_the_findings(ctx, registered):
    X, _ = registered
    live = mlops.load_model("credit")
    live.validate = _validator(_finding("new_categories", column="purpose"))
    with pytest.warns(monitoring.ScoringWarning, match=r"purpose: new_categories \(purpose broke new_categories\); "
                      r"scored anyway \(policy scoring.on_invalid = 'warn'\)"):
        proba = live.predict_proba(X.head(3))
    assert proba.shape == (3, 2)
    live.flush()
    row = _batch(ctx, live.last_batch_id)
    assert row.status == "warned" and row.findings[0]["rule"] == "new_categories"


def test_refuse_policy_scores_a_batch_with_warnings_only_and_says_why(ctx, registered):
    X, _ = registered
    live = mlops.load_model("credit")
    live.validate, live.on_invalid = _validator(_finding("out_of_range", "warning", "age")), "refuse"
    with pytest.warns(monitoring.ScoringWarning, match=r"age: out_of_range \(age broke out_of_range\); scored anyway "
                      r"\(warnings only; policy scoring.on_invalid = 'refuse' refuses errors\)"):
        proba = live.predict_proba(X.head(3))
    assert proba.shape == (3, 2)
    live.flush()
    assert _batch(ctx, live.last_batch_id).status == "warned"


def test_policy_is_read_at_load_time(ctx, registered):
    from mlops_nb.services import governance
    from mlops_nb.services.identity.auth import OPERATOR

    assert mlops.load_model("credit").on_invalid == "warn"
    with session_scope(ctx.engine) as session:
        governance.change_policy(session=session, actor=OPERATOR, project_id=ctx.project_id, model="credit",
                                 rules={"scoring": {"on_invalid": "refuse"}})
    assert mlops.load_model("credit").on_invalid == "refuse"


def test_empty_batch_is_refused_under_either_policy(ctx, registered):
    X, _ = registered
    live = mlops.load_model("credit")
    with pytest.raises(mlops.ValidationFailed, match=r"refused the batch of 0 row\(s\).*the frame: empty_batch"):
        live.predict(X.head(0))
    row = _batch(ctx, live.last_batch_id)
    assert row.status == "refused" and row.rows == 0 and row.findings[0]["rule"] == "empty_batch"


def test_an_estimator_failure_is_recorded_as_failed_and_named(ctx, registered):
    X, _ = registered
    live = mlops.load_model("credit")
    broken = X.head(4).astype({"credit_amount": str})
    broken["credit_amount"] = "lots"
    with pytest.raises(mlops.InvalidInput, match=r"model 'credit' v1 could not score batch [0-9a-f]{32} "
                       r"\(ValueError: .*lots") as err:
        live.predict_proba(broken)
    assert type(err.value) is mlops.InvalidInput and isinstance(err.value.__cause__, ValueError)
    live.flush()
    row = _batch(ctx, live.last_batch_id)
    assert row.status == "failed" and row.findings[-1]["rule"] == "scoring_error" and row.sample_artifact_id is None


def test_a_write_failure_warns_and_the_next_flush_raises(ctx, registered, monkeypatch):
    X, _ = registered
    live = mlops.load_model("credit")

    def no_disk(**kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(writer, "store_bytes", no_disk)
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        live.predict_proba(X.head(2))
        with pytest.raises(mlops.StoreUnavailable, match=r"an earlier scoring batch was not recorded: scoring batch "
                           r"[0-9a-f]{32} could not be recorded: OSError: .*No space left on device"):
            live.flush()
    assert any(issubclass(w.category, monitoring.BatchWriteWarning) for w in seen)
    live.flush()  # raised once; nothing pending
    monkeypatch.undo()
    live.predict_proba(X.head(2))
    live.flush()
    assert _batch(ctx, live.last_batch_id).status == "accepted"


def test_one_model_scored_from_several_threads(ctx, registered):
    X, _ = registered
    live = mlops.load_model("credit")
    last: dict[int, str] = {}
    errors: list[BaseException] = []

    def score(n):
        try:
            for _ in range(5):
                live.predict_proba(X.sample(7, random_state=n))
            last[n] = live.last_batch_id
        except BaseException as err:  # noqa: BLE001
            errors.append(err)

    threads = [threading.Thread(target=score, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    live.flush()
    assert len(set(last.values())) == 4  # each thread sees its own last batch
    table = mlops.batches("credit")
    assert len(table) == 20 and {r["status"] for r in table} == {"accepted"} and {r["rows"] for r in table} == {7}
    assert set(last.values()) <= {r["id"] for r in table}


def test_monitor_false_records_nothing(ctx, registered):
    X, _ = registered
    bare = mlops.load_model("credit", monitor=False)
    assert not bare.monitored and isinstance(bare, ScoringModel)
    before = _counts(ctx)
    assert bare.predict_proba(X.head(3)).shape == (3, 2)
    bare.flush()
    assert _counts(ctx) == before and bare.last_batch_id is None
    assert "monitored  no (monitor=False)" in repr(bare)


def test_the_sample_is_bounded(ctx, registered, monkeypatch):
    X, _ = registered
    monkeypatch.setattr(writer, "SAMPLE_ROWS", 10)
    monkeypatch.setattr(writer, "PREDICTION_ROWS", 30)
    live = mlops.load_model("credit")
    shuffled = X.sample(50, random_state=1)  # an index other than 0..n-1
    proba = live.predict_proba(shuffled)
    live.flush()
    with session_scope(ctx.engine) as session:
        sample = monitoring.read_sample(session=session, store=ctx.artifacts, batch_id=live.last_batch_id)
    assert len(sample) == 30 and int(sample["_sampled"].sum()) == 10
    assert np.allclose(sample["_proba_1"], proba[:30, 1])
    assert sample["_index"].tolist() == [str(i) for i in shuffled.index[:30]]
    kept = sample[sample["_sampled"]]
    assert kept["purpose"].tolist() == shuffled["purpose"].to_numpy()[kept["_row"]].tolist()
    assert kept["age_in_years"].tolist() == shuffled["age_in_years"].to_numpy()[kept["_row"]].tolist()
    assert sample.loc[~sample["_sampled"], "purpose"].isna().all()
    assert _batch(ctx, live.last_batch_id).rows == 50


def test_gates_load_without_recording(ctx, registered):
    from mlops_nb.services import governance
    from mlops_nb.store.models import ModelVersion

    with session_scope(ctx.engine) as session:
        row = session.execute(select(ModelVersion)).scalars().one()
        loaded = governance.registry_loader(session=session, store=ctx.artifacts)(row)
    assert type(loaded) is ScoringModel


def test_a_bare_array_as_wide_as_the_inputs_is_named_and_scored(ctx, registered):
    X, _ = registered
    live = mlops.load_model("credit")
    with pytest.raises(mlops.InvalidInput, match=r"scores a DataFrame, or a 2-D array of 20 columns .* got "
                       r"ndarray with 3 columns"):
        live.predict(np.zeros((2, 3)))
    assert live.predict_proba(X.head(2).to_numpy()).shape == (2, 2)


def test_batches_written_together_share_a_file_unless_their_types_clash(ctx, registered):
    X, _ = registered
    live = mlops.load_model("credit")
    proba = live.estimator.predict_proba(X.head(3))
    codes = X.head(2).assign(purpose=[1, 2])  # a column of numbers where the other batch has text

    def pending(frame, predictions):
        return live._pending(__import__("uuid").uuid4().hex, "predict_proba", "accepted", frame, predictions, 1.0, [])

    a, b, c = pending(X.head(3), proba), pending(X.iloc[[5]], proba[:1]), pending(codes, proba[:2])
    writer.write_group(engine=ctx.engine, store=ctx.artifacts, batches=[a, b])
    writer.write_group(engine=ctx.engine, store=ctx.artifacts, batches=[a.__class__(**{**vars(a), "id": "f" * 32}), c])
    with session_scope(ctx.engine) as session:
        rows = {x.id: session.get(ScoringBatch, x.id) for x in (a, b, c)}
        assert rows[a.id].sample_artifact_id == rows[b.id].sample_artifact_id  # one file for the group
        assert rows[c.id].sample_artifact_id != session.get(ScoringBatch, "f" * 32).sample_artifact_id
        first = monitoring.read_sample(session=session, store=ctx.artifacts, batch_id=a.id)
        second = monitoring.read_sample(session=session, store=ctx.artifacts, batch_id=b.id)
        clash = monitoring.read_sample(session=session, store=ctx.artifacts, batch_id=c.id)
    assert first["_row"].tolist() == [0, 1, 2] and np.allclose(first["_proba_1"], proba[:, 1])
    assert first["purpose"].tolist() == X.head(3)["purpose"].tolist()
    assert first["credit_amount"].tolist() == X.head(3)["credit_amount"].tolist()
    assert second["_index"].tolist() == ["5"] and second["age_in_years"].tolist() == [X.iloc[5]["age_in_years"]]
    assert clash["purpose"].tolist() == [1, 2]


def test_a_default_index_is_read_back_from_the_row_positions(ctx, registered, monkeypatch):
    import io

    import pyarrow.parquet as pq

    from mlops_nb.services.tracking.artifacts import read_verified
    from mlops_nb.store.models import Artifact

    X, _ = registered
    monkeypatch.setattr(writer, "SAMPLE_ROWS", 10)
    batch = X.sample(40, random_state=2).reset_index(drop=True)  # 0..39: the labels are the positions
    live = mlops.load_model("credit")
    proba = live.predict_proba(batch)
    live.flush()
    with session_scope(ctx.engine) as session:
        row = _batch(ctx, live.last_batch_id)
        stored = pq.read_table(io.BytesIO(read_verified(store=ctx.artifacts,
                                                        artifact=session.get(Artifact, row.sample_artifact_id))))
        sample = monitoring.read_sample(session=session, store=ctx.artifacts, batch_id=row.id)
    assert "_index" not in stored.column_names and stored.column("_sampled").to_pylist()[:10] == [True] * 10
    assert list(sample.columns[:3]) == ["_row", "_index", "_proba_0"]
    assert sample["_row"].tolist() == list(range(40)) and sample["_index"].tolist() == [str(i) for i in range(40)]
    assert np.allclose(sample["_proba_1"], proba[:, 1]) and int(sample["_sampled"].sum()) == 10
    kept = sample[sample["_sampled"]]
    assert kept["purpose"].tolist() == batch["purpose"].to_numpy()[kept["_row"]].tolist()


def test_a_column_mixing_numbers_and_text_costs_no_batch_its_record(ctx, registered):
    """pyarrow cannot type an object column holding 1 and 'own': that batch's sample keeps the column
    as text, and the batches written with it are recorded too (the whole group was lost before)."""
    X, _ = registered
    live = mlops.load_model("credit")
    proba = live.estimator.predict_proba(X.head(40))

    def pending(frame, predictions):
        return live._pending(__import__("uuid").uuid4().hex, "predict_proba", "warned", frame, predictions, 1.0, [])

    mixed = X.head(40).assign(housing=[1 if i % 2 else "own" for i in range(40)])
    tiny = X.head(1).assign(housing=[(1, 2)])  # a tuple among strings, in a one-row (records) batch
    batches = [pending(X.head(40), proba), pending(mixed, proba), pending(tiny, proba[:1])]
    writer.write_group(engine=ctx.engine, store=ctx.artifacts, batches=batches)
    with session_scope(ctx.engine) as session:
        assert all(session.get(ScoringBatch, b.id) is not None for b in batches)
        kept = monitoring.read_sample(session=session, store=ctx.artifacts, batch_id=batches[1].id)
    assert kept["housing"].tolist()[:2] == ["own", "1"]


def test_a_script_that_scores_and_exits_has_its_batch_written(ctx, registered, tmp_path):
    """The queue is written at interpreter exit; what writing imports is imported before then (a first
    import of pyarrow's pandas layer during shutdown fails, and the batch was lost)."""
    import os
    import subprocess
    import sys

    X, _ = registered
    X.head(30).to_csv(tmp_path / "applicants.csv", index=False)  # (reading Parquet would import pyarrow early)
    script = ("import pandas as pd, mlops_nb as mlops\n"
              f"mlops.init(project={ctx.project!r}, db_url={ctx.db_url!r}, user='serving')\n"
              f"mlops.load_model('credit').predict_proba(pd.read_csv({str(tmp_path / 'applicants.csv')!r}))\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=os.environ, timeout=120)
    assert done.returncode == 0 and "could not be recorded" not in done.stderr, done.stderr
    with session_scope(ctx.engine) as session:
        rows = session.execute(select(ScoringBatch.rows, ScoringBatch.created_by)).all()
    assert [tuple(r) for r in rows] == [(30, "serving")]
