"""The console's Monitoring page on a model with a year of monitoring, its reads beside the reads they sit beside.

A store with one production model (registered through the API) and, inserted in bulk, BENCH_N scoring
batches over the last 365 days (default 20,000: SUMMARY_BATCHES, the most a window reads; one every
26 minutes), 365 daily drift reports of 30 columns each (10,950 column verdicts with their
distributions), 365 outcomes, 300 alerts, 10 rules and 50 retraining runs. Each read is timed warm
(median of BENCH_REPEAT, default 5):

- scoring_days over 365 days (every batch's status, latency and prediction profile read and summed
  per day in Python) beside version_summaries (the Data page's per-version summary of the same
  batches: what a user reads there instead) and beside a SQL GROUP BY count of them (the floor: no
  percentiles, no distributions);
- drift_timeline (365 reports and their 10,950 verdicts) beside reading the report rows alone (the
  floor of a drift-share chart without the per-column heatmap);
- drift_columns of the newest report, outcome_timeline, alert_rules + latency_sla, retraining_history,
  alerts.list_alerts (the page's other reads);
- the whole page rendered in AppTest (benchmarks/console_apptest.py in its own process: the first
  render with empty caches, then the median of BENCH_REPEAT).

    PYTHONPATH=. .venv/bin/python benchmarks/bench_monitoring_page.py
"""
from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import time
import uuid

sys.path.insert(0, os.path.dirname(__file__))
from _bench import emit, fresh_store, median, perf, r  # noqa: E402

N = int(os.environ.get("BENCH_N", "20000"))
REPEAT = int(os.environ.get("BENCH_REPEAT", "5"))
DAYS, COLUMNS = 365, 30
STATUSES = ("accepted",) * 8 + ("warned", "refused")
USER, PASSWORD = "rita", "bench-password-for-rita"


def timed(call) -> float:
    call()  # warm
    times = []
    for _ in range(REPEAT):
        start = perf()
        call()
        times.append(perf() - start)
    return median(times)


def _distribution(j: int, shift: float) -> dict:
    if j % 3 == 0:
        labels = [f"level-{k}" for k in range(8)]
        return {"kind": "categories", "labels": labels, "reference": [0.125] * 8,
                "current": [0.125 + (shift if k == 0 else -shift / 7) for k in range(8)]}
    edges = [float(k) for k in range(11)]
    return {"kind": "bins", "edges": edges, "reference": [0.1] * 10,
            "current": [0.1 - shift if k < 5 else 0.1 + shift for k in range(10)]}


def build(url: str, home: str) -> tuple[int, int]:
    """The store: (project id, the newest drift report's id)."""
    import pandas as pd
    from sklearn.linear_model import LogisticRegression
    from sqlalchemy import insert, select

    import mlops_nb as mlops
    from mlops_nb.services import identity
    from mlops_nb.store.db import session_scope
    from mlops_nb.store.models import Alert, ModelVersion, Outcome, RegisteredModel, ScoringBatch
    from mlops_nb.store.models.alerts import AlertRule, RetrainingRun
    from mlops_nb.store.models.monitoring import DriftColumn, DriftRecord

    ctx = mlops.init(project="bench", db_url=url, user="dana", artifact_root=os.path.join(home, "artifacts"))
    frame = pd.DataFrame({"x": [float(i % 7) for i in range(200)], "y": [i % 2 for i in range(200)]})
    with mlops.start_run(experiment="monitoring-page"):
        mlops.log_dataset(frame, name="train")
        mlops.register_model(LogisticRegression().fit(frame[["x"]], frame["y"]), name="scorer", dataset="train",
                             target="y")
    rng = random.Random(42)
    now = time.time()
    with session_scope(ctx.engine) as s:
        identity.add_user(session=s, actor=identity.OPERATOR, name=USER, role="reviewer", password=PASSWORD)
        model_id = s.execute(select(RegisteredModel.id).where(RegisteredModel.name == "scorer")).scalar_one()
        version = s.execute(select(ModelVersion).where(ModelVersion.model_id == model_id)).scalar_one()
        version.stage = "production"  # a bulk store: the stage set as the promotion would leave it
        version_id = version.id
        finding = {"column": "x", "rule": "out_of_range", "severity": "warning", "message": "x above range",
                   "examples": [9.0], "details": {}}
        batch_ids = [uuid.uuid4().hex for _ in range(N)]
        s.execute(insert(ScoringBatch), [
            {"id": batch_ids[i], "model_version_id": version_id, "stage": "production", "method": "predict_proba",
             "status": (status := rng.choice(STATUSES)), "rows": rng.randint(1, 500),
             "latency_ms": None if status == "refused" else rng.uniform(2, 40),
             "findings": [] if status == "accepted" else [finding], "features": [],
             "input_profile": {"x": {"dtype": "float64", "count": 10, "nulls": 0, "mean": 3.0}},
             "prediction_profile": {} if status == "refused" else {
                 "rows": 100, "nan": 0, "inf": 0, "mean": rng.uniform(0.2, 0.4), "quantiles": [0.1, 0.2, 0.3, 0.4, 0.5],
                 "histogram": [rng.randint(0, 20) for _ in range(10)]},
             "created_by": "svc", "created_at": now - DAYS * 86_400 * i / N} for i in range(N)])
        report_ids = s.execute(insert(DriftRecord).returning(DriftRecord.id), [
            {"project_id": ctx.project_id, "model_version_id": version_id, "reference": "dataset train v1",
             "current": "55 batches", "window_start": now - (d + 1) * 86_400, "window_end": now - d * 86_400,
             "batches": 55, "reference_rows": 200, "current_rows": 5000, "tested": COLUMNS,
             "drifted": (drifted := d % 20), "share": drifted / COLUMNS, "drift_share": 0.5,
             "dataset_drift": drifted / COLUMNS >= 0.5, "prediction_drift": d % 7 == 0, "findings": [],
             "trigger": "monitor", "created_by": "monitor", "created_at": now - d * 86_400 + 60}
            for d in range(DAYS)]).scalars().all()
        s.execute(insert(DriftColumn), [
            {"report_id": rid, "column": f"c{j}", "role": "feature", "type": "numerical" if j % 3 else "categorical",
             "test": "K-S p_value", "statistic": 0.01 if j < d % 20 else 0.4, "threshold": 0.05, "drift": j < d % 20,
             "reference_rows": 200, "current_rows": 5000, "distribution": _distribution(j, 0.05 if j < d % 20 else 0.0)}
            for d, rid in enumerate(report_ids) for j in range(COLUMNS)])
        s.execute(insert(Outcome), [
            {"model_version_id": version_id, "scoring_batch_id": batch_ids[d * (N // DAYS)], "rows": 100,
             "metrics": {"mean_predicted": 0.3, "positive_rate": 0.3, "roc_auc": 0.8}, "business": {"default_rate": 0.07},
             "created_by": "dana", "created_at": now - d * 86_400} for d in range(DAYS)])
        s.execute(insert(AlertRule), [
            {"project_id": ctx.project_id, "model_id": model_id if k % 2 else None, "name": f"rule {k}",
             "kind": "latency_p95" if k == 0 else "drift_share", "params": {"threshold": 30 if k == 0 else 0.5},
             "severity": "warning", "actions": [{"type": "notify"}], "enabled": True, "created_by": "eli",
             "created_at": now} for k in range(10)])
        alert_ids = s.execute(insert(Alert).returning(Alert.id), [
            {"project_id": ctx.project_id, "rule": "rule 1", "kind": "drift_share", "model_version_id": version_id,
             "severity": "warning", "message": f"scorer v1: drift on day {k}", "evidence": {"drift_report_id": 1},
             "fingerprint": f"{k:064x}", "status": "open" if k % 3 else "acknowledged",
             "created_at": now - k * 86_400} for k in range(300)]).scalars().all()
        s.execute(insert(RetrainingRun), [
            {"model_id": model_id, "alert_id": alert_ids[k], "trigger": "rule 1", "status": "failed",
             "parameters": {}, "error": "bench", "started_by": "monitor", "started_at": now - k * 86_400}
            for k in range(50)])
    return ctx.project_id, report_ids[0]


def render(url: str, home: str) -> dict:
    """The Monitoring page in AppTest, in its own process (empty caches): console_apptest's figures."""
    env = {**os.environ, "MLOPS_DB_URL": url, "MLOPS_HOME": home,
           "MLOPS_ARTIFACT_ROOT": os.path.join(home, "artifacts")}
    script = os.path.join(os.path.dirname(__file__), "console_apptest.py")
    done = subprocess.run([sys.executable, script, USER, PASSWORD, str(REPEAT), "Monitoring"], env=env,
                          capture_output=True, text=True, timeout=1200)
    if done.returncode:
        return {"error": done.stderr.strip().splitlines()[-1] if done.stderr.strip() else "failed"}
    return json.loads(done.stdout.strip().splitlines()[-1])["pages"]["Monitoring"]


def main() -> None:
    from sqlalchemy import func, select

    from mlops_nb.api.context import current
    from mlops_nb.services.monitoring import alerts, project_batches
    from mlops_nb.services.monitoring import monitoring_views as mv
    from mlops_nb.store.db import session_scope
    from mlops_nb.store.models import ScoringBatch
    from mlops_nb.store.models.monitoring import DriftRecord

    home, url = fresh_store("mlops-bench-monitoring-page-")
    t = perf()
    project_id, newest_report = build(url, home)
    build_s = perf() - t
    engine = current().engine
    year_ago = time.time() - DAYS * 86_400 - 3600

    def read(call):
        def run():
            with session_scope(engine) as s:
                return call(s)
        return run

    figures = {
        "scoring_days_s": timed(read(lambda s: mv.scoring_days(session=s, project_id=project_id, model="scorer",
                                                                since=year_ago))),
        "version_summaries_s": timed(read(lambda s: project_batches.version_summaries(
            session=s, project_id=project_id, model="scorer"))),
        "group_by_day_floor_s": timed(read(lambda s: s.execute(
            select(func.floor(ScoringBatch.created_at / 86_400), func.count(), func.sum(ScoringBatch.rows))
            .where(ScoringBatch.created_at >= year_ago)
            .group_by(func.floor(ScoringBatch.created_at / 86_400))).all())),
        "drift_timeline_s": timed(read(lambda s: mv.drift_timeline(session=s, project_id=project_id, model="scorer"))),
        "report_rows_floor_s": timed(read(lambda s: s.execute(
            select(DriftRecord).where(DriftRecord.project_id == project_id)
            .order_by(DriftRecord.created_at.desc()).limit(mv.REPORT_LIMIT)).scalars().all())),
        "drift_columns_s": timed(read(lambda s: mv.drift_columns(session=s, project_id=project_id,
                                                                  report_id=newest_report))),
        "outcome_timeline_s": timed(read(lambda s: mv.outcome_timeline(session=s, project_id=project_id,
                                                                        model="scorer"))),
        "rules_and_sla_s": timed(read(lambda s: (mv.alert_rules(session=s, project_id=project_id, model="scorer"),
                                                 mv.latency_sla(session=s, project_id=project_id, model="scorer")))),
        "retraining_history_s": timed(read(lambda s: mv.retraining_history(session=s, project_id=project_id,
                                                                            model="scorer"))),
        "list_alerts_s": timed(read(lambda s: alerts.list_alerts(session=s, project_id=project_id, model="scorer",
                                                                  limit=200))),
    }
    page = render(url, home)
    emit("monitoring_page", value_s=r(figures["scoring_days_s"]), batches=N, reports=DAYS, columns=COLUMNS,
         build_s=r(build_s, 2), **{k: r(v) for k, v in figures.items()},
         scoring_days_vs_version_summaries=r(figures["scoring_days_s"] / figures["version_summaries_s"], 2),
         scoring_days_vs_group_by=r(figures["scoring_days_s"] / figures["group_by_day_floor_s"], 2),
         drift_timeline_vs_report_rows=r(figures["drift_timeline_s"] / figures["report_rows_floor_s"], 2),
         page_first_s=page.get("first_s"), page_median_s=page.get("median_s"), page_error=page.get("error"))


if __name__ == "__main__":
    main()
