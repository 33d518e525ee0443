"""A new store: `mlops.init(db_url=<new sqlite file>)` in a fresh process (create + migrate), median of
N processes. `value_s` is the init call (after `import mlops_nb`, as MLflow's anchor times
create_experiment after `import mlflow`); `with_import_s` adds the import."""
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _bench import emit, fresh_store, median, r  # noqa: E402

N = int(os.environ.get("BENCH_N", "5"))
CHILD = r"""
import json, sys, time
t0 = time.perf_counter()
import mlops_nb as mlops
t1 = time.perf_counter()
mlops.init(project="bench", db_url=sys.argv[1], user="bench")
t2 = time.perf_counter()
print(json.dumps({"import_s": t1 - t0, "init_s": t2 - t1}))
"""

samples = []
for i in range(N + 1):
    tmp, url = fresh_store("mlops-newstore-")
    out = subprocess.run([sys.executable, "-c", CHILD, url], check=True, capture_output=True, text=True,
                         env=os.environ)
    if i:  # the first process warms the page cache and .pyc files
        samples.append(json.loads(out.stdout.strip().splitlines()[-1]))
init = [s["init_s"] for s in samples]
both = [s["init_s"] + s["import_s"] for s in samples]
emit("new_store", samples=N, value_s=r(median(init), 4), init_all_s=[r(x, 4) for x in init],
     with_import_s=r(median(both), 4))
