"""The other teams' training script: two more uses of the German Credit applicants, for the portfolio.

The deposits team predicts which applicants already hold savings of 100 DM or more (`saver`), to
offer them a deposit account; the loan desk predicts which applications are for a car, new or used
(`car_loan`), to route them to the auto-finance desk. Each function trains scikit-learn models for
real and tracks them with the public API (`mlops.*`) under whoever `mlops.init` made the current
user. `mlops demo` copies this file beside the demo store and runs the copy, as it does
credit_scoring.py, so every run records this text as its code.

    applicants = labelled("saver")
    train_df, holdout = split(applicants, "saver")
    fit_and_track("propensity", "lr-C1", logistic(1.0), {"model": "logistic_regression", "C": 1.0},
                  train_df, holdout, target="saver", dataset="deposit-applicants", register="saver-propensity")
"""
from __future__ import annotations

from dataclasses import dataclass
from importlib.resources import files
from typing import Any

import mlops_nb as mlops

SEED = 0
# target -> (the German Credit column it is read from, the values that make it "yes")
TARGETS: dict[str, tuple[str, tuple[str, ...]]] = {
    "saver": ("savings_account_and_bonds", ("100 <= ... < 500 DM", "500 <= ... < 1000 DM", ".. >= 1000 DM")),
    "car_loan": ("purpose", ("car (new)", "car (used)")),
}


@dataclass(frozen=True)
class Trained:
    """One tracked training run: its id and name, holdout metrics, and the version it registered."""

    run_id: str
    name: str
    metrics: dict[str, float]
    version: int | None = None


def labelled(target: str) -> Any:
    """German Credit's 1,000 applicants with `target` ("yes"/"no", TARGETS) in place of the column it
    is read from, and without `creditability` (these teams do not see repayment)."""
    import pandas as pd

    column, yes = TARGETS[target]
    credit = pd.read_csv(str(files("mlops_nb") / "data" / "german_credit.csv"))
    answer = credit[column].isin(yes).map({True: "yes", False: "no"})
    return credit.drop(columns=[column, "creditability"]).assign(**{target: answer})


def split(frame: Any, target: str) -> tuple[Any, Any]:
    """(train, holdout): 75% and 25%, stratified on `target`, always the same split."""
    from sklearn.model_selection import train_test_split

    train_df, holdout = train_test_split(frame, test_size=0.25, random_state=SEED, stratify=frame[target])
    return train_df.reset_index(drop=True), holdout.reset_index(drop=True)


def xy(df: Any, target: str) -> tuple[Any, Any]:
    """Features and the label (True for "yes")."""
    return df.drop(columns=target), df[target] == "yes"


def _encoder() -> Any:
    from sklearn.compose import make_column_selector, make_column_transformer
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    return make_column_transformer(
        (OneHotEncoder(handle_unknown="ignore"), make_column_selector(dtype_include=object)),
        (StandardScaler(), make_column_selector(dtype_include="number")))


def logistic(C: float) -> Any:
    """One-hot categories, scaled numbers, L2 logistic regression."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    return make_pipeline(_encoder(), LogisticRegression(C=C, max_iter=2000))


def forest(max_depth: int, n_estimators: int = 40) -> Any:
    """A small random forest on one-hot categories."""
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.pipeline import make_pipeline

    return make_pipeline(_encoder(), RandomForestClassifier(n_estimators=n_estimators, max_depth=max_depth,
                                                            random_state=SEED, n_jobs=1))


def evaluate(model: Any, holdout: Any, target: str) -> dict[str, float]:
    """Holdout roc_auc, log_loss and accuracy at 0.5 of a fitted model."""
    import numpy as np
    from sklearn.metrics import log_loss, roc_auc_score

    X, y = xy(holdout, target)
    p = model.predict_proba(X)[:, 1]
    return {"roc_auc": float(roc_auc_score(y, p)), "log_loss": float(log_loss(y, p)),
            "accuracy": float(np.mean((p >= 0.5) == y.to_numpy()))}


def fit_and_track(experiment: str, name: str, model: Any, params: dict[str, Any], train_df: Any, holdout: Any, *,
                  target: str, dataset: str, register: str | None = None) -> Trained:
    """Train `model` on `train_df` inside a run of `experiment`: the training dataset, params and
    holdout metrics are logged, and the fitted pipeline is registered as the next version of
    `register` when given (its signature: the training data less `target`).

    Raises:
        MlopsError: what the tracking or registry call refuses (the run ends failed).
    """
    with mlops.start_run(experiment=experiment, name=name) as run:
        mlops.log_dataset(train_df, name=dataset, role="train")
        mlops.log_params(params)
        model.fit(*xy(train_df, target))
        metrics = evaluate(model, holdout, target)
        mlops.log_metrics(metrics)
        version = mlops.register_model(model, name=register, target=target).version if register else None
    return Trained(run_id=run.id, name=name, metrics=metrics, version=version)
