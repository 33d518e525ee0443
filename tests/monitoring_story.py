"""A production model's monitoring evidence, for the Monitoring page's tests, browser check and screenshots.

Through the public API and the services that exist on main: model `credit-risk` v1 (German Credit,
registered from a run) moved to production, scored in batches by `mlops.load_model(...,
stage="production")` (accepted and warned), outcomes and a business metric logged for a batch,
alerts fired by `alerts.fire_alert` (one whose column name is markup), alert rules added by
`rules.add_rule`, v2 registered with a promotion request waiting. Written as table rows directly: a
year-like history of drift reports that drifts (window_drift finds no drift in these batches, which
come from the training data; the tests add one of its reports beside them), and two retraining runs
(a real one runs a notebook in a kernel for ~15 s: tests/services/monitoring/test_retraining.py and
the monitoring notebook run real ones).

Call `build(credit)` after `mlops.init(...)` as a user who may log data (a data scientist).
"""
from __future__ import annotations

import time
import warnings
from typing import Any

import pandas as pd

DAY = 86_400
XSS = "<img src=x onerror=alert(1)>"
COLUMNS = ("credit_amount", "age_in_years", "duration_in_month", "purpose", "housing")
DRIFTING = ("credit_amount", "duration_in_month")  # drift from the fourth report on


def _distribution(column: str, shift: float) -> dict[str, Any]:
    if column in ("purpose", "housing"):
        labels = ["radio/tv", "new car", "furniture", "other"] if column == "purpose" else ["own", "rent", "free"]
        reference = [1 / len(labels)] * len(labels)
        current = [max(0.0, r + (shift if i == 0 else -shift / (len(labels) - 1))) for i, r in enumerate(reference)]
        return {"kind": "categories", "labels": labels, "reference": reference, "current": current}
    edges = [0.0, 2000.0, 4000.0, 6000.0, 8000.0, 20000.0]
    reference = [0.3, 0.3, 0.2, 0.1, 0.1]
    current = [max(0.0, r - shift) for r in reference[:2]] + [r + shift * 2 / 3 for r in reference[2:]]
    return {"kind": "bins", "edges": edges, "reference": reference, "current": current}


def drift_reports(session: Any, project_id: int, version_id: int, dataset_id: int | None, *, count: int = 6,
                  now: float | None = None) -> list[int]:
    """`count` daily drift reports of a model version over windows of batches, the newest ending at
    `now`: no drift at first, then DRIFTING drift (the share crosses 0.5 in the last). Rows as Part
    B's window_drift stores them. Returns their ids, oldest first."""
    from mlops_nb.store.models.monitoring import DriftColumn, DriftRecord

    now = now or time.time()
    ids = []
    for i in range(count):
        end = now - (count - 1 - i) * DAY - 600  # made a minute after its window closed, before now
        late = i >= count - 3
        drifted = [c for c in COLUMNS if late and (c in DRIFTING or (i == count - 1 and c == "purpose"))]
        report = DriftRecord(project_id=project_id, model_version_id=version_id,
                             reference_dataset_version_id=dataset_id, reference="dataset german v1",
                             current=f"{12 + i} batches", window_start=end - DAY, window_end=end, batches=12 + i,
                             reference_rows=1000, current_rows=400 + 10 * i, tested=len(COLUMNS),
                             drifted=len(drifted), share=len(drifted) / len(COLUMNS), drift_share=0.5,
                             dataset_drift=len(drifted) / len(COLUMNS) >= 0.5, prediction_drift=late,
                             findings=[{"column": "telephone", "rule": "constant_column", "severity": "warning",
                                        "message": "telephone has one value in the current data: not tested",
                                        "examples": [], "details": {}}] if late else [],
                             trigger="monitor", created_by="monitor", created_at=end + 60)
        session.add(report)
        session.flush()
        for column in COLUMNS:
            numeric = column not in ("purpose", "housing")
            drift = column in drifted
            session.add(DriftColumn(
                report_id=report.id, column=column, role="feature", type="numerical" if numeric else "categorical",
                test="K-S p_value" if numeric else "chi-square p_value", statistic=0.001 if drift else 0.42,
                threshold=0.05, drift=drift, reference_rows=1000, current_rows=400 + 10 * i,
                distribution=_distribution(column, 0.15 if drift else 0.01)))
        ids.append(report.id)
    session.flush()
    return ids


def build(credit: pd.DataFrame, *, model: str = "credit-risk", spread_days: int = 0) -> dict[str, Any]:
    """The model and its evidence in the initialised store: {"batches": [batch ids, oldest first:
    max(3, spread_days) accepted of 200 rows, one warned of 50, one refused of 20], outcomes of the
    oldest max(2, spread_days - 3) accepted batches, their default_rate from 0.065 up to 0.09, "reports": [drift
    report ids], "alerts": {"drift": id, "xss": id}, "request_id", "run_id"}. `spread_days` > 0 moves
    the batches' times back (the newest three today, the others one a day before), as a model scored
    daily would have them; the rows are otherwise as the scorer wrote them."""
    from sqlalchemy import select

    import mlops_nb as mlops
    from mlops_nb.api.context import current
    from mlops_nb.services import governance
    from mlops_nb.services.identity.auth import OPERATOR
    from mlops_nb.services.monitoring import alerts, rules
    from mlops_nb.store.db import session_scope
    from mlops_nb.store.models import ModelVersion, Outcome, RegisteredModel, ScoringBatch
    from mlops_nb.store.models.alerts import RetrainingRun
    from tests import factories
    from tests.factories import register_credit_model

    X = register_credit_model(credit, name=model)
    ctx = current()
    with session_scope(ctx.engine) as s:
        model_id = s.execute(select(RegisteredModel.id).where(RegisteredModel.name == model)).scalar_one()
        v1 = s.execute(select(ModelVersion).where(ModelVersion.model_id == model_id)).scalar_one()
        factories.move_stage(s, v1, "staging")
        factories.move_stage(s, v1, "production")
        v1_id, dataset_id = v1.id, v1.dataset_version_id
    live = mlops.load_model(model, stage="production")
    batches = []
    for seed in range(max(3, spread_days)):
        live.predict_proba(X.sample(200, random_state=seed))
        batches.append(live.last_batch_id)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        live.predict_proba(X.head(50).assign(age_in_years=150))  # out of range: warned
    batches.append(live.last_batch_id)
    live.flush()
    with session_scope(ctx.engine) as s:
        governance.change_policy(session=s, actor=OPERATOR, project_id=ctx.project_id, model=model,
                                 rules={"scoring": {"on_invalid": "refuse"}})
    strict = mlops.load_model(model, stage="production")
    try:
        strict.predict_proba(X.head(20).drop(columns="purpose"))  # a column missing: refused, not scored
    except mlops.ValidationFailed:
        pass
    batches.append(strict.last_batch_id)
    strict.flush()
    y = (credit.creditability == "bad").astype(int)
    outcomes = []  # the truth of the older accepted batches, the default rate creeping up
    count = max(2, spread_days - 3)
    for seed in range(count):
        logged = mlops.log_outcomes(model, predictions_id=batches[seed],
                                    outcomes=y.loc[X.sample(200, random_state=seed).index],
                                    metrics={"default_rate": round(0.065 + 0.025 * seed / (count - 1), 4)})
        outcomes.append(logged.id)
    register_credit_model(credit, name=model)  # v2, as a retraining run would register it
    now = time.time()
    with session_scope(ctx.engine) as s:
        if spread_days:  # the newest three (refused, warned, accepted) today, the others a day apart before
            for age, batch_id in enumerate(reversed(batches)):
                s.get(ScoringBatch, batch_id).created_at = now - max(0, age - 2) * DAY - age
            for outcome_id, batch_id in zip(outcomes, batches):  # each logged an hour after its batch
                s.get(Outcome, outcome_id).created_at = s.get(ScoringBatch, batch_id).created_at + 3600
        v2 = s.execute(select(ModelVersion).where(ModelVersion.model_id == model_id,
                                                  ModelVersion.version == 2)).scalar_one()
        dana = factories.proven(s, "dana")
        request = governance.request_promotion(session=s, actor=dana, project_id=ctx.project_id, model=model,
                                               version=2, to="staging", reason="retrained on the last quarter")
        reports = drift_reports(s, ctx.project_id, v1_id, dataset_id, now=now)
        rules.add_rule(session=s, project_id=ctx.project_id, actor=OPERATOR, name="latency SLA",
                       kind="latency_p95", model=model, severity="warning", params={"sla_ms": 250})
        rules.add_rule(session=s, project_id=ctx.project_id, actor=OPERATOR, name="drift share",
                       kind="drift_share", severity="critical", params={"threshold": 0.5}, actions=[{"type": "retrain"}])
        drift = alerts.fire_alert(session=s, project_id=ctx.project_id, rule="drift share", kind="drift_share",
                                  model_version_id=v1_id, severity="critical",
                                  message=f"{model} v1: 60% of columns drifted (credit_amount, duration_in_month, "
                                          "purpose)", evidence={"drift_report_id": reports[-1]},
                                  fingerprint=alerts.fingerprint_of("drift share", v1_id, reports[-1]))
        xss = alerts.fire_alert(session=s, project_id=ctx.project_id, rule="feature drift", kind="feature_drift",
                                model_version_id=v1_id, severity="warning", column=XSS,
                                message=f"{model} v1: column {XSS} drifted", evidence={"drift_report_id": reports[-2]},
                                fingerprint=alerts.fingerprint_of("feature drift", v1_id, XSS))
        assert drift is not None and xss is not None
        s.add(RetrainingRun(model_id=model_id, trigger="manual", status="failed", error="cell 4: KeyError 'income'",
                            started_by="eli", started_at=now - 2 * DAY, finished_at=now - 2 * DAY + 40))
        s.add(RetrainingRun(model_id=model_id, alert_id=drift.id, trigger="drift share", status="succeeded",
                            run_id=v2.run_id, model_version=2, request_id=request.id, started_by="monitor",
                            started_at=now - 600, finished_at=now - 480))
    return {"batches": batches, "reports": reports, "alerts": {"drift": drift.id, "xss": xss.id},
            "request_id": request.id, "run_id": v2.run_id}
