"""What storing a drift reference adds to `log_dataset`, one run.

`mlops.log_dataset` computes the dataset's reference profile (services.monitoring.drift_reference:
per numeric column its sorted distinct values and counts, per other column its label counts) and
writes it beside the sample, before the store's write lock, so every later drift run reads only the
current data. This times, on a frame of BENCH_N rows x BENCH_COLS columns (3/5 numeric: floats with
a few NaN and ints of 1,000 values; 2/5 text with 3-20 levels), median of BENCH_REPEAT, each time
a new version (other content):

- `log_dataset`: the service alone (fingerprint, schema, profile, sample, the inserts), as before;
- `hook`: staged_reference (profile + npz bytes staged) and store_reference (placed, row inserted);
- `api`: `mlops.log_dataset` inside a run, which does both in one transaction;
- the ratio hook / log_dataset: what a user pays on top.

Prints one JSON line; figures go to docs/benchmarks.md.

    BENCH_N=100000 BENCH_COLS=30 .venv/bin/python benchmarks/bench_drift_reference.py
    BENCH_N=1000000 BENCH_COLS=50 .venv/bin/python benchmarks/bench_drift_reference.py
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from _bench import emit, fresh_store, median, perf, r  # noqa: E402

N = int(os.environ.get("BENCH_N", "100000"))
COLS = int(os.environ.get("BENCH_COLS", "30"))
REPEAT = int(os.environ.get("BENCH_REPEAT", "3"))


def make(n: int, cols: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    numeric = cols * 3 // 5
    data = {}
    for i in range(numeric):
        if i % 3 == 0:
            data[f"n{i}"] = rng.integers(0, 1_000, n)
        else:
            x = rng.normal(100 * i, 10 + i, n)
            x[rng.random(n) < 0.01] = np.nan
            data[f"n{i}"] = x
    for i in range(cols - numeric):
        k = 3 + i % 18
        data[f"c{i}"] = rng.choice([f"level_{j}" for j in range(k)], n)
    return pd.DataFrame(data)


def main() -> None:
    import mlops_nb as mlops
    from mlops_nb.services import data
    from mlops_nb.services.monitoring import drift
    from mlops_nb.store.db import session_scope

    _, url = fresh_store("mlops-bench-drift-ref-")
    ctx = mlops.init(project="bench", db_url=url, user="bench")
    frames = [make(N, COLS, seed) for seed in range(REPEAT * 3)]
    service, hook, api = [], [], []
    with mlops.start_run(experiment="bench") as run:
        for i in range(REPEAT):
            frame = frames[3 * i]
            t0 = perf()
            with session_scope(ctx.engine) as session:
                data.log_dataset(session=session, store=ctx.artifacts, project_id=ctx.project_id, df=frame,
                                 name="plain", run_id=run.id, user="bench")
            service.append(perf() - t0)
            frame = frames[3 * i + 1]
            with session_scope(ctx.engine) as session:
                version = data.log_dataset(session=session, store=ctx.artifacts, project_id=ctx.project_id,
                                           df=frame, name="hooked", run_id=run.id, user="bench")
            t0 = perf()
            with drift.staged_reference(ctx.artifacts, frame) as staged, session_scope(ctx.engine) as session:
                drift.store_reference(session=session, store=ctx.artifacts, dataset_version_id=version.id,
                                      profile=staged.profile, staged_file=staged.file)
                size = staged.file.stored.size
            hook.append(perf() - t0)
            t0 = perf()
            mlops.log_dataset(frames[3 * i + 2], name="api")
            api.append(perf() - t0)
    result = {"rows": N, "columns": COLS, "repeat": REPEAT,
              "log_dataset_s": r(median(service)), "hook_s": r(median(hook)), "api_log_dataset_s": r(median(api)),
              "hook_over_log_dataset": r(median(hook) / median(service), 3), "reference_bytes": size,
              "frame_bytes": int(frames[0].memory_usage(deep=True).sum())}
    result["value_s"] = result["hook_s"]
    emit("drift_reference", **result)


if __name__ == "__main__":
    main()
