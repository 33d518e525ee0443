"""Create N runs (params model and depth, metric auc) through the public API, then time the filtered
search `metrics.auc > 0.8 and params.model = 'rf'` returning a pandas DataFrame, as
`mlflow.search_runs` does: `mlops.runs(...).to_frame()`, warm (median of 3, store open, in this
process) and cold (median of 3 fresh processes: interpreter start, `import mlops_nb`, open the store,
search, DataFrame; timed from outside, as run_all times MLflow's cold search). The data are drawn from
random.Random(42) in the order MLflow's anchor (anchors/mlflow/search_runs.py) draws them, so the count
of matching runs can be checked against its `expected_matches`.

Each timed section starts after a full garbage collection: otherwise the one generation-2 collection
that start-up (imports, first-use statement compilation) makes due, ~35 ms here, lands in whichever
section happens to be running when it comes due (the create loop, or the unfiltered search), and a
change in how much start-up allocates moves it from one figure to another."""
import gc
import json
import os
import random
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _bench import FILTER, emit, fresh_store, median, perf, r  # noqa: E402

N = int(os.environ.get("BENCH_N", "10000"))

import mlops_nb as mlops  # noqa: E402

tmp, url = fresh_store()
mlops.init(project="bench", db_url=url, user="bench")
rng = random.Random(42)
truth = []
gc.collect()
t_create = perf()
for _ in range(N):
    model = rng.choice(["rf", "lr", "gbm"])
    depth = rng.randint(1, 12)
    auc = rng.uniform(0.5, 0.95)
    mlops.start_run(experiment="bench_search")
    mlops.log_params({"model": model, "depth": depth})
    mlops.log_metric("auc", auc)
    mlops.end_run()
    truth.append((model, auc))
create_s = perf() - t_create
expected = sum(1 for m, a in truth if m == "rf" and a > 0.8)

times, table = [], None
gc.collect()
for _ in range(3):
    t = perf()
    table = mlops.runs("bench_search", filter=FILTER)
    times.append(perf() - t)
found = len(table.rows)
assert found == expected, (found, expected)
frame_times, frame = [], None
gc.collect()
for _ in range(3):
    t = perf()
    frame = mlops.runs("bench_search", filter=FILTER).to_frame()
    frame_times.append(perf() - t)
assert type(frame).__name__ == "DataFrame" and len(frame) == expected, (type(frame), len(frame))
COLD = r"""
import json, sys, time
t0 = time.perf_counter()
import mlops_nb as mlops
t1 = time.perf_counter()
mlops.init(project="bench", db_url=sys.argv[1], user="bench")
df = mlops.runs("bench_search", filter=sys.argv[2]).to_frame()
t2 = time.perf_counter()
print(json.dumps({"import_s": t1 - t0, "open_search_frame_s": t2 - t1, "rows": len(df)}))
"""
cold_times, cold = [], {}
for _ in range(3):
    t = perf()
    done = subprocess.run([sys.executable, "-c", COLD, url, FILTER], check=True, capture_output=True, text=True)
    cold_times.append(perf() - t)
    cold = json.loads(done.stdout.strip().splitlines()[-1])
    assert cold["rows"] == expected, cold
gc.collect()
t = perf()
everything = mlops.runs("bench_search")
t_all = perf() - t
emit("runs_search", load_avg_1m=r(os.getloadavg()[0], 2), runs=N, create_total_s=r(create_s, 3), create_per_run_ms=r(create_s / N * 1e3, 4),
     filter=FILTER, expected_matches=expected, matches=found, value_s=r(median(frame_times), 4),
     frame_all_s=[r(x, 4) for x in frame_times], rows_table_s=r(median(times), 4),
     cold_process_s=r(median(cold_times), 3), cold_all_s=[r(x, 3) for x in cold_times],
     cold_import_s=r(cold["import_s"], 3), cold_open_search_frame_s=r(cold["open_search_frame_s"], 3),
     unfiltered_s=r(t_all, 4), unfiltered_rows=len(everything.rows),
     note="value_s: warm, DataFrame (to_frame); rows_table_s: the RunTable alone")
