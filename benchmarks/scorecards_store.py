"""Build the scorecard benchmark's store: a portfolio of PROJECTS x MODELS registered models with the
evidence every criterion reads, RUNS runs per model.

    PYTHONPATH=. .venv/bin/python benchmarks/scorecards_store.py [--projects 50] [--models 10] [--runs 4] [--dir D]

prints one JSON line: the store's URL, its folder, counts and timings. Users go in through the
identity service; everything else as Core INSERTs through the store's models, in one transaction per
table (the services write one row per call: hours for this volume, and not what a scorecard reads).
The rows are what the services would leave, in three kinds of project, a third each, so every
criterion and test has work and the phases differ:

- "advanced" (project index % 3 == 0): per model a training dataset validated before registration, a
  model policy with a threshold and a no-regression gate, versions 1..3 (v3 in production through
  staging, by approved requests with comments and their stage changes; v1, v2 archived), 10 scoring
  batches of v3 over the last 30 days and 2 in staging, 3 drift reports by the monitor (the newest a
  day old), 3 outcomes, four rules (latency_p95, drift_share with a retrain action, model_age,
  outcome_metric), a retraining notebook and a retraining run started by an alert 20 days ago,
  feature definitions named by v3, a rollback on model 0; two attestations per project;
- "automated" (% 3 == 1): the same without drift reports, rules, retraining and features;
- "foundational" (% 3 == 2): runs and versions with lineage only (no policy, nothing promoted).

Models 8 and 9 of every project hold versions that were never promoted. Every run has 5 params and 3
metrics (a point each); the last 3 runs of a model registered its versions; runs share the model's
training dataset (a run_input row each).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
import uuid
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _bench import fresh_store, perf, r  # noqa: E402

USERS = {"dana": "data_scientist", "eli": "ml_engineer", "rita": "reviewer", "max": "manager", "ada": "admin"}
PASSWORD = "bench-scorecards-password"
KINDS = ("advanced", "automated", "foundational")
DAY = 86_400.0
SIGNATURE = {"inputs": {"columns": [{"name": f"x{j}", "dtype": "float64"} for j in range(5)]}, "target": "y"}
CODE = {"git_commit": "9f3c2e1" + "0" * 33, "code_status": "committed", "notebook_path": "train.py",
        "git_dirty": False}
ENV = {"python": "3.11.7", "packages": {"scikit-learn": "1.7.2", "numpy": "2.1.0", "pandas": "2.2.3"}}
POLICY = {"gates": {"metric_thresholds": {"roc_auc": ">= 0.70"},
                    "no_regression": {"metric": "roc_auc", "tolerance": 0.02, "higher_is_better": True},
                    "data_validated": {"min_rows": 500, "max_null_rate": 0.1, "target_required": True},
                    "lineage_complete": True, "staging_before_production": True},
          "env_mismatch": "refuse"}


def _gates(version: int, to: str) -> list[dict[str, Any]]:
    passed = [("staging_before_production", f"version {version} is in staging"),
              ("lineage_complete", "run, dataset, code, 5 params"),
              ("metric_thresholds", "roc_auc = 0.81 >= 0.7"), ("no_regression", "within tolerance"),
              ("data_validated", "500 rows, valid")]
    return [{"name": n, "passed": True, "detail": d, "data": {}} for n, d in passed
            if to == "production" or n != "staging_before_production"]


def _model_rows(p: int, m: int, runs: int, now: float) -> dict[str, list[dict[str, Any]]]:
    """The rows of model `m` of project `p` that need no database id but the run ids."""
    rows: dict[str, list[dict[str, Any]]] = {"run": [], "param": [], "metric": []}
    for k in range(runs):
        run_id = uuid.UUID(int=(p * 1000 + m) * 100_000 + k).hex
        start = now - (60 - k * 40 / runs) * DAY
        rows["run"].append({"id": run_id, "name": f"p{p}-m{m}-run{k}", "status": "finished", "user": "dana",
                            "start_time": start, "end_time": start + 60, "heartbeat_at": start + 60, "host": "bench",
                            "pid": 4242, "git_commit": CODE["git_commit"], "git_dirty": False,
                            "notebook_path": "train.py", "code_status": "committed", "python_version": "3.11.7",
                            "packages": ENV["packages"]})
        rows["param"] += [{"run_id": run_id, "key": key, "value": str(value)} for key, value in
                          (("model", "logistic_regression"), ("C", 0.1 * (k + 1)), ("penalty", "l2"),
                           ("max_iter", 2000), ("seed", k))]
        rows["metric"] += [{"run_id": run_id, "key": key, "value": value, "step": 0, "timestamp": start + 60}
                           for key, value in (("roc_auc", 0.7 + 0.1 * k / runs), ("log_loss", 0.5), ("accuracy", 0.75))]
    return rows


def build(projects: int = 50, models: int = 10, runs: int = 4, directory: str | None = None) -> dict[str, Any]:
    """Build the store in a new folder (or `directory`); {"url", "home", counts, timings in s}. Sets
    MLOPS_HOME to the store's folder. Raises ValueError for fewer than 3 runs per model."""
    if runs < 3:
        raise ValueError("each model registers its versions from its last 3 runs: give at least 3 runs")
    if directory:
        os.makedirs(directory, exist_ok=True)
        os.environ["MLOPS_HOME"] = home = directory
        url = f"sqlite:///{os.path.join(directory, 'mlops.db')}"
    else:
        home, url = fresh_store("mlops-bench-scorecards-")
    from sqlalchemy import insert

    from mlops_nb.services import identity
    from mlops_nb.store import models as t
    from mlops_nb.store.db import get_engine, session_scope
    from mlops_nb.store.migrate import ensure_schema

    timings: dict[str, float] = {}
    started = perf()
    engine = get_engine(url)
    ensure_schema(engine)
    with session_scope(engine) as s:
        user_ids = {name: identity.add_user(session=s, actor=identity.OPERATOR, name=name, role=role,
                                            password=PASSWORD).id for name, role in USERS.items()}
    timings["schema_and_users_s"] = perf() - started
    now = time.time()
    t0 = perf()
    counts: dict[str, int] = {}

    def put(session: Any, table: Any, rows: list[dict[str, Any]], returning: bool = False) -> list[Any]:
        counts[table.__tablename__] = counts.get(table.__tablename__, 0) + len(rows)
        if not rows:
            return []
        if returning:
            return list(session.execute(insert(table).returning(table.id), rows).scalars().all())
        session.execute(insert(table), rows)
        return []

    with session_scope(engine) as s:
        project_ids = put(s, t.Project, [{"name": f"portfolio-{p:02d}", "created_at": now - 400 * DAY}
                                         for p in range(projects)], returning=True)
        experiment_ids = put(s, t.Experiment, [{"project_id": pid, "name": "training", "created_at": now - 400 * DAY}
                                               for pid in project_ids], returning=True)
        plan = [(p, m) for p in range(projects) for m in range(models)]
        kind = {p: KINDS[p % 3] for p in range(projects)}
        model_ids = put(s, t.RegisteredModel, [
            {"project_id": project_ids[p], "name": f"model-{m:02d}", "created_by": "dana", "created_at": now - 300 * DAY}
            for p, m in plan], returning=True)
        mid = dict(zip(plan, model_ids, strict=True))
        per_model = {pm: _model_rows(*pm, runs, now) for pm in plan}
        put(s, t.Run, [dict(row, experiment_id=experiment_ids[p]) for (p, _), rows in per_model.items()
                       for row in rows["run"]])
        put(s, t.Param, [row for rows in per_model.values() for row in rows["param"]])
        metrics = [row for rows in per_model.values() for row in rows["metric"]]
        put(s, t.Metric, metrics)
        put(s, t.LatestMetric, metrics)
        artifact_ids = put(s, t.Artifact, [{"run_id": None, "name": f"bench/{p}/{m}/{a}", "uri": f"file:///bench/{p}/{m}/{a}",
                                            "sha256": "0" * 64, "size": 1, "created_at": now - 200 * DAY}
                                           for p, m in plan for a in range(5)], returning=True)
        art = {pm: artifact_ids[i * 5:(i + 1) * 5] for i, pm in enumerate(plan)}  # 3 versions, a notebook, a sample
        dataset_ids = put(s, t.DatasetVersion, [
            {"project_id": project_ids[p], "name": f"train-{m:02d}", "version": 1, "fingerprint": f"{p:032x}{m:032x}",
             "rows": 5000, "columns": 6, "schema_": {"columns": [{"name": f"x{j}", "dtype": "float64"} for j in range(5)]
                                                     + [{"name": "y", "dtype": "int64"}]},
             "profile": {"y": {"nulls": 0, "null_rate": 0.0}}, "sample_artifact_id": art[(p, m)][4],
             "created_by": "dana", "created_at": now - 200 * DAY} for p, m in plan], returning=True)
        did = dict(zip(plan, dataset_ids, strict=True))
        put(s, t.RunInput, [{"run_id": row["id"], "dataset_version_id": did[pm], "role": "train",
                             "created_at": row["start_time"]} for pm, rows in per_model.items() for row in rows["run"]])
        feature_ids = put(s, t.FeatureDefinition, [
            {"project_id": project_ids[p], "name": f"ratio_{j}", "version": 1, "source": f"def ratio_{j}(df): ...",
             "source_hash": f"{p:060x}{j:04x}", "function": f"features:ratio_{j}", "outputs": [f"ratio_{j}"],
             "created_by": "dana", "created_at": now - 250 * DAY} for p in range(projects) if kind[p] == "advanced"
            for j in range(2)], returning=True)
        features = {p: [] for p in range(projects)}
        for i, p in enumerate(q for q in range(projects) if kind[q] == "advanced"):
            features[p] = [{"name": f"ratio_{j}", "version": 1, "source_hash": f"{p:060x}{j:04x}",
                            "id": feature_ids[2 * i + j]} for j in range(2)]
        # versions: the model's last 3 runs; stages by the project's kind and the model's place
        promoted = {pm: kind[pm[0]] != "foundational" and pm[1] < 8 for pm in plan}
        versions = []
        for pm in plan:
            last = per_model[pm]["run"][-3:]
            for n, run in enumerate(last, start=1):
                stage = ("production" if n == 3 else "archived") if promoted[pm] else "none"
                versions.append({"model_id": mid[pm], "version": n, "stage": stage, "run_id": run["id"],
                                 "dataset_version_id": did[pm], "artifact_id": art[pm][n - 1], "flavor": "sklearn-skops",
                                 "target": "y", "signature": SIGNATURE, "env": ENV, "requirements": "scikit-learn==1.7.2",
                                 "params": {"C": 0.1 * n, "model": "logistic_regression"},
                                 "metrics": {"roc_auc": 0.75 + 0.01 * n}, "code": CODE,
                                 "features": [{k: f[k] for k in ("name", "version", "source_hash")}
                                              for f in features[pm[0]]] if n == 3 else [],
                                 "created_by": "dana", "created_at": run["end_time"]})
        version_ids = put(s, t.ModelVersion, versions, returning=True)
        vid = {(v["model_id"], v["version"]): i for v, i in zip(versions, version_ids, strict=True)}
        put(s, t.RunFeature, [{"run_id": per_model[pm]["run"][-1]["id"], "feature_definition_id": f["id"],
                               "created_at": now - 100 * DAY} for pm in plan for f in features[pm[0]]])
        put(s, t.Policy, [{"project_id": project_ids[p], "model_id": mid[(p, m)], "rules": POLICY, "updated_by": "eli",
                           "updated_at": now - 250 * DAY} for p, m in plan if promoted[(p, m)]])
        put(s, t.ValidationRecord, [
            {"project_id": project_ids[p], "dataset_version_id": did[(p, m)], "subject": f"dataset train-{m:02d} v1",
             "subject_dataset_version_id": did[(p, m)], "rows": 5000, "ok": True, "errors": 0, "warnings": 0,
             "findings": [], "created_by": "dana", "created_at": now - 199 * DAY} for p, m in plan if promoted[(p, m)]])
        # requests: every version 1..3 of a promoted model to staging then production, approved with comments
        requests, steps = [], []
        for pm in plan:
            if not promoted[pm]:
                continue
            for n in (1, 2, 3):
                for to, at in (("staging", now - (150 - 40 * n) * DAY), ("production", now - (140 - 40 * n) * DAY)):
                    requests.append({"model_id": mid[pm], "model_version_id": vid[(mid[pm], n)], "target_stage": to,
                                     "requester": "dana", "requester_id": user_ids["dana"], "reason": f"v{n} to {to}",
                                     "status": "approved", "gates": _gates(n, to), "policy": POLICY, "created_at": at,
                                     "decided_at": at + 3600, "decided_by": "rita" if to == "production" else "eli",
                                     "decided_by_id": user_ids["rita" if to == "production" else "eli"]})
                    steps.append((pm, n, to, at))
        request_ids = put(s, t.PromotionRequest, requests, returning=True)
        approvals, changes = [], []
        for request_id, (pm, n, to, at) in zip(request_ids, steps, strict=True):
            deciders = [("eli", "ml_engineer")] + ([("rita", "reviewer")] if to == "production" else [])
            approvals += [{"request_id": request_id, "user": u, "user_id": user_ids[u], "role": role, "decision": "approve",
                           "comment": f"gates pass; {to} ok", "created_at": at + 1800} for u, role in deciders]
            changes.append({"model_id": mid[pm], "model_version_id": vid[(mid[pm], n)],
                            "from_stage": "none" if to == "staging" else "staging", "to_stage": to, "actor": deciders[-1][0],
                            "reason": f"request {request_id}", "request_id": request_id, "rollback": False,
                            "created_at": at + 3600})
            if to == "production" and n > 1:
                changes.append({"model_id": mid[pm], "model_version_id": vid[(mid[pm], n - 1)], "from_stage": "production",
                                "to_stage": "archived", "actor": "rita", "reason": f"replaced by version {n}",
                                "request_id": request_id, "rollback": False, "created_at": at + 3600})
        for p in range(projects):  # a rollback drill on model 0 of each advanced project
            if kind[p] == "advanced":
                changes.append({"model_id": mid[(p, 0)], "model_version_id": vid[(mid[(p, 0)], 2)],
                                "from_stage": "archived", "to_stage": "archived", "actor": "eli",
                                "reason": "rollback drill", "request_id": None, "rollback": True,
                                "created_at": now - 30 * DAY})
        put(s, t.Approval, approvals)
        put(s, t.StageChange, changes)
        # scoring: 10 production batches of v3 over 30 days, 2 staging batches
        batches = []
        profile = {"rows": 100, "nan": 0, "inf": 0, "mean": 0.3, "quantiles": [0.1, 0.2, 0.3, 0.4, 0.5],
                   "histogram": [10] * 10, "classes": [0, 1], "positive_class": 1}
        for pm in plan:
            if not promoted[pm]:
                continue
            v3 = vid[(mid[pm], 3)]
            batches += [{"id": uuid.uuid4().hex, "model_version_id": v3, "stage": "staging", "method": "predict_proba",
                         "status": "accepted", "rows": 100, "latency_ms": 20.0, "findings": [], "features": [],
                         "input_profile": {}, "prediction_profile": profile, "created_by": "svc",
                         "created_at": now - (40 + b) * DAY, "monitored_at": None} for b in range(2)]
            batches += [{"id": uuid.uuid4().hex, "model_version_id": v3, "stage": "production", "method": "predict_proba",
                         "status": "accepted", "rows": 100, "latency_ms": 20.0 + b, "findings": [], "features": [],
                         "input_profile": {}, "prediction_profile": profile, "created_by": "svc",
                         "created_at": now - (3 * b + 1) * DAY,
                         "monitored_at": now - 3 * b * DAY if kind[pm[0]] == "advanced" else None} for b in range(10)]
        put(s, t.ScoringBatch, batches)
        advanced = [pm for pm in plan if promoted[pm] and kind[pm[0]] == "advanced"]
        put(s, t.DriftRecord, [
            {"project_id": project_ids[p], "model_version_id": vid[(mid[(p, m)], 3)],
             "reference_dataset_version_id": did[(p, m)], "reference": f"dataset train-{m:02d} v1",
             "current": "3 batches", "window_start": now - (d + 3) * 3 * DAY, "window_end": now - d * 3 * DAY,
             "batches": 3, "reference_rows": 5000, "current_rows": 300, "tested": 5, "drifted": 0, "share": 0.0,
             "drift_share": 0.5, "dataset_drift": False, "findings": [], "trigger": "monitor", "created_by": "monitor",
             "created_at": now - (1 + 3 * d) * DAY} for p, m in advanced for d in range(3)])
        put(s, t.Outcome, [{"model_version_id": vid[(mid[pm], 3)], "scoring_batch_id": None, "rows": 100,
                            "metrics": {"roc_auc": 0.78}, "business": {}, "created_by": "dana",
                            "created_at": now - (2 + 5 * o) * DAY} for pm in advanced for o in range(3)])
        rules = []
        for p, m in advanced:
            for name, rule_kind, params, actions in (
                    ("latency", "latency_p95", {"sla_ms": 500.0}, [{"type": "notify"}]),
                    ("drift", "drift_share", {"threshold": 0.3}, [{"type": "notify"}, {"type": "retrain"}]),
                    ("age", "model_age", {"max_days": 180}, [{"type": "notify"}]),
                    ("auc", "outcome_metric", {"metric": "roc_auc", "expected": 0.8, "tolerance": 0.05},
                     [{"type": "notify"}])):
                rules.append({"project_id": project_ids[p], "model_id": mid[(p, m)], "name": f"{name} {m}",
                              "kind": rule_kind, "params": params, "severity": "warning", "actions": actions,
                              "enabled": True, "created_by": "eli", "created_at": now - 100 * DAY})
        rule_ids = put(s, t.AlertRule, rules, returning=True)
        alert_ids = put(s, t.Alert, [
            {"project_id": project_ids[p], "rule_id": rule_ids[4 * i + 1], "rule": f"drift {m}", "kind": "drift_share",
             "model_version_id": vid[(mid[(p, m)], 2)], "severity": "warning", "message": "drift share 0.4 >= 0.3",
             "evidence": {}, "fingerprint": f"{i:064x}", "status": "acknowledged", "created_at": now - 20 * DAY}
            for i, (p, m) in enumerate(advanced)], returning=True)
        put(s, t.RetrainingConfig, [{"model_id": mid[pm], "notebook_artifact_id": art[pm][3], "notebook_path": "train.ipynb",
                                     "parameters": {}, "set_by": "eli", "set_at": now - 100 * DAY} for pm in advanced])
        put(s, t.RetrainingRun, [
            {"model_id": mid[pm], "alert_id": alert_ids[i], "trigger": f"drift {pm[1]}", "status": "succeeded",
             "parameters": {}, "notebook_artifact_id": art[pm][3], "run_id": per_model[pm]["run"][-1]["id"],
             "model_version": 3, "started_by": "monitor", "started_at": now - 20 * DAY, "finished_at": now - 20 * DAY + 90}
            for i, pm in enumerate(advanced)])
        put(s, t.Attestation, [
            {"project_id": project_ids[p], "model_id": None, "test": test, "note": "reviewed in the quarterly audit",
             "attested_by": "rita", "attested_by_id": user_ids["rita"], "role": "reviewer", "attested_at": now - 10 * DAY,
             "expires_at": now + 170 * DAY} for p in range(projects) for test in ("data.2", "model.7")])
    timings["rows_s"] = perf() - t0
    engine.dispose()
    return {"url": url, "home": home, "projects": projects, "models": projects * models, "runs_per_model": runs,
            "rows": counts, **{k: r(v, 3) for k, v in timings.items()}}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--projects", type=int, default=50)
    ap.add_argument("--models", type=int, default=10)
    ap.add_argument("--runs", type=int, default=4)
    ap.add_argument("--dir", help="folder of the store (default: a new folder under $BENCH_TMP)")
    args = ap.parse_args()
    print(json.dumps(build(args.projects, args.models, args.runs, args.dir)), flush=True)


if __name__ == "__main__":
    main()
