"""MLflow's nearest like-for-like of a portfolio scorecard: gathering the Phase-1 lineage evidence.

    /tmp/mlflow-venv/bin/python benchmarks/mlflow_side/scorecard_lineage.py DIR [PROJECTS MODELS RUNS REPEAT]

MLflow has no scorecard. What it can do is hand over the evidence of the first phase's lineage
criterion, which a team would then check by hand or in a script: for each registered model, its
versions, and for each version its run's params, metrics and dataset inputs. This script builds an
MLflow SQLite store with the same shape as benchmarks/scorecards_store.py (PROJECTS experiments x
MODELS registered models, RUNS runs per model with 5 params, 3 metrics and a training-dataset input
each; each model's last 3 runs registered as versions 1-3), then times two ways of reading it:

- `per_model`: what a user writes: `search_model_versions("name='...'")` per model, `get_run` per
  version (params, metrics, dataset inputs);
- `batched`: the fewest calls the client allows: every version in pages of 10,000, then the runs by
  `search_runs(filter "attributes.run_id IN (...)")`, 100 ids a call.

Runs, params, metrics, tags, datasets and inputs go in through MLflow's own SQLAlchemy models in one
transaction (as ui_store.py does: `create_run` + `log_batch` + `log_inputs` cost tens of ms each);
the registered models and versions through `MlflowClient` (their tables have workspace columns the
client fills). The store is reused when DIR already holds a complete one. Prints one JSON line.
"""
import json
import os
import statistics
import sys
import time
import uuid

os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")  # no network here; see ../shared/anchors/mlflow/_common.py

store_dir = sys.argv[1]
projects, models, runs_per_model, repeat = (int(a) for a in (sys.argv[2:6] + ["50", "10", "4", "3"][len(sys.argv[2:6]):]))
os.makedirs(store_dir, exist_ok=True)
db = os.path.join(store_dir, "mlflow.db")
done_marker = os.path.join(store_dir, f"complete-{projects}-{models}-{runs_per_model}")
uri = f"sqlite:///{db}"
perf = time.perf_counter
fresh = not os.path.exists(done_marker)
if fresh and os.path.exists(db):
    os.remove(db)  # an incomplete store from an interrupted build: before any client opens it

t_import = perf()
import logging  # noqa: E402

from mlflow import MlflowClient  # noqa: E402
from mlflow.store.tracking.dbmodels.models import (  # noqa: E402
    SqlDataset,
    SqlInput,
    SqlLatestMetric,
    SqlMetric,
    SqlParam,
    SqlRun,
    SqlTag,
)

t_import = perf() - t_import
logging.getLogger("mlflow").setLevel(logging.WARNING)
client = MlflowClient(tracking_uri=uri, registry_uri=uri)
build_s = 0.0
if fresh:
    t0 = perf()
    art = os.path.join(store_dir, "artifacts")
    os.makedirs(art, exist_ok=True)
    store = client._tracking_client.store
    now_ms = int(time.time() * 1000)
    experiments = [client.create_experiment(f"portfolio-{p:02d}", artifact_location=f"file://{art}/{p}")
                   for p in range(projects)]
    plan = []  # (experiment id, model name, [run ids])
    run_rows, tags, params, points, datasets, inputs = [], [], [], [], [], []
    for p in range(projects):
        for m in range(models):
            name = f"portfolio-{p:02d}-model-{m:02d}"
            dataset = str(uuid.uuid4())
            datasets.append({"dataset_uuid": dataset, "experiment_id": int(experiments[p]), "name": f"train-{m:02d}",
                             "digest": f"{p:04x}{m:04x}", "dataset_source_type": "local",
                             "dataset_source": json.dumps({"uri": f"/data/train-{m:02d}.parquet"}),
                             "dataset_schema": json.dumps({"mlflow_colspec": [{"name": f"x{j}", "type": "double"}
                                                                              for j in range(5)]}),
                             "dataset_profile": json.dumps({"num_rows": 5000})})
            ids = []
            for k in range(runs_per_model):
                run_id = uuid.uuid4().hex
                ids.append(run_id)
                start = now_ms - (60 - k) * 86_400_000
                run_rows.append({"run_uuid": run_id, "name": f"p{p}-m{m}-run{k}", "source_type": "LOCAL",
                                 "source_name": "train.py", "entry_point_name": "", "user_id": "dana",
                                 "status": "FINISHED", "start_time": start, "end_time": start + 60_000,
                                 "source_version": "9f3c2e1" + "0" * 33, "lifecycle_stage": "active",
                                 "artifact_uri": f"file://{art}/{p}/{run_id}/artifacts",
                                 "experiment_id": int(experiments[p])})
                tags += [{"run_uuid": run_id, "key": key, "value": value} for key, value in (
                    ("mlflow.runName", f"p{p}-m{m}-run{k}"), ("mlflow.user", "dana"),
                    ("mlflow.source.name", "train.py"), ("mlflow.source.git.commit", "9f3c2e1" + "0" * 33))]
                params += [{"run_uuid": run_id, "key": key, "value": str(value)} for key, value in (
                    ("model", "logistic_regression"), ("C", 0.1 * (k + 1)), ("penalty", "l2"), ("max_iter", 2000),
                    ("seed", k))]
                points += [{"run_uuid": run_id, "key": key, "value": value, "timestamp": start + 60_000, "step": 0,
                            "is_nan": False} for key, value in (("roc_auc", 0.7 + 0.1 * k / runs_per_model),
                                                                ("log_loss", 0.5), ("accuracy", 0.75))]
                inputs.append({"input_uuid": str(uuid.uuid4()), "source_type": "DATASET", "source_id": dataset,
                               "destination_type": "RUN", "destination_id": run_id, "step": 0})
            plan.append((name, ids))
    with store.ManagedSessionMaker() as session:
        session.execute(SqlRun.__table__.insert(), run_rows)
        session.execute(SqlTag.__table__.insert(), tags)
        session.execute(SqlParam.__table__.insert(), params)
        session.execute(SqlMetric.__table__.insert(), points)
        session.execute(SqlLatestMetric.__table__.insert(), points)
        session.execute(SqlDataset.__table__.insert(), datasets)
        session.execute(SqlInput.__table__.insert(), inputs)
    for name, ids in plan:
        client.create_registered_model(name)
        for run_id in ids[-3:]:
            client.create_model_version(name, source=f"runs:/{run_id}/model", run_id=run_id)
    build_s = perf() - t0
    open(done_marker, "w").close()

names = [m.name for m in client.search_registered_models(max_results=1000)]  # one page: at most 1,000 models
assert len(names) == projects * models, f"{len(names)} registered models, expected {projects * models}"
experiment_ids = [e.experiment_id for e in client.search_experiments(max_results=1000)]


def per_model():
    found = {}
    for name in names:
        for v in client.search_model_versions(f"name='{name}'"):
            run = client.get_run(v.run_id)
            found[(name, int(v.version))] = (dict(run.data.params), dict(run.data.metrics),
                                             [d.dataset.digest for d in run.inputs.dataset_inputs])
    return found


def batched():
    versions, token = [], None
    while True:
        page = client.search_model_versions(max_results=10_000, page_token=token)
        versions += list(page)
        token = page.token
        if not token:
            break
    run_ids = [v.run_id for v in versions]
    runs = {}
    for i in range(0, len(run_ids), 100):
        chunk = run_ids[i:i + 100]
        quoted = ", ".join(f"'{rid}'" for rid in chunk)
        for run in client.search_runs(experiment_ids, filter_string=f"attributes.run_id IN ({quoted})",
                                      max_results=len(chunk)):
            runs[run.info.run_id] = run
    return {(v.name, int(v.version)): (dict(runs[v.run_id].data.params), dict(runs[v.run_id].data.metrics),
                                        [d.dataset.digest for d in runs[v.run_id].inputs.dataset_inputs])
            for v in versions}


figures = {}
for label, call in (("per_model", per_model), ("batched", batched)):
    times, found = [], {}
    for _ in range(repeat):
        t = perf()
        found = call()
        times.append(perf() - t)
    complete = sum(1 for p, m, d in found.values() if len(p) == 5 and len(m) == 3 and d)
    figures[label] = {"median_s": round(statistics.median(times), 4), "times_s": [round(x, 4) for x in times],
                      "versions": len(found), "complete": complete}
import mlflow  # noqa: E402

print(json.dumps({"case": "scorecard_lineage_mlflow", "mlflow": mlflow.__version__, "models": len(names),
                  "runs_per_model": runs_per_model, "import_s": round(t_import, 3), "build_s": round(build_s, 2),
                  **figures}), flush=True)
