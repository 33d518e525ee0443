"""`mlops monitor run` over 20 production models with a month of batches each (issue 11: under 10 s),
beside evidently's own report for the same 20 windows.

The store: 20 models, each a German Credit pipeline (tests.factories.fit_credit_model) trained on its
own bootstrap sample of the data (1,000 rows, 20 inputs: 7 numerical, 13 categorical), promoted to
production, then scored through `mlops.load_model(...).predict_proba` in 30 batches of 1,000 rows
drawn from the data with loan amounts and durations creeping up day by day (the economy shifting),
the batches' times spread over the last 30 days. No rules: SPEC §4's defaults (validation findings,
dataset drift of the window), so every model gets one drift report over 30,000 rows.

- cold: `mlops --db URL monitor run` in a subprocess, as cron runs it (interpreter start, imports,
  the lock, 20 windows read from the sample files, 20 reports with prediction drift, alerts), on a
  fresh copy of the store each time (median of 3).
- warm: `run_monitor` in this process on a fresh copy, after one run on another copy (imports
  done, each version's reference predictions cached), median of 3.
- evidently: `Report([DataDriftPreset()], include_tests=True).run(current, reference)` per model,
  the same reference (the model's training data less the target) and the same 30,000 current rows
  (features only: our run also tests the prediction column), summed over the 20.

    PYTHONPATH=. .venv/bin/python benchmarks/bench_monitor.py      (BENCH_MODELS, BENCH_DAYS to shrink)
"""
from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
import time
import warnings

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _bench import emit, fresh_store, median, perf, r  # noqa: E402

MODELS = int(os.environ.get("BENCH_MODELS", "20"))
DAYS = int(os.environ.get("BENCH_DAYS", "30"))
ROWS = 1_000
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MLOPS = os.path.join(os.path.dirname(sys.executable), "mlops")


def _credit():
    import pandas as pd

    return pd.read_csv(os.path.join(ROOT, "mlops_nb", "data", "german_credit.csv"))


def batch_frame(X, model: int, day: int):
    """Day `day`'s 1,000 applicants for model `model`: amounts and durations up by day/30 * 60%."""
    frame = X.sample(ROWS, replace=True, random_state=10_000 * model + day).reset_index(drop=True)
    factor = 1 + 0.6 * day / DAYS
    frame["credit_amount"] = (frame["credit_amount"] * factor).round().astype("int64")
    frame["duration_in_month"] = (frame["duration_in_month"] * factor).round().astype("int64")
    return frame


def training_frame(credit, model: int):
    return credit.sample(len(credit), replace=True, random_state=model).reset_index(drop=True)


def build(url: str, artifacts: str) -> None:
    """The store described in the module doc."""
    from sqlalchemy import select, update

    import mlops_nb as mlops
    from mlops_nb.services import monitoring
    from mlops_nb.store.db import session_scope
    from mlops_nb.store.models import ModelVersion, RegisteredModel, ScoringBatch
    from tests.factories import fit_credit_model, move_stage

    credit = _credit()
    ctx = mlops.init(project="bench", db_url=url, user="bench", artifact_root=artifacts)
    now = time.time()
    for m in range(MODELS):
        data = training_frame(credit, m)
        with mlops.start_run(experiment="monitor"):
            mlops.log_dataset(data, name=f"german-{m}")
            pipe, X = fit_credit_model(data)
            mlops.register_model(pipe, name=f"credit-{m}", dataset=f"german-{m}", target="creditability")
        with session_scope(ctx.engine) as session:
            row = session.execute(select(ModelVersion).join(RegisteredModel).where(
                RegisteredModel.name == f"credit-{m}")).scalars().one()
            move_stage(session, row, "staging")
            move_stage(session, row, "production")
            version_id = row.id
        live = mlops.load_model(f"credit-{m}", stage="production")
        ids = []
        for day in range(DAYS):
            live.predict_proba(batch_frame(X, m, day))
            ids.append(live.last_batch_id)
        monitoring.writer_for(ctx.engine, ctx.artifacts).flush()
        with session_scope(ctx.engine) as session:
            for day, batch_id in enumerate(ids):
                session.execute(update(ScoringBatch).where(ScoringBatch.id == batch_id)
                                .values(created_at=now - (DAYS - day) * 86400.0))
            assert session.execute(select(ScoringBatch).where(ScoringBatch.model_version_id == version_id)
                                   ).scalars().all()


def copy_store(base: str, url: str, n: int) -> str:
    """A fresh copy of the store's SQLite file (and its audit key) as `copy-N.db`; its URL."""
    path = url.removeprefix("sqlite:///")
    target = os.path.join(base, f"copy-{n}.db")
    with sqlite3.connect(path) as source, sqlite3.connect(target) as copy:  # the WAL's pages too
        source.backup(copy)
    if os.path.exists(path + ".audit-key"):
        shutil.copy(path + ".audit-key", target + ".audit-key")
    return f"sqlite:///{target}"


def cold(base: str, url: str, artifacts: str) -> tuple[float, str]:
    times, out = [], ""
    for n in range(3):
        copy = copy_store(base, url, 100 + n)
        env = {**os.environ, "MLOPS_ARTIFACT_ROOT": artifacts, "PYTHONPATH": ROOT}
        t0 = perf()
        done = subprocess.run([MLOPS, "--db", copy, "monitor", "run"], capture_output=True, text=True, env=env)
        times.append(perf() - t0)
        assert done.returncode == 0, done.stderr
        out = done.stdout
    return median(times), out


def warm(base: str, url: str, artifacts: str) -> tuple[float, int]:
    from mlops_nb.services import identity
    from mlops_nb.services.monitoring.monitor import run_monitor
    from mlops_nb.store.artifacts import artifact_store
    from mlops_nb.store.db import get_engine

    store = artifact_store(artifacts)
    run_monitor(engine=get_engine(copy_store(base, url, 200)), store=store, actor=identity.OPERATOR)
    times, reports = [], 0
    for n in range(3):
        engine = get_engine(copy_store(base, url, 201 + n))
        t0 = perf()
        result = run_monitor(engine=engine, store=store, actor=identity.OPERATOR)
        times.append(perf() - t0)
        reports = len(result.reports)
    return median(times), reports


def evidently_side() -> float:
    import pandas as pd
    from evidently import Report
    from evidently.presets import DataDriftPreset

    credit = _credit()
    total = 0.0
    for m in range(MODELS):
        reference = training_frame(credit, m).drop(columns="creditability")
        current = pd.concat([batch_frame(reference, m, day) for day in range(DAYS)], ignore_index=True)
        t0 = perf()
        snapshot = Report([DataDriftPreset()], include_tests=True).run(current, reference)
        snapshot.dict()
        total += perf() - t0
    return total


def main() -> None:
    warnings.filterwarnings("ignore")
    base, url = fresh_store("mlops-bench-monitor-")
    artifacts = os.path.join(base, "artifacts")
    t0 = perf()
    build(url, artifacts)
    built = perf() - t0
    cold_s, lines = cold(base, url, artifacts)
    warm_s, reports = warm(base, url, artifacts)
    evidently_s = evidently_side()
    emit("monitor_run", models=MODELS, days=DAYS, rows_per_batch=ROWS, build_s=r(built, 1),
         cold_cli_s=r(cold_s, 3), warm_s=r(warm_s, 3), reports=reports, alert_lines=len(lines.splitlines()),
         evidently_20_reports_s=r(evidently_s, 3), evidently_over_warm=r(evidently_s / warm_s, 2),
         evidently_over_cold=r(evidently_s / cold_s, 2), budget_s=10, within_budget=cold_s < 10)


if __name__ == "__main__":
    main()
