"""`import mlops_nb` in a fresh process (median of N, warm disk), with `import sqlite3` and an empty
interpreter as floors. Each sample is the wall time of `python -c ...` minus nothing: what a user waits."""
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _bench import emit, median, perf, r  # noqa: E402

N = int(os.environ.get("BENCH_N", "7"))


def time_cmd(code: str) -> dict:
    subprocess.run([sys.executable, "-c", code], check=True)  # warm the page cache and .pyc
    ts = []
    for _ in range(N):
        t0 = perf()
        subprocess.run([sys.executable, "-c", code], check=True)
        ts.append(perf() - t0)
    return {"min_s": r(min(ts), 4), "median_s": r(median(ts), 4), "all_s": [r(t, 4) for t in ts]}


# in-process figure too (excludes interpreter start-up), measured in a child
inproc = subprocess.run([sys.executable, "-c",
                         "import time; t=time.perf_counter(); import mlops_nb; print(time.perf_counter()-t)"],
                        check=True, capture_output=True, text=True)
res = {"import_mlops_nb": time_cmd("import mlops_nb"),
       "import_sqlite3_floor": time_cmd("import sqlite3"),
       "python_noop": time_cmd("pass"),
       "import_mlops_nb_in_process_s": r(float(inproc.stdout.strip()), 4)}
emit("import", samples=N, value_s=res["import_mlops_nb"]["median_s"], **res)
