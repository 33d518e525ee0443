"""A portfolio's scorecards: 50 projects x 10 models scored by `scorecards.portfolio`, cold and warm, and
the same portfolio with 10x the runs per model, with the SQL statements each scoring sends.

Two stores built by benchmarks/scorecards_store.py (BENCH_PROJECTS x BENCH_MODELS registered models,
default 50 x 10 = 500; a third of the projects each Advanced, Automated and Foundational, so every
criterion has work: its docstring lists the rows): RUNS runs per model (default 4: 2,000 runs,
10,000 params) and 10x that (20,000 runs, 100,000 params). For each:

- warm: `scorecards.portfolio(session=s)` in this process, median of BENCH_REPEAT (default 5) after one
  unmeasured call, with the statements counted by a SQLAlchemy `before_cursor_execute` listener;
- cold: a new process imports mlops_nb, opens the store and scores it once (the time from before the
  import to the last card, and the scoring alone), median of 3 processes;
- the phases the cards reach and each criterion's pass/partial/fail counts (a check that the store
  exercises every rule, not a figure).

Beside it, what users would pick instead: MLflow has no scorecard. With `--mlflow-python` (default
/tmp/mlflow-venv/bin/python when it exists; MLflow is never a dependency of this project), its
nearest like-for-like is timed on a store of the same shape (mlflow_side/scorecard_lineage.py): the
evidence of ONE criterion, Phase 1's lineage (each registered model's versions, their runs' params,
metrics and dataset inputs) gathered through `MlflowClient`, per model as users write it and in the
fewest calls the client allows. Ours computes all 12 criteria and 28 tests from more tables.

When the console has a Scorecards page (mlops_nb/console/views/scorecards.py), it is rendered in
AppTest on the base store as max (manager) (console_apptest.py: first render with empty caches, then
the median of BENCH_REPEAT); without one that row says so.

    PYTHONPATH=. .venv/bin/python benchmarks/bench_scorecards.py [--mlflow-python PY] [--skip mlflow apptest]
"""
from __future__ import annotations

import argparse
import collections
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from _bench import emit, fresh_dir, median, perf, r  # noqa: E402

PROJECTS = int(os.environ.get("BENCH_PROJECTS", "50"))
MODELS = int(os.environ.get("BENCH_MODELS", "10"))
RUNS = int(os.environ.get("BENCH_N", "4"))
REPEAT = int(os.environ.get("BENCH_REPEAT", "5"))
TARGET_S = 2.0

# a new process: import, open, score once; prints {"total_s", "score_s", "statements", "cards"}
_COLD = """
import json, sys, time
t0 = time.perf_counter()
from sqlalchemy import event
from mlops_nb.services.monitoring import scorecards
from mlops_nb.store.db import get_engine, session_scope
engine = get_engine(sys.argv[1])
count = [0]
event.listen(engine, "before_cursor_execute", lambda *a: count.__setitem__(0, count[0] + 1))
t1 = time.perf_counter()
with session_scope(engine) as s:
    cards = scorecards.portfolio(session=s)
t2 = time.perf_counter()
print(json.dumps({"total_s": t2 - t0, "score_s": t2 - t1, "statements": count[0], "cards": len(cards)}))
"""


def counted(engine):
    """A callable that scores the portfolio once: (seconds, statements, cards)."""
    from sqlalchemy import event

    from mlops_nb.services.monitoring import scorecards
    from mlops_nb.store.db import session_scope

    count = [0]

    def listener(*_args):
        count[0] += 1

    event.listen(engine, "before_cursor_execute", listener)

    def score():
        count[0] = 0
        start = perf()
        with session_scope(engine) as s:
            cards = scorecards.portfolio(session=s)
        return perf() - start, count[0], cards

    return score


def measure(url: str) -> dict:
    from mlops_nb.store.db import get_engine

    score = counted(get_engine(url))
    _, first_statements, cards = score()
    warm = [score() for _ in range(REPEAT)]
    cold = []
    for _ in range(3):
        done = subprocess.run([sys.executable, "-c", _COLD, url], capture_output=True, text=True, timeout=600,
                              env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
        if done.returncode:
            raise RuntimeError(done.stderr.strip().splitlines()[-1])
        cold.append(json.loads(done.stdout.strip().splitlines()[-1]))
    statuses = collections.Counter(f"{c.name}:{c.status}" for card in cards for m in card.models for c in m.criteria)
    return {"warm_s": r(median([w[0] for w in warm])), "warm_all_s": [r(w[0], 4) for w in warm],
            "statements": sorted({w[1] for w in warm} | {first_statements}),
            "cold_total_s": r(median([c["total_s"] for c in cold])), "cold_score_s": r(median([c["score_s"] for c in cold])),
            "cold_statements": sorted({c["statements"] for c in cold}),
            "project_phases": dict(sorted(collections.Counter(c.phase for c in cards).items())),
            "model_phases": dict(sorted(collections.Counter(m.phase for c in cards for m in c.models).items())),
            "criteria": dict(sorted(statuses.items())),
            "final_scores": dict(sorted(collections.Counter(c.ml_test_score.final for c in cards).items()))}


def mlflow_side(python: str, runs: int) -> dict:
    folder = os.path.join(os.environ.get("BENCH_TMP", "/tmp/mlops-bench"), f"scorecards-mlflow-{PROJECTS}-{MODELS}-{runs}")
    done = subprocess.run([python, os.path.join(HERE, "mlflow_side", "scorecard_lineage.py"), folder, str(PROJECTS),
                           str(MODELS), str(runs), "3"], capture_output=True, text=True, timeout=3600)
    if done.returncode:
        return {"error": done.stderr.strip().splitlines()[-1] if done.stderr.strip() else "failed"}
    return json.loads(done.stdout.strip().splitlines()[-1])


def render(url: str, home: str) -> dict:
    """The console's Scorecards page in AppTest, in its own process (empty caches), as max (manager)."""
    from scorecards_store import PASSWORD

    if not os.path.exists(os.path.join(HERE, "..", "mlops_nb", "console", "views", "scorecards.py")):
        return {"error": "not measured: this checkout's console has no Scorecards page"}
    env = {**os.environ, "MLOPS_DB_URL": url, "MLOPS_HOME": home, "MLOPS_ARTIFACT_ROOT": os.path.join(home, "artifacts"),
           "PYTHONPATH": os.pathsep.join(sys.path)}
    done = subprocess.run([sys.executable, os.path.join(HERE, "console_apptest.py"), "max", PASSWORD, str(REPEAT),
                           "Scorecards"], env=env, capture_output=True, text=True, timeout=1200)
    if done.returncode:
        return {"error": done.stderr.strip().splitlines()[-1] if done.stderr.strip() else "failed"}
    return json.loads(done.stdout.strip().splitlines()[-1])["pages"]["Scorecards"]


def main() -> None:
    from scorecards_store import build

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    default_mlflow = "/tmp/mlflow-venv/bin/python"
    ap.add_argument("--mlflow-python", default=default_mlflow if os.path.exists(default_mlflow) else None)
    ap.add_argument("--skip", nargs="*", default=[], choices=["mlflow", "apptest"])
    args = ap.parse_args()
    figures: dict = {}
    stores = {}
    for label, runs in (("base", RUNS), ("runs_x10", RUNS * 10)):
        folder = fresh_dir(f"mlops-bench-scorecards-{label}-")
        start = perf()
        built = build(PROJECTS, MODELS, runs, folder)
        stores[label] = built
        figures[label] = {"runs_per_model": runs, "runs": built["rows"]["run"], "params": built["rows"]["param"],
                          "build_s": r(perf() - start, 2), **measure(built["url"])}
    base, more = figures["base"], figures["runs_x10"]
    page = {"error": "skipped (--skip apptest)"} if "apptest" in args.skip else render(stores["base"]["url"],
                                                                                        stores["base"]["home"])
    if "mlflow" in args.skip or not args.mlflow_python:
        mlflow = {"error": "not measured: no MLflow python (--mlflow-python; see benchmarks/README.md)"}
    else:
        mlflow = mlflow_side(args.mlflow_python, RUNS)
    emit("scorecards", value_s=base["warm_s"], target_s=TARGET_S, met=base["warm_s"] < TARGET_S and base["cold_score_s"] < TARGET_S,
         projects=PROJECTS, models=PROJECTS * MODELS, base=base, runs_x10=more,
         runs_x10_vs_base_warm=r(more["warm_s"] / base["warm_s"], 2),
         statements_same=base["statements"] == more["statements"] == base["cold_statements"] == more["cold_statements"],
         mlflow_lineage=mlflow,
         mlflow_per_model_vs_ours=r(mlflow["per_model"]["median_s"] / base["warm_s"], 1) if "per_model" in mlflow else None,
         mlflow_batched_vs_ours=r(mlflow["batched"]["median_s"] / base["warm_s"], 2) if "batched" in mlflow else None,
         console_page=page, load_avg=os.getloadavg())


if __name__ == "__main__":
    main()
