"""How long does a notebook's `log_metric` wait while another notebook logs a large dataset?

Two processes on one SQLite store: a writer logs a metric point every few milliseconds and records
each call's wall time; the other logs a frame of ROWS rows with two id-like string columns (what
makes fingerprints and profiles slow). Prints the writer's slowest call and how long the dataset
took. Run it on two trees to compare:

    PYTHONPATH=. python benchmarks/lock_wait.py            # ROWS=1000000 by default
"""
from __future__ import annotations

import multiprocessing as mp
import os
import sys
import tempfile
import time
from typing import Any


def _writer(url: str, root: str, ready: Any, stop: Any, out: Any) -> None:
    import mlops_nb as mlops

    mlops.init(project="bench", db_url=url, user="w", artifact_root=root)
    mlops.start_run(experiment="lock")
    waits: list[float] = []
    errors: list[str] = []
    ready.set()
    while not stop.is_set():
        began = time.perf_counter()
        try:
            mlops.log_metric("loss", 0.5)
        except Exception as err:  # noqa: BLE001 - reported, not raised
            errors.append(f"{type(err).__module__}.{type(err).__name__}: {err}"[:160])
        waits.append(time.perf_counter() - began)
        time.sleep(0.005)
    mlops.end_run()
    out.put((waits, errors))


def main() -> None:
    import numpy as np
    import pandas as pd

    import mlops_nb as mlops

    rows = int(os.environ.get("ROWS", "1000000"))
    folder = tempfile.mkdtemp()
    url, root = f"sqlite:///{folder}/store.db", f"{folder}/artifacts"
    mlops.init(project="bench", db_url=url, user="d", artifact_root=root)
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"customer_id": [f"C{i:09d}" for i in range(rows)],
                          "account_id": [f"A{rng.integers(1e12):012d}" for _ in range(rows)],
                          "amount": rng.normal(100, 20, rows), "label": rng.integers(0, 2, rows)})
    spawn = mp.get_context("spawn")
    ready, stop, out = spawn.Event(), spawn.Event(), spawn.Queue()
    writer = spawn.Process(target=_writer, args=(url, root, ready, stop, out))
    writer.start()
    ready.wait(60)
    time.sleep(0.5)
    began = time.perf_counter()
    with mlops.start_run(experiment="data"):
        mlops.log_dataset(frame, name="transactions")
    took = time.perf_counter() - began
    time.sleep(0.5)
    stop.set()
    waits, errors = out.get(timeout=120)
    writer.join()
    waits.sort()
    print(f"rows={rows} log_dataset={took:.2f}s log_metric calls={len(waits)} "
          f"median={waits[len(waits) // 2] * 1000:.1f}ms max={waits[-1] * 1000:.0f}ms errors={len(errors)}")
    for error in errors[:3]:
        print("  ", error)
    sys.stdout.flush()


if __name__ == "__main__":
    main()
