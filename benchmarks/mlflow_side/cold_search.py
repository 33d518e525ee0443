"""MLflow's side of the cold search (run with MLflow's python by run_all.py): a fresh process that
imports mlflow, opens the store the search anchor filled (its `store_dir`) and runs the filtered
`mlflow.search_runs` (a pandas DataFrame). Prints one JSON line; run_all times the whole process from
outside, as bench_runs_search.py times ours.

    /tmp/mlflow-venv/bin/python benchmarks/mlflow_side/cold_search.py STORE_DIR "FILTER"
"""
import json
import os
import sys
import time

t0 = time.perf_counter()
import mlflow  # noqa: E402

t1 = time.perf_counter()
mlflow.set_tracking_uri("sqlite:///" + os.path.join(sys.argv[1], "mlflow.db"))
experiment = mlflow.get_experiment_by_name("bench_search")
df = mlflow.search_runs(experiment_ids=[experiment.experiment_id], filter_string=sys.argv[2])
t2 = time.perf_counter()
print(json.dumps({"case": "search_cold", "import_s": t1 - t0, "open_search_frame_s": t2 - t1, "rows": len(df)}))
