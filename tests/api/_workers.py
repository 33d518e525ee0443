"""Child processes for the concurrency and fault tests, run as `python _workers.py MODE ARGS...`.

Each mode imports the package first, then (where a barrier folder is given) announces it is ready
and waits for the parent's "go", so all children hit the store at the same moment.
"""
from __future__ import annotations

import sys
import time
from pathlib import Path


def _barrier(folder: str, index: int) -> None:
    path = Path(folder)
    (path / f"ready-{index}").touch()
    deadline = time.time() + 120
    while not (path / "go").exists():
        if time.time() > deadline:
            raise SystemExit("the parent never said go")
        time.sleep(0.005)


def log_points(url: str, index: str, points: str, barrier: str = "") -> None:
    """Open the store (maybe new), start a run, log params and `points` metric points one by one."""
    import mlops_nb as mlops

    i = int(index)
    if barrier:
        _barrier(barrier, i)
    mlops.init(project="concurrent", db_url=url, user=f"worker{i}")
    with mlops.start_run(experiment="load", name=f"worker-{i}"):
        mlops.log_params({"worker": i, "points": int(points)})
        for step in range(int(points)):
            mlops.log_metric("loss", 1.0 / (step + 1))
    print("done", flush=True)


def log_forever(url: str, run_file: str) -> None:
    """Start a run, write its id to `run_file`, then log until killed (the parent sends SIGKILL)."""
    import mlops_nb as mlops

    mlops.init(project="faults", db_url=url, user="victim")
    run = mlops.start_run(experiment="killed", name="victim")
    Path(run_file + ".tmp").write_text(run.id)
    Path(run_file + ".tmp").rename(run_file)
    step = 0
    while True:
        mlops.log_metric("loss", 1.0 / (step + 1))
        step += 1
        time.sleep(0.01)


def paused_owner(url: str) -> None:
    """Start a run, print its id, then follow the parent's lines on stdin: `log N` logs param pN and
    metric m = N and prints `ok N` (or the refusal); `end` ends the run and prints its status."""
    import mlops_nb as mlops

    mlops.init(project="paused", db_url=url, user="owner")
    print(mlops.start_run(experiment="lid", name="paused").id, flush=True)
    for line in sys.stdin:
        command, _, value = line.strip().partition(" ")
        if command == "end":
            print(mlops.end_run().status, flush=True)
            return
        try:
            mlops.log_param(f"p{value}", int(value))
            mlops.log_metric("m", float(value))
            print(f"ok {value}", flush=True)
        except mlops.MlopsError as err:
            print(f"refused {err}", flush=True)


if __name__ == "__main__":
    {"log_points": log_points, "log_forever": log_forever,
     "paused_owner": paused_owner}[sys.argv[1]](*sys.argv[2:])
