"""Build the console benchmark's store: 10,000 runs, 1,000 model versions, 200 promotion requests.

    .venv/bin/python benchmarks/console_store.py [--runs 10000] [--versions 1000] [--requests 200] [--dir D]

prints one JSON line: the store's URL, its folder (MLOPS_HOME), the users and password, counts and
timings. What goes through the services and what does not (they have no bulk path for it):

- users (one per role, argon2 passwords), the project and the experiment: the identity and tracking
  services;
- the 10,000 runs with 7 params and 7 metrics each (`console_data.sweep`, the rows MLflow's store
  gets too): Core INSERTs into the store's run, param, metric and latest_metric tables in one
  transaction. The tracking services create one run per call (~1 ms each with the code capture);
  rows inserted directly are what `start_run`/`log_params`/`log_metric`/`end_run` would leave,
  with the code recorded as a clean git commit so the lineage gate passes;
- the dataset version, the 40 registered models and their 1,000 versions (each from its own run,
  with that run's params and metrics): Core INSERTs too, as `bench_decision.py` does (registration
  serialises a fitted model per version: minutes for 1,000, and not what the console reads);
- the 200 promotion requests, their approvals and rejections: `governance.request_promotion`,
  `approve` and `reject`, so the gates, stage changes and audit chain are the services' own. Per
  model: v1 to staging (approved), v1 to production (approved by an ml_engineer and a reviewer),
  v2 to staging (rejected), v3 to staging (pending), v4 to production (pending, its
  staging-before-production gate failing): 80 pending, 120 decided.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _bench import fresh_store, perf, r  # noqa: E402
from console_data import EXPERIMENT, PROJECT, sweep  # noqa: E402

PASSWORD = "bench-console-password"  # the benchmark store's users' password (a throwaway store)
USERS = {"dana": "data_scientist", "eli": "ml_engineer", "pat": "platform_engineer", "rita": "reviewer",
         "max": "manager", "ada": "admin"}
MODELS = 40
REQUESTS_PER_MODEL = 5


def _insert_runs(session: Any, experiment_id: int, runs: list[dict[str, Any]]) -> None:
    """The runs, their params, metric points and latest metrics, as the tracking services store them."""
    from sqlalchemy import insert

    from mlops_nb.store.models import LatestMetric, Metric, Param, Run

    session.execute(insert(Run), [
        {"id": run["id"], "experiment_id": experiment_id, "name": run["name"], "status": "finished",
         "user": run["user"], "start_time": run["start_time"], "end_time": run["end_time"],
         "heartbeat_at": run["end_time"], "host": "bench-host", "pid": 4242, "git_commit": "9f3c2e1" + "0" * 33,
         "git_dirty": False, "notebook_path": "sweep.py", "code_status": "committed", "python_version": "3.11.7"}
        for run in runs])
    session.execute(insert(Param), [{"run_id": run["id"], "key": k, "value": v}
                                    for run in runs for k, v in run["params"].items()])
    points = [{"run_id": run["id"], "key": k, "value": v, "step": 0, "timestamp": run["end_time"]}
              for run in runs for k, v in run["metrics"].items()]
    session.execute(insert(Metric), points)
    session.execute(insert(LatestMetric), points)


def _insert_versions(session: Any, project_id: int, runs: list[dict[str, Any]], versions: int) -> list[str]:
    """One dataset version, MODELS registered models and `versions` versions spread over them (each
    from its own run); the model names."""
    from sqlalchemy import insert

    from mlops_nb.store.models import Artifact, DatasetVersion, ModelVersion, RegisteredModel

    now = time.time()
    data = DatasetVersion(project_id=project_id, name="german-credit", version=1, fingerprint="c" * 64, rows=1000,
                          columns=21, schema_={"columns": [{"name": "creditability", "dtype": "int64"}]},
                          profile={"creditability": {"nulls": 0, "null_rate": 0.0}}, created_by="dana", created_at=now)
    session.add(data)
    names = [f"credit-risk-{i:02d}" for i in range(MODELS)]
    model_ids = session.execute(insert(RegisteredModel).returning(RegisteredModel.id), [
        {"project_id": project_id, "name": name, "description": "credit scoring", "created_by": "eli",
         "created_at": now} for name in names]).scalars().all()
    session.flush()
    per_model = -(-versions // MODELS)
    plan = [(model_ids[i // per_model], i % per_model + 1, runs[i]) for i in range(versions)]
    artifact_ids = session.execute(insert(Artifact).returning(Artifact.id), [
        {"run_id": run["id"], "name": f"models/v{number}/model.skops", "uri": f"file:///bench/{model_id}/{number}",
         "sha256": "0" * 64, "size": 1, "created_at": now} for model_id, number, run in plan]).scalars().all()
    session.execute(insert(ModelVersion), [
        {"model_id": model_id, "version": number, "stage": "none", "run_id": run["id"], "dataset_version_id": data.id,
         "artifact_id": artifact_id, "target": "creditability", "signature": {}, "env": {"python": "3.11.7"},
         "requirements": "scikit-learn==1.7.2", "params": run["params"], "metrics": run["metrics"], "code": {},
         "features": [], "created_by": run["user"], "created_at": run["end_time"]}
        for (model_id, number, run), artifact_id in zip(plan, artifact_ids, strict=True)])
    return names


def _requests(engine: Any, project_id: int, models: list[str], people: dict[str, Any], wanted: int) -> dict[str, int]:
    """`wanted` promotion requests through the governance services (REQUESTS_PER_MODEL per model, in
    the module docstring's pattern); their statuses counted."""
    from mlops_nb.services import governance
    from mlops_nb.store.db import session_scope

    dana, eli, rita = people["dana"], people["eli"], people["rita"]
    steps: list[tuple[int, str, str]] = [(1, "staging", "approve"), (1, "production", "approve2"),
                                         (2, "staging", "reject"), (3, "staging", "pending"),
                                         (4, "production", "pending")]
    made: dict[str, int] = {}
    for i in range(wanted):
        model, (version, stage, outcome) = models[i // REQUESTS_PER_MODEL], steps[i % REQUESTS_PER_MODEL]
        with session_scope(engine) as s:
            req = governance.request_promotion(session=s, actor=dana, project_id=project_id, model=model,
                                               version=version, to=stage, reason=f"sweep winner for {stage}: AUC up")
            if outcome == "approve":
                governance.approve(session=s, actor=eli, request_id=req.id, comment="gates pass, looks good")
            elif outcome == "approve2":
                governance.approve(session=s, actor=eli, request_id=req.id, comment="ok from engineering")
                governance.approve(session=s, actor=rita, request_id=req.id, comment="risk review done")
            elif outcome == "reject":
                governance.reject(session=s, actor=eli, request_id=req.id, comment="recall below the staging model")
            made[req.status] = made.get(req.status, 0) + 1
    return made


def build(runs: int = 10_000, versions: int = 1_000, requests: int = 200, directory: str | None = None) -> dict[str, Any]:
    """Build the store in a new folder (or `directory`); {"url", "home", "users", "password", counts,
    timings in s}. Sets MLOPS_HOME to the store's folder (its audit key lives there)."""
    if directory:
        os.makedirs(directory, exist_ok=True)
        os.environ["MLOPS_HOME"] = home = directory
        url = f"sqlite:///{os.path.join(directory, 'mlops.db')}"
    else:
        home, url = fresh_store("mlops-bench-console-")
    if not MODELS * 4 <= versions <= runs or requests > MODELS * REQUESTS_PER_MODEL:
        raise ValueError(f"need {MODELS * 4} <= versions <= runs and at most {MODELS * REQUESTS_PER_MODEL} requests")
    from mlops_nb.services import identity, tracking
    from mlops_nb.services.identity.auth import Identity
    from mlops_nb.store.db import get_engine, session_scope
    from mlops_nb.store.migrate import ensure_schema

    timings: dict[str, float] = {}
    t = perf()
    engine = get_engine(url)
    ensure_schema(engine)
    timings["schema_s"] = perf() - t
    t = perf()
    with session_scope(engine) as s:
        people = {}
        for name, role in USERS.items():
            user = identity.add_user(session=s, actor=identity.OPERATOR, name=name, role=role, password=PASSWORD)
            people[name] = Identity(name=user.name, role=user.role, proven=True, user_id=user.id)
        project = tracking.get_or_create_project(session=s, name=PROJECT)
        experiment = tracking.get_or_create_experiment(session=s, project_id=project.id, name=EXPERIMENT)
        project_id, experiment_id = project.id, experiment.id
    timings["users_s"] = perf() - t
    t = perf()
    rows = list(sweep(runs))
    with session_scope(engine) as s:
        _insert_runs(s, experiment_id, rows)
    timings["runs_s"] = perf() - t
    t = perf()
    with session_scope(engine) as s:
        models = _insert_versions(s, project_id, rows, versions)
    timings["versions_s"] = perf() - t
    t = perf()
    statuses = _requests(engine, project_id, models, people, requests)
    timings["requests_s"] = perf() - t
    engine.dispose()
    return {"url": url, "home": home, "users": USERS, "password": PASSWORD, "project": PROJECT,
            "experiment": EXPERIMENT, "runs": runs, "versions": versions, "models": len(models),
            "requests": statuses, **{k: r(v, 3) for k, v in timings.items()},
            "total_s": r(sum(timings.values()), 3)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", type=int, default=10_000)
    ap.add_argument("--versions", type=int, default=1_000)
    ap.add_argument("--requests", type=int, default=200)
    ap.add_argument("--dir", help="folder of the store (default: a new folder under $BENCH_TMP)")
    args = ap.parse_args()
    print(json.dumps(build(args.runs, args.versions, args.requests, args.dir)), flush=True)


if __name__ == "__main__":
    main()
