"""Feature pipeline overhead on the serving hot path: `FeaturePipeline.compute` on 1 and 10,000 rows,
side by side with what a user writes by hand (`df.assign(avg_spend=f(df))`), as ratios.

Part S's scorer calls `compute` on every batch; the budget for the 1-row case is under 2 ms of
overhead in total. No store is touched (bind finds the function of this process by source hash).

    PYTHONPATH=. .venv/bin/python benchmarks/bench_features.py
"""
from __future__ import annotations

import time

import numpy as np
import pandas as pd

from _bench import emit, median, r
from mlops_nb.services.data import features
from mlops_nb.services.data.feature_pipeline import bind
from mlops_nb.services.data.feature_results import FeatureDefinitionPublic


def avg_spend(df):
    return df["spend_7d"] / 7


def timed(call, repeat: int) -> float:
    """Median seconds per call over `repeat` calls (after 20 warm-up calls)."""
    for _ in range(20):
        call()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return median(times)


def main() -> None:
    source = features.source_of(avg_spend)
    digest = features.source_hash(source)
    features.remember("avg_spend", avg_spend, digest)
    definition = FeatureDefinitionPublic(id=1, name="avg_spend", version=1, source=source, source_hash=digest)
    empty, one = bind([]), bind([definition])
    fields = {}
    for rows in (1, 10_000):
        frame = pd.DataFrame({"spend_7d": np.linspace(1, 500, rows), "income": np.linspace(900, 9000, rows)})
        served = frame.assign(avg_spend=frame.spend_7d / 7)
        by_hand = timed(lambda f=frame: f.assign(avg_spend=avg_spend(f)), 2000 if rows == 1 else 200)
        ours = timed(lambda f=frame: one.compute(f), 2000 if rows == 1 else 200)
        checked = timed(lambda f=served: one.compute(f), 2000 if rows == 1 else 200)
        none = timed(lambda f=frame: empty.compute(f), 2000)
        fields[f"rows_{rows}"] = {"by_hand_s": r(by_hand), "compute_s": r(ours), "overhead_s": r(ours - by_hand),
                                  "ratio": r(ours / by_hand, 2), "compute_with_served_column_s": r(checked),
                                  "no_features_s": r(none, 9)}
    emit("features_compute", value_s=fields["rows_1"]["compute_s"], **fields)


if __name__ == "__main__":
    main()
