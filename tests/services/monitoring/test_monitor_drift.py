"""`run_monitor` on a real model scored through `mlops.load_model`: the window's drift computed with
evidently's rules (Part B's window_drift), drifted columns named in one alert each, once."""
from __future__ import annotations

import pytest

import mlops_nb as mlops
from mlops_nb.services import identity
from mlops_nb.services.monitoring import monitor, rules
from mlops_nb.store.db import session_scope
from mlops_nb.store.models import DriftRecord

pytestmark = pytest.mark.filterwarnings("ignore::mlops_nb.services.monitoring.scoring.ScoringWarning")



def _score_shifted(X, batches=3):
    """The economy shifts: loan amounts triple and durations double in every batch."""
    live = mlops.load_model("credit", stage="production")
    for seed in range(batches):
        batch = X.sample(300, replace=True, random_state=seed).reset_index(drop=True)
        batch["credit_amount"] = batch["credit_amount"] * 3
        batch["duration_in_month"] = batch["duration_in_month"] * 2
        live.predict_proba(batch)


def _run(ctx):
    mlops.get_context()  # the API's context: its queued batches are written first
    from mlops_nb.services import monitoring

    monitoring.writer_for(ctx.engine, ctx.artifacts).flush()
    return monitor.run_monitor(engine=ctx.engine, store=ctx.artifacts, project_id=ctx.project_id,
                               actor=identity.OPERATOR)


def test_drifted_columns_fire_once_each_with_the_report_as_evidence(ctx, production):
    with session_scope(ctx.engine) as session:
        rules.add_rule(session=session, project_id=ctx.project_id, actor=identity.OPERATOR, name="feature drift",
                       kind="feature_drift", severity="critical")
        rules.add_rule(session=session, project_id=ctx.project_id, actor=identity.OPERATOR, name="amount",
                       kind="feature_drift", params={"column": "credit_amount"})
        rules.add_rule(session=session, project_id=ctx.project_id, actor=identity.OPERATOR, name="share",
                       kind="drift_share", params={"threshold": 0.05})
    _score_shifted(production)
    result = _run(ctx)
    [report] = result.reports
    assert report.batches == 3 and {"credit_amount", "duration_in_month"} <= set(report.drifted_columns)
    by_rule = {}
    for alert in result.alerts:
        by_rule.setdefault(alert.rule, []).append(alert)
    assert {a.column for a in by_rule["feature drift"]} == set(report.drifted_columns)
    assert [a.column for a in by_rule["amount"]] == ["credit_amount"]
    [share] = by_rule["share"]
    assert share.evidence["drift_report_id"] == report.id and share.evidence["batches"] == 3
    assert any(line.startswith("critical: credit v1 column 'credit_amount' [rule 'feature drift'] column "
                               "'credit_amount' drifted") for line in result.lines)
    with session_scope(ctx.engine) as session:
        stored = session.get(DriftRecord, report.id)
        assert (stored.trigger, stored.batches) == ("monitor", 3)
    again = _run(ctx)
    assert again.alerts == [] and again.reports == [] and again.lines == []


def test_with_no_rules_dataset_drift_of_the_window_is_the_default(ctx, production):
    _score_shifted(production, batches=2)
    result = _run(ctx)
    [report] = result.reports
    fired = [a for a in result.alerts if a.rule == "dataset drift (default)"]
    assert bool(fired) == report.dataset_drift
    assert all("credit v1" in line for line in result.lines)
