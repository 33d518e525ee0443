"""Shared builders for tests: runs, datasets, fitted models and users, made through the public API."""
from __future__ import annotations

from typing import Any

import pandas as pd


def finished_run(experiment: str = "exp", name: str = "run", params: dict | None = None,
                 metrics: dict | None = None) -> Any:
    """A finished run with the given params and metrics, through the Python API."""
    import mlops_nb as mlops

    with mlops.start_run(experiment=experiment, name=name) as run:
        if params:
            mlops.log_params(params)
        if metrics:
            mlops.log_metrics(metrics)
    return mlops.get_run(run.id)


def fit_credit_model(credit: pd.DataFrame, C: float = 1.0):
    """A scikit-learn pipeline on German Credit; returns (model, X)."""
    from sklearn.compose import make_column_selector, make_column_transformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    X, y = credit.drop(columns="creditability"), (credit.creditability == "bad").astype(int)
    pre = make_column_transformer(
        (StandardScaler(), make_column_selector(dtype_include="number")),
        (OneHotEncoder(handle_unknown="ignore"), make_column_selector(dtype_exclude="number")))
    return make_pipeline(pre, LogisticRegression(C=C, max_iter=1000)).fit(X, y), X
