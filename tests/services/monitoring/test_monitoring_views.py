"""The Monitoring page's reads: which models are watched, a model's drift reports and column verdicts
over time, a report's columns drifted first, scoring summed per UTC day, the latency SLA its rules
set, its outcomes and retraining runs; bad input named. On SQLite and PostgreSQL (the `ctx` store)."""
from __future__ import annotations

import datetime as dt
import time

import numpy as np
import pytest
from sqlalchemy import func, select

from mlops_nb.services.errors import InvalidInput, NotFound
from mlops_nb.services.monitoring import monitoring_views as mv
from mlops_nb.store.db import session_scope
from mlops_nb.store.models import ScoringBatch
from mlops_nb.store.models.alerts import AlertRule
from tests import factories, monitoring_story

DAY = 86_400


@pytest.fixture()
def story(ctx, credit):
    """The monitoring story (tests/monitoring_story.py): four accepted batches, a warned and a refused
    one; the newest three today, the older ones a day apart before."""
    return monitoring_story.build(credit, spread_days=4)


def test_production_versions_come_first_then_staging_and_nothing_else(session):
    pid = factories.project(session, "watch")
    zeta, alpha = factories.model(session, pid, "zeta"), factories.model(session, pid, "alpha")
    factories.version(session, zeta, stage="production")
    factories.version(session, alpha, stage="staging")
    factories.version(session, alpha, stage="none")
    factories.version(session, alpha, stage="production")
    found = mv.monitored_models(session=session, project_id=pid)
    assert [(m["model"], m["version"], m["stage"]) for m in found] == [
        ("alpha", 3, "production"), ("zeta", 1, "production"), ("alpha", 1, "staging")]
    assert mv.monitored_models(session=session, project_id=factories.project(session, "empty")) == []


def test_the_drift_timeline_is_oldest_first_with_each_columns_verdict(ctx, story):
    with session_scope(ctx.engine) as s:
        timeline = mv.drift_timeline(session=s, project_id=ctx.project_id, model="credit-risk")
        newest_two = mv.drift_timeline(session=s, project_id=ctx.project_id, model="credit-risk", limit=2)
    reports = timeline["reports"]
    assert [r["id"] for r in reports] == story["reports"]
    assert [r["share"] for r in reports] == [0.0, 0.0, 0.0, 0.4, 0.4, 0.6]
    assert [r["dataset_drift"] for r in reports] == [False] * 5 + [True]
    assert reports[-1]["at"] == reports[-1]["window_end"] and reports[-1]["version"] == 1
    assert [r["id"] for r in newest_two["reports"]] == story["reports"][-2:]
    last = [c for c in timeline["columns"] if c["report_id"] == story["reports"][-1]]
    assert {c["column"] for c in last if c["drift"]} == {"credit_amount", "duration_in_month", "purpose"}
    assert len(timeline["columns"]) == 6 * 5 and [c["at"] for c in timeline["columns"]] == sorted(
        c["at"] for c in timeline["columns"])


def test_a_reports_columns_come_drifted_first_with_their_distributions(ctx, story):
    with session_scope(ctx.engine) as s:
        columns = mv.drift_columns(session=s, project_id=ctx.project_id, report_id=story["reports"][-1])
        with pytest.raises(NotFound, match=f"drift report {story['reports'][-1]} does not exist in this project"):
            mv.drift_columns(session=s, project_id=ctx.project_id + 1, report_id=story["reports"][-1])
    assert [(c["column"], c["drift"]) for c in columns] == [
        ("credit_amount", True), ("duration_in_month", True), ("purpose", True), ("age_in_years", False),
        ("housing", False)]
    assert columns[0]["distribution"]["kind"] == "bins" and columns[2]["distribution"]["kind"] == "categories"


def test_scoring_is_summed_per_utc_day_with_rows_weighted_predictions_and_refused_batches_counted(ctx, story):
    with session_scope(ctx.engine) as s:
        days = mv.scoring_days(session=s, project_id=ctx.project_id, model="credit-risk", since=time.time() - 10 * DAY)
        recent = mv.scoring_days(session=s, project_id=ctx.project_id, model="credit-risk",
                                 since=time.time() - 10 * DAY, limit=1)
        batches = s.execute(select(ScoringBatch).where(ScoringBatch.id.in_(story["batches"]))).scalars().all()
        expected = {}
        for b in batches:
            day = dt.datetime.fromtimestamp(b.created_at, dt.UTC).strftime("%Y-%m-%d")
            expected.setdefault(day, []).append(b)
    assert [d["day"] for d in days] == sorted(expected)
    assert sum(d["batches"] for d in days) == 6 and sum(d["rows"] for d in days) == 4 * 200 + 50 + 20
    assert [sum(d[s] for d in days) for s in ("accepted", "warned", "refused", "failed")] == [4, 1, 1, 0]
    assert days[-1]["batches"] == 3 and days[-1]["refused"] == 1
    for d in days:
        found = [b for b in expected[d["day"]] if b.status != "refused"]
        rows = sum(b.prediction_profile["rows"] for b in found)
        assert sum(d["histogram"]) == rows
        assert d["mean_prediction"] == pytest.approx(sum(b.prediction_profile["mean"] * b.prediction_profile["rows"]
                                                         for b in found) / rows)
        latencies = [b.latency_ms for b in found]
        assert d["latency_p95_ms"] == pytest.approx(float(np.percentile(latencies, 95)))
    assert len(recent) == 1 and recent[0]["day"] == days[-1]["day"] and recent[0]["batches"] == 1
    assert recent[0]["refused"] == 1 and recent[0]["histogram"] == [] and recent[0]["latency_p50_ms"] is None


def test_the_latency_sla_is_the_strictest_enabled_p95_rule_of_the_model_or_project(ctx, story):
    with session_scope(ctx.engine) as s:
        assert mv.latency_sla(session=s, project_id=ctx.project_id, model="credit-risk") == 250.0
        for name, params, enabled in (("looser", {"sla_ms": 400}, True), ("off", {"sla_ms": 10}, False),
                                      ("project", {"sla_ms": 120}, True)):
            s.add(AlertRule(project_id=ctx.project_id, name=name, kind="latency_p95", params=params, enabled=enabled,
                            created_by="eli", created_at=time.time()))
        s.flush()
        assert mv.latency_sla(session=s, project_id=ctx.project_id, model="credit-risk") == 120.0
        rules = mv.alert_rules(session=s, project_id=ctx.project_id, model="credit-risk")
    assert [r["name"] for r in rules] == ["drift share", "latency SLA", "looser", "off", "project"]
    assert rules[0]["actions"] == ["retrain"] and rules[0]["scope"] == "every production model"


def test_outcomes_oldest_first_and_retraining_runs_newest_first(ctx, story):
    with session_scope(ctx.engine) as s:
        outcomes = mv.outcome_timeline(session=s, project_id=ctx.project_id, model="credit-risk")
        runs = mv.retraining_history(session=s, project_id=ctx.project_id, model="credit-risk")
    assert [o["business"]["default_rate"] for o in outcomes] == [0.065, 0.09]
    assert [o["batch_id"] for o in outcomes] == story["batches"][:2]
    assert {"mean_predicted", "roc_auc"} <= set(outcomes[0]["metrics"])
    assert [(r["status"], r["trigger"]) for r in runs] == [("succeeded", "drift share"), ("failed", "manual")]
    assert (runs[0]["run_id"], runs[0]["request_id"], runs[0]["model_version"]) == (
        story["run_id"], story["request_id"], 2)


def test_bad_input_is_named_and_an_unknown_model_is_not_found(ctx, story):
    with session_scope(ctx.engine) as s:
        with pytest.raises(InvalidInput, match="limit must be at least 1"):
            mv.drift_timeline(session=s, project_id=ctx.project_id, model="credit-risk", limit=0)
        with pytest.raises(InvalidInput, match=r"the window's end \(5\.0\) must be after its start \(10\.0\)"):
            mv.scoring_days(session=s, project_id=ctx.project_id, model="credit-risk", since=10.0, until=5.0)
        for read in (mv.drift_timeline, mv.outcome_timeline, mv.retraining_history, mv.alert_rules, mv.latency_sla):
            with pytest.raises(NotFound, match="nope"):
                read(session=s, project_id=ctx.project_id, model="nope")


def test_class_predictions_are_summed_per_class(ctx, registered):
    import mlops_nb as mlops

    X, _ = registered
    live = mlops.load_model("credit")
    first, second = live.predict(X.head(300)), live.predict(X.tail(200))
    live.flush()
    with session_scope(ctx.engine) as s:
        [day] = mv.scoring_days(session=s, project_id=ctx.project_id, model="credit", since=time.time() - DAY)
    expected = {str(c): int((first == c).sum() + (second == c).sum()) for c in (0, 1)}
    assert day["class_counts"] == {k: v for k, v in expected.items() if v}
    assert day["histogram"] == [] and day["mean_prediction"] is None and day["batches"] == 2


def test_the_scoring_window_ends_at_the_newest_batch(ctx, story):
    """History replayed with recorded_at (the demo's 2024) still shows: the page's window ends at the
    model's newest batch, not at today."""
    with session_scope(ctx.engine) as s:
        newest = mv.latest_batch_at(session=s, project_id=ctx.project_id, model="credit-risk")
        newest_batch = s.execute(select(func.max(ScoringBatch.created_at))).scalar()
        assert newest == newest_batch
        with pytest.raises(NotFound):
            mv.latest_batch_at(session=s, project_id=ctx.project_id, model="no-such-model")
