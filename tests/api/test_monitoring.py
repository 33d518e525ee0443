"""Monitored scoring through the Python API: each bad input of issue 10 through load_model, the
warn and refuse policies, outcomes joined to predictions, the canary gate on recorded traffic."""
from __future__ import annotations

import warnings

import numpy as np
import pytest
from sqlalchemy import func, select

import mlops_nb as mlops
from mlops_nb.services import governance
from mlops_nb.services.identity.auth import OPERATOR
from mlops_nb.services.monitoring import ScoringWarning
from mlops_nb.store.db import session_scope
from tests.factories import fit_credit_model, register_credit_model


@pytest.fixture()
def registered(ctx, credit):
    X = register_credit_model(credit)
    return X.sample(200, random_state=3), (credit.creditability == "bad").astype(int), X


def _policy(ctx, on_invalid):
    with session_scope(ctx.engine) as session:
        governance.change_policy(session=session, actor=OPERATOR, project_id=ctx.project_id, model="credit",
                                 rules={"scoring": {"on_invalid": on_invalid}})


def _counts(ctx) -> dict[str, int]:
    from sqlmodel import SQLModel

    with session_scope(ctx.engine) as session:
        return {name: session.execute(select(func.count()).select_from(table)).scalar_one()
                for name, table in SQLModel.metadata.tables.items()}


def _last(live) -> tuple[str, list[tuple]]:
    table = mlops.batches("credit", limit=1)
    row = table.rows[0]
    assert row["id"] == live.last_batch_id
    return row["status"], [(f["column"], f["rule"], f["severity"]) for f in table.details[row["id"]]]


def _codes(B):
    out = B.copy()
    out["purpose"] = out["purpose"].astype("category").cat.codes
    return out


def _strings(B):
    return B.astype({"credit_amount": str})


def _unseen(B):
    out = B.copy()
    out.loc[out.index[:3], "purpose"] = "spaceship"
    return out


def _all_nan(B):
    return B.assign(credit_amount=np.nan)


def _inf(B):
    out = B.astype({"credit_amount": float})
    out.iloc[0, out.columns.get_loc("credit_amount")] = np.inf
    return out


REFUSED = {  # an error finding: under `refuse` the batch is recorded as refused and nothing is scored
    "missing column": (lambda B: B.drop(columns=["age_in_years"]), ("age_in_years", "missing_column", "error")),
    "categorical as integer codes": (_codes, ("purpose", "dtype_changed", "error")),
    "numeric as strings": (_strings, ("credit_amount", "dtype_changed", "error")),
    "unseen categories": (_unseen, ("purpose", "new_categories", "error")),
}


@pytest.mark.parametrize("case", list(REFUSED))
def test_error_findings_refuse_the_batch_and_change_nothing_else(ctx, registered, case):
    B, _, _ = registered
    make, finding = REFUSED[case]
    _policy(ctx, "refuse")
    live = mlops.load_model("credit")
    before = _counts(ctx)
    with pytest.raises(mlops.ValidationFailed, match=rf"refused the batch of 200 row\(s\).*{finding[0]}: {finding[1]}"):
        live.predict_proba(make(B))
    after = _counts(ctx)
    assert after.pop("scoring_batch") == before.pop("scoring_batch") + 1 and after == before
    status, findings = _last(live)
    assert status == "refused" and finding in findings


def test_a_categorical_as_codes_names_the_mapping(ctx, registered):
    B, _, _ = registered
    _policy(ctx, "refuse")
    live = mlops.load_model("credit")
    with pytest.raises(mlops.ValidationFailed) as err:
        live.predict_proba(_codes(B))
    found = [f for f in err.value.report.findings if f.rule == "dtype_changed"][0]
    assert found.column == "purpose" and "mapping" in found.details


@pytest.mark.parametrize(("case", "make", "expected"), [
    ("unseen categories", _unseen, ("purpose", "new_categories", "error")),
    ("numeric as strings", _strings, ("credit_amount", "dtype_changed", "error")),
    ("extra column", lambda B: B.assign(note="x"), ("note", "extra_column", "warning")),
])
def test_warn_policy_scores_and_records_the_findings(ctx, registered, case, make, expected):
    B, _, _ = registered
    live = mlops.load_model("credit")
    with pytest.warns(ScoringWarning, match=rf"{expected[0]}: {expected[1]}"):
        proba = live.predict_proba(make(B))
    assert proba.shape == (200, 2)
    status, findings = _last(live)
    assert status == "warned" and expected in findings


@pytest.mark.parametrize(("case", "make", "warning", "words"), [
    ("a column entirely NaN", _all_nan, ("credit_amount", "null_rate", "warning"), "Input X contains NaN"),
    ("inf values", _inf, ("credit_amount", "out_of_range", "warning"), "Input X contains infinity"),
])
@pytest.mark.parametrize("policy", ["warn", "refuse"])
def test_values_the_estimator_cannot_take_are_recorded_as_failed(ctx, registered, case, make, warning, words, policy):
    B, _, _ = registered
    _policy(ctx, policy)
    live = mlops.load_model("credit")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ScoringWarning)
        with pytest.raises(mlops.InvalidInput, match=rf"could not score batch [0-9a-f]{{32}} \(ValueError: {words}.*"
                           rf"validation found: {warning[0]}: {warning[1]}"):
            live.predict_proba(make(B))
    status, findings = _last(live)
    assert status == "failed" and findings[0] == warning and findings[-1] == (None, "scoring_error", "error")


def test_a_missing_column_under_warn_is_named_and_recorded_as_failed(ctx, registered):
    B, _, _ = registered
    live = mlops.load_model("credit")
    with pytest.warns(ScoringWarning), pytest.raises(mlops.InvalidInput, match="lacks 1 column.*: age_in_years"):
        live.predict(B.drop(columns=["age_in_years"]))
    status, findings = _last(live)
    assert status == "failed" and ("age_in_years", "missing_column", "error") in findings


def test_reordered_columns_and_a_single_row_are_accepted(ctx, registered):
    B, _, X = registered
    live = mlops.load_model("credit")
    with warnings.catch_warnings():
        warnings.simplefilter("error", ScoringWarning)
        reordered = live.predict_proba(B[list(reversed(B.columns))])
        assert _last(live) == ("accepted", [])
        one = live.predict_proba(X.iloc[[5]])
        assert _last(live) == ("accepted", [])
    assert np.allclose(reordered, live.estimator.predict_proba(B))
    assert one.shape == (1, 2)


def test_an_empty_frame_is_refused(ctx, registered):
    B, _, _ = registered
    live = mlops.load_model("credit")
    before = _counts(ctx)
    with pytest.raises(mlops.ValidationFailed, match="the batch has no rows"):
        live.predict_proba(B.head(0))
    assert _last(live) == ("refused", [(None, "empty_batch", "error")])
    assert _counts(ctx)["scoring_batch"] == before["scoring_batch"] + 1


def test_outcomes_joined_to_predictions_give_realised_metrics(ctx, registered):
    from sklearn.metrics import roc_auc_score

    _, y, X = registered
    live = mlops.load_model("credit")
    proba = live.predict_proba(X)
    outcome = mlops.log_outcomes("credit", predictions_id=live.last_batch_id, outcomes=y.to_numpy(),
                                 metrics={"default_rate": 0.07})
    assert outcome.rows == 1000 and outcome.batch == live.last_batch_id and outcome.version == 1
    assert outcome.metrics["roc_auc"] == pytest.approx(roc_auc_score(y, proba[:, 1]))
    assert outcome.metrics["brier"] == pytest.approx(np.mean((proba[:, 1] - y) ** 2))
    assert outcome.metrics["positive_rate"] == pytest.approx(y.mean())
    assert outcome.metrics["mean_predicted"] == pytest.approx(proba[:, 1].mean())
    assert outcome.metrics["accuracy"] == pytest.approx(((proba[:, 1] > 0.5) == y).mean())
    assert outcome.business == {"default_rate": 0.07}
    with pytest.raises(mlops.Conflict, match=f"outcomes of scoring batch {live.last_batch_id} were already logged"):
        mlops.log_outcomes("credit", predictions_id=live.last_batch_id, outcomes=y.to_numpy())  # counted once
    frame = mlops.outcomes("credit").to_frame()
    assert len(frame) == 1
    assert frame.loc[0, "business.default_rate"] == 0.07 and frame.loc[0, "metrics.roc_auc"] == outcome.metrics["roc_auc"]


def test_outcomes_join_on_the_scored_frame_index_and_skip_unknown_ones(ctx, registered):
    B, y, _ = registered
    live = mlops.load_model("credit")
    proba = live.predict_proba(B)
    truth = y.loc[B.index].astype(float)
    truth.iloc[:50] = np.nan  # not known yet
    shuffled = truth.sample(frac=1.0, random_state=0)  # another order: joined by label
    outcome = mlops.log_outcomes("credit", predictions_id=live.last_batch_id, outcomes=shuffled)
    assert outcome.rows == 150
    assert outcome.metrics["positive_rate"] == pytest.approx(truth.iloc[50:].mean())
    assert outcome.metrics["mean_predicted"] == pytest.approx(proba[50:, 1].mean())


def test_outcomes_refusals(ctx, registered):
    B, y, _ = registered
    live = mlops.load_model("credit")
    live.predict_proba(B)
    batch = live.last_batch_id
    live.flush()
    before = _counts(ctx)
    with pytest.raises(mlops.NotFound, match="no scoring batch 'nope'"):
        mlops.log_outcomes("credit", predictions_id="nope", outcomes=[1])
    with pytest.raises(mlops.InvalidInput, match=f"batch {batch} scored 200 rows; got 3 outcomes"):
        mlops.log_outcomes("credit", predictions_id=batch, outcomes=[0, 1, 0])
    with pytest.raises(mlops.InvalidInput, match="business metric 'default_rate' must be a finite number, got 'high'"):
        mlops.log_outcomes("credit", predictions_id=batch, outcomes=y.loc[B.index].to_numpy(),
                           metrics={"default_rate": "high"})
    with pytest.raises(mlops.InvalidInput, match="business metric 'loss' must be a finite number, got nan"):
        mlops.log_outcomes("credit", metrics={"loss": float("nan")}, version=1)
    with pytest.raises(mlops.InvalidInput, match="outcomes hold 7, not among the model's classes 0, 1"):
        mlops.log_outcomes("credit", predictions_id=batch, outcomes=[7] * 200)
    with pytest.raises(mlops.NotFound, match="model 'credit' has no version in production"):
        mlops.log_outcomes("credit", metrics={"default_rate": 0.07})
    with pytest.raises(mlops.ValidationFailed):
        live.predict_proba(B.head(0))
    with pytest.raises(mlops.InvalidInput, match=f"scoring batch {live.last_batch_id} was refused: it has no "
                       "predictions to join"):
        mlops.log_outcomes("credit", predictions_id=live.last_batch_id, outcomes=[])
    after = _counts(ctx)
    assert after.pop("scoring_batch") == before.pop("scoring_batch") + 1 and after == before  # no outcome row


def test_business_metrics_of_the_production_version(ctx, registered):
    from mlops_nb.services import registry
    from tests.factories import move_stage

    with session_scope(ctx.engine) as session:
        row = registry.get_version_row(session=session, model_id=1, version=1)
        move_stage(session, row, "production")
    outcome = mlops.log_outcomes("credit", metrics={"default_rate": 0.065})
    assert (outcome.version, outcome.batch, outcome.rows, outcome.metrics) == (1, None, 0, {})
    assert "business default_rate" in repr(outcome)


def test_monitor_false_records_nothing(ctx, registered):
    B, _, _ = registered
    bare = mlops.load_model("credit", monitor=False)
    bare.predict_proba(B)
    assert len(mlops.batches("credit")) == 0
    for flags in ({"monitor": "no"}, {"run_stored_features": 1}):  # "no" is truthy: refused, not read as True
        with pytest.raises(mlops.InvalidInput, match="must be True or False"):
            mlops.load_model("credit", **flags)


def test_the_canary_gate_reads_staging_traffic(ctx, registered):
    from mlops_nb.services import registry
    from mlops_nb.services.governance.policies import EffectivePolicy
    from tests.factories import move_stage

    B, _, _ = registered
    policy = EffectivePolicy(governance.merge(governance.DEFAULT_RULES, {"canary": {"min_rows": 100}}), "test")

    def canary():
        with session_scope(ctx.engine) as session:
            row = registry.get_version_row(session=session, model_id=1, version=1)
            results = governance.evaluate(session=session, version=row, target_stage="production", policy=policy)
            return [r for r in results if r.name == "canary"][0]

    before = mlops.load_model("credit")
    before.predict_proba(B)  # in stage none: not a canary
    before.flush()
    assert not canary().passed and canary().data["batches"] == 0
    with session_scope(ctx.engine) as session:
        move_stage(session, registry.get_version_row(session=session, model_id=1, version=1), "staging")
    live = mlops.load_model("credit", stage="staging")
    live.predict_proba(B.head(60))
    live.flush()
    assert not canary().passed
    live.predict_proba(B.head(60))
    live.flush()
    result = canary()
    assert result.passed and result.data["batches"] == 2 and result.data["rows"] == 120


def test_batches_table_shows_and_escapes(ctx, registered):
    B, _, _ = registered
    live = mlops.load_model("credit")
    with pytest.warns(ScoringWarning):
        live.predict_proba(B.assign(**{"<b>x</b>": 1}))
    table = mlops.batches("credit")
    html = table._repr_mimebundle_()["text/html"]
    assert "<table" in html and "warned" in html
    frame = table.to_frame()
    assert frame.loc[0, "status"] == "warned" and frame.loc[0, "findings"] == 1 and frame.loc[0, "rows"] == 200
    with pytest.raises(mlops.InvalidInput, match="limit must be a whole number from 1 to 1000, got 0"):
        mlops.batches("credit", limit=0)
    with pytest.raises(mlops.NotFound):
        mlops.batches("nope")


def test_a_frame_validation_cannot_read_is_refused_and_recorded(ctx, registered):
    B, _, _ = registered
    live = mlops.load_model("credit")
    doubled = B.rename(columns={"purpose": "age_in_years"})  # two columns named age_in_years
    with pytest.raises(mlops.ValidationFailed, match="the frame: invalid_frame .*duplicate column names: age_in_years"):
        live.predict_proba(doubled)
    status, findings = _last(live)
    assert status == "refused" and findings == [(None, "invalid_frame", "error")]


def test_a_feature_replacing_an_input_under_its_own_name_scores_raw_batches(ctx, credit):
    """log(credit_amount) kept as credit_amount: every raw batch carries the column raw, so it is
    validated as an input and replaced, not compared as a served feature (each batch was a
    feature_skew error, and an extra_column, before)."""
    @mlops.feature("credit_amount")
    def log_amount(df):
        return np.log(df["credit_amount"])

    with mlops.start_run(experiment="credit"):
        mlops.log_dataset(credit, name="german")
        logged = credit.assign(credit_amount=log_amount(credit))
        pipe, X = fit_credit_model(logged)
        mlops.register_model(pipe, name="credit", dataset="german", target="creditability")
    _policy(ctx, "refuse")
    raw = credit.drop(columns="creditability").sample(100, random_state=1)
    live = mlops.load_model("credit")
    proba = live.predict_proba(raw)
    assert np.allclose(proba, pipe.predict_proba(raw.assign(credit_amount=np.log(raw["credit_amount"]))))
    assert _last(live) == ("accepted", [])


def test_backfilled_batches_and_outcomes_carry_the_time_they_stand_for(ctx, registered):
    """Replaying history: batches scored inside `recorded_at` and outcomes logged with it are dated
    then (drift and latency over time fall in their months); a bad or future time is refused."""
    import datetime as dt

    _, y, X = registered
    live = mlops.load_model("credit")
    with live.recorded_at("2024-05-31"):
        live.predict_proba(X.head(50))
    may = live.last_batch_id
    live.predict_proba(X.head(10))
    live.flush()
    rows = {row["id"]: row["created_at"] for row in mlops.batches("credit").rows}
    assert rows[may] == dt.datetime(2024, 5, 31, tzinfo=dt.UTC).timestamp()
    assert rows[live.last_batch_id] > dt.datetime(2026, 1, 1, tzinfo=dt.UTC).timestamp()
    outcome = mlops.log_outcomes("credit", predictions_id=may, outcomes=y.head(50).to_numpy(),
                                 recorded_at=dt.date(2024, 8, 31))
    assert outcome.created_at == dt.datetime(2024, 8, 31, tzinfo=dt.UTC).timestamp()
    for bad, words in (("last May", "not an ISO 8601"), ("2999-01-01", "lies in the future"), (True, "got a bool")):
        with pytest.raises(mlops.InvalidInput, match=words), live.recorded_at(bad):
            pass
    with pytest.raises(mlops.InvalidInput, match="recorded_at"):
        mlops.log_outcomes("credit", metrics={"default_rate": 0.1}, version=1, recorded_at=float("nan"))
    assert len(mlops.outcomes("credit").rows) == 1


def test_outcomes_join_a_batch_scored_under_an_earlier_init_of_the_store(ctx, registered):
    """Switching user (a new init) makes a new engine and writer; the batch its model queued is
    flushed before the join, whichever init scored it."""
    _, y, X = registered
    live = mlops.load_model("credit")
    live.predict_proba(X.head(30))
    mlops.init(project="test", db_url=ctx.db_url, user="omar", artifact_root=ctx.artifacts.root)
    outcome = mlops.log_outcomes("credit", predictions_id=live.last_batch_id, outcomes=y.head(30).to_numpy())
    assert outcome.rows == 30
