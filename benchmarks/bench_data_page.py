"""The console's Data page reads on a large project, side by side with the reads they sit beside.

A store with one registered model (German Credit, through the API) and, inserted in bulk, BENCH_N
scoring batches (default 20,000: SUMMARY_BATCHES, the most a summary reads) over 5 versions, 200
dataset versions with 2,000 validation reports, and 50 features of 3 versions each named by 5 model
versions. Each read is timed warm (median of BENCH_REPEAT, default 5):

- project_batches(limit=100) (every model, newest first) beside batches.recent_batches(limit=100)
  of the one model (what Part S's notebook read costs): the ratio says what reading the project costs;
- version_summaries() (20,000 rows read and grouped in Python) beside a SQL GROUP BY count of the
  same batches (the floor: no percentiles, no last outcome);
- batch_detail, dataset_versions (a grouped count joined), validations_of (50 reports), feature_catalog.

    PYTHONPATH=. .venv/bin/python benchmarks/bench_data_page.py
"""
from __future__ import annotations

import os
import random
import sys
import time
import uuid

sys.path.insert(0, os.path.dirname(__file__))
from _bench import emit, fresh_store, median, perf, r  # noqa: E402

N = int(os.environ.get("BENCH_N", "20000"))
REPEAT = int(os.environ.get("BENCH_REPEAT", "5"))
STATUSES = ("accepted",) * 7 + ("warned", "warned", "refused")


def timed(call) -> float:
    call()  # warm
    times = []
    for _ in range(REPEAT):
        start = perf()
        call()
        times.append(perf() - start)
    return median(times)


def build(url: str, home: str) -> tuple[int, int, list[int], int]:
    """The store: (project id, model id, model version ids, a dataset version id with validations)."""
    import pandas as pd
    from sklearn.linear_model import LogisticRegression
    from sqlalchemy import insert, select

    import mlops_nb as mlops
    from mlops_nb.store.db import session_scope
    from mlops_nb.store.models import (
        DatasetVersion,
        FeatureDefinition,
        ModelVersion,
        RegisteredModel,
        ScoringBatch,
        ValidationRecord,
    )

    ctx = mlops.init(project="bench", db_url=url, user="dana", artifact_root=os.path.join(home, "artifacts"))
    frame = pd.DataFrame({"x": [float(i % 7) for i in range(200)], "y": [i % 2 for i in range(200)]})
    for _ in range(5):
        with mlops.start_run(experiment="data-page"):
            mlops.log_dataset(frame, name="train")
            mlops.register_model(LogisticRegression().fit(frame[["x"]], frame["y"]), name="scorer", dataset="train",
                                 target="y")
    rng = random.Random(42)
    now = time.time()
    with session_scope(ctx.engine) as s:
        model_id = s.execute(select(RegisteredModel.id).where(RegisteredModel.name == "scorer")).scalar_one()
        versions = list(s.execute(select(ModelVersion.id).where(ModelVersion.model_id == model_id)
                                  .order_by(ModelVersion.version)).scalars())
        finding = {"column": "x", "rule": "out_of_range", "severity": "warning", "message": "x above range",
                   "examples": [9.0], "details": {}}
        s.execute(insert(ScoringBatch), [
            {"id": uuid.uuid4().hex, "model_version_id": rng.choice(versions), "stage": "production",
             "method": "predict_proba", "status": (status := rng.choice(STATUSES)), "rows": rng.randint(1, 500),
             "latency_ms": None if status == "refused" else rng.uniform(2, 40),
             "findings": [] if status == "accepted" else [finding], "features": [],
             "input_profile": {"x": {"dtype": "float64", "count": 10, "nulls": 0, "mean": 3.0}},
             "prediction_profile": {"mean": 0.4, "histogram": [1] * 10}, "created_by": "svc",
             "created_at": now - i} for i in range(N)])
        schema = {"columns": [{"name": f"c{j}", "dtype": "float64", "kind": "numerical", "nullable": False}
                              for j in range(20)]}
        datasets = s.execute(insert(DatasetVersion).returning(DatasetVersion.id), [
            {"project_id": ctx.project_id, "name": f"d{k // 4}", "version": k % 4 + 1,
             "fingerprint": f"{k:064x}", "rows": 1000, "columns": 20, "schema_": schema,
             "profile": {f"c{j}": {"null_rate": 0.0, "min": 0, "max": 1} for j in range(20)},
             "created_by": "dana", "created_at": now - k} for k in range(200)]).scalars().all()
        s.execute(insert(ValidationRecord), [
            {"project_id": ctx.project_id, "dataset_version_id": datasets[k % 4], "subject": "frame", "rows": 100,
             "ok": k % 3 != 0, "errors": int(k % 3 == 0), "warnings": 1, "findings": [finding],
             "created_by": "dana", "created_at": now - k} for k in range(2000)])
        definitions = [{"project_id": ctx.project_id, "name": f"f{k // 3}", "version": k % 3 + 1,
                        "source": f"def f(df):\n    return df['x'] * {k}\n", "source_hash": f"{k:064x}",
                        "function": "bench:f", "outputs": [f"f{k // 3}"], "created_by": "dana", "created_at": now}
                       for k in range(150)]
        s.execute(insert(FeatureDefinition), definitions)
        refs = [{"name": d["name"], "version": d["version"], "source_hash": d["source_hash"]}
                for d in definitions if d["version"] == 1]
        for version_id in versions:
            row = s.get(ModelVersion, version_id)
            row.features = refs
            s.add(row)
    return ctx.project_id, model_id, versions, datasets[0]


def main() -> None:
    from sqlalchemy import func, select

    from mlops_nb.api.context import current
    from mlops_nb.services.data import catalog
    from mlops_nb.services.monitoring import batches, project_batches
    from mlops_nb.store.db import session_scope
    from mlops_nb.store.models import ScoringBatch

    home, url = fresh_store("mlops-bench-data-page-")
    t = perf()
    project_id, _, versions, dataset_id = build(url, home)
    build_s = perf() - t
    engine = current().engine

    def read(call):
        def run():
            with session_scope(engine) as s:
                return call(s)
        return run

    with session_scope(engine) as s:
        newest = project_batches.project_batches(session=s, project_id=project_id, limit=1)[0]["id"]
    figures = {
        "project_batches_s": timed(read(lambda s: project_batches.project_batches(session=s, project_id=project_id))),
        "recent_batches_one_model_s": timed(read(lambda s: batches.recent_batches(
            session=s, project_id=project_id, model="scorer", limit=100))),
        "version_summaries_s": timed(read(lambda s: project_batches.version_summaries(session=s,
                                                                                       project_id=project_id))),
        "group_by_count_floor_s": timed(read(lambda s: s.execute(
            select(ScoringBatch.model_version_id, func.count(), func.sum(ScoringBatch.rows))
            .group_by(ScoringBatch.model_version_id)).all())),
        "batch_detail_s": timed(read(lambda s: project_batches.batch_detail(session=s, project_id=project_id,
                                                                             batch_id=newest))),
        "dataset_versions_s": timed(read(lambda s: catalog.dataset_versions(session=s, project_id=project_id))),
        "validations_of_s": timed(read(lambda s: catalog.validations_of(session=s, project_id=project_id,
                                                                         dataset_version_id=dataset_id))),
        "feature_catalog_s": timed(read(lambda s: catalog.feature_catalog(session=s, project_id=project_id))),
    }
    emit("data_page", value_s=r(figures["project_batches_s"]), batches=N, versions=len(versions),
         build_s=r(build_s, 2), **{k: r(v) for k, v in figures.items()},
         project_vs_one_model=r(figures["project_batches_s"] / figures["recent_batches_one_model_s"], 2),
         summaries_vs_group_by=r(figures["version_summaries_s"] / figures["group_by_count_floor_s"], 2))


if __name__ == "__main__":
    main()
