"""MLflow's store for the console benchmark: the same sweep runs (`console_data.sweep`) in experiment 1.

    /tmp/mlflow-venv/bin/python benchmarks/mlflow_side/ui_store.py DIR [N]

Run with MLflow's python (its own venv). MLflow creates the SQLite store and the experiment
(`MlflowClient`), then the N runs with their params, metrics, latest metrics and the tags
`create_run` sets go in through MLflow's own SQLAlchemy models in one transaction
(`SqlAlchemyStore.ManagedSessionMaker`): `create_run` + `log_batch` cost ~20-130 ms a run here
(the anchor's search_runs.py: 5-20 min for 10,000), and what the UI reads is the same rows. The
count and one filtered search are checked through the client before it prints one JSON line:
{"uri", "store_dir", "artifacts", "experiment_id", "runs", "build_s", "search_check"}.
"""
import json
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")  # no network here; see ../shared/anchors/mlflow/_common.py
from console_data import EXPERIMENT, sweep  # noqa: E402

store_dir = sys.argv[1]
n = int(sys.argv[2]) if len(sys.argv) > 2 else 10_000
os.makedirs(store_dir, exist_ok=True)
db = os.path.join(store_dir, "mlflow.db")
if os.path.exists(db):
    os.remove(db)
art = os.path.join(store_dir, "artifacts")
os.makedirs(art, exist_ok=True)
uri = f"sqlite:///{db}"

t0 = time.perf_counter()
from mlflow import MlflowClient  # noqa: E402
from mlflow.store.tracking.dbmodels.models import SqlLatestMetric, SqlMetric, SqlParam, SqlRun, SqlTag  # noqa: E402

client = MlflowClient(tracking_uri=uri)
exp_id = client.create_experiment(EXPERIMENT, artifact_location="file://" + art)
store = client._tracking_client.store
runs = list(sweep(n))
ms = lambda s: int(s * 1000)  # noqa: E731
with store.ManagedSessionMaker() as session:
    session.execute(SqlRun.__table__.insert(), [
        {"run_uuid": r["id"], "name": r["name"], "source_type": "LOCAL", "source_name": "sweep.py",
         "entry_point_name": "", "user_id": r["user"], "status": "FINISHED", "start_time": ms(r["start_time"]),
         "end_time": ms(r["end_time"]), "source_version": "9f3c2e1" + "0" * 33, "lifecycle_stage": "active",
         "artifact_uri": f"file://{art}/{r['id']}/artifacts", "experiment_id": int(exp_id)} for r in runs])
    session.execute(SqlTag.__table__.insert(), [
        {"run_uuid": r["id"], "key": k, "value": v} for r in runs for k, v in (
            ("mlflow.runName", r["name"]), ("mlflow.user", r["user"]), ("mlflow.source.name", "sweep.py"),
            ("mlflow.source.type", "LOCAL"), ("mlflow.source.git.commit", "9f3c2e1" + "0" * 33))])
    session.execute(SqlParam.__table__.insert(), [
        {"run_uuid": r["id"], "key": k, "value": v} for r in runs for k, v in r["params"].items()])
    points = [{"run_uuid": r["id"], "key": k, "value": v, "timestamp": ms(r["end_time"]), "step": 0, "is_nan": False}
              for r in runs for k, v in r["metrics"].items()]
    session.execute(SqlMetric.__table__.insert(), points)
    session.execute(SqlLatestMetric.__table__.insert(), points)
build_s = time.perf_counter() - t0

found = len(client.search_runs([exp_id], max_results=50_000))
hits = client.search_runs([exp_id], filter_string="metrics.roc_auc > 0.8 and params.model = 'gradient_boosting'",
                          max_results=50_000)
expected = sum(1 for r in runs if r["metrics"]["roc_auc"] > 0.8 and r["params"]["model"] == "gradient_boosting")
if found != n or len(hits) != expected:
    raise SystemExit(f"MLflow's store holds {found} runs, {len(hits)} hits; expected {n} and {expected}")
print(json.dumps({"uri": uri, "store_dir": store_dir, "artifacts": art, "experiment_id": exp_id, "runs": found,
                  "build_s": round(build_s, 3), "search_check": {"hits": len(hits), "expected": expected}}), flush=True)
