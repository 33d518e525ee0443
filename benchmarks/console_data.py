"""The console benchmark's runs: one credit-scoring sweep, the same rows for our store and MLflow's.

Stdlib only: `console_store.py` (our venv) and `mlflow_side/ui_store.py` (MLflow's venv) both import
it, so both stores hold the same run ids, names, params, metrics and times (`random.Random(SEED)`).

    for run in sweep(10_000): run["id"], run["name"], run["params"], run["metrics"], run["start_time"]
"""
from __future__ import annotations

import random
from collections.abc import Iterator
from typing import Any

SEED = 42
EXPERIMENT = "credit-sweep"
PROJECT = "credit"
RUN_PREFIX = "sweep-"  # every run's name starts with it: the browser waits for a row showing one
T0 = 1_764_000_000.0  # 2025-11-24 16:00 UTC: the sweep's first run starts here (epoch seconds)
SPAN_S = 30 * 86_400  # the runs start over 30 days
MODELS = ("logistic_regression", "random_forest", "gradient_boosting")
USERS = ("dana", "eli")


def sweep(n: int, seed: int = SEED) -> Iterator[dict[str, Any]]:
    """`n` finished runs of a credit-scoring sweep, oldest first: {"id": 32 hex chars, "name": str,
    "user": str, "start_time": s, "end_time": s, "params": {str: str} (7), "metrics": {str: float} (7)}.
    The same `n` and `seed` always give the same runs."""
    rng = random.Random(seed)
    for i in range(n):
        model = rng.choice(MODELS)
        params = {"model": model, "max_depth": str(rng.randint(2, 12)), "n_estimators": str(rng.choice((50, 100, 200, 400))),
                  "learning_rate": f"{rng.choice((0.01, 0.03, 0.1, 0.3)):g}", "C": f"{10 ** rng.uniform(-3, 2):.4g}",
                  "class_weight": rng.choice(("none", "balanced")), "seed": str(rng.randint(0, 9))}
        base = {"logistic_regression": 0.74, "random_forest": 0.77, "gradient_boosting": 0.79}[model]
        auc = min(0.95, max(0.5, rng.gauss(base, 0.03)))
        accuracy = min(0.99, max(0.5, auc - 0.04 + rng.gauss(0, 0.01)))
        precision, recall = min(0.99, auc - 0.1 + rng.gauss(0, 0.03)), min(0.99, auc - 0.15 + rng.gauss(0, 0.05))
        metrics = {"roc_auc": auc, "accuracy": accuracy, "precision": precision, "recall": recall,
                   "f1": 2 * precision * recall / (precision + recall), "log_loss": 0.9 - auc * 0.6 + rng.gauss(0, 0.02),
                   "brier": 0.3 - auc * 0.2 + rng.gauss(0, 0.01)}
        start = T0 + SPAN_S * i / max(n, 1) + rng.uniform(0, 60)
        yield {"id": f"{rng.getrandbits(128):032x}", "name": f"{RUN_PREFIX}{i:05d}", "user": USERS[i % len(USERS)],
               "start_time": start, "end_time": start + rng.uniform(2, 90), "params": params, "metrics": metrics}
