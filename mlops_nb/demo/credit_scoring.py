"""Credit scoring on the German Credit data: the training script the demo's data scientists run.

Each function trains scikit-learn models for real and tracks them with the public API (`mlops.*`),
under whoever `mlops.init` made the current user. `mlops demo` copies this file beside the demo
store and runs the copy, so every run records this text as its code (the lineage gate asks for it),
as any script run with mlops outside the package would.

    credit = load_credit()
    train_df, holdout = split(credit)
    fit_and_track("baseline", "lr-C1", logistic(1.0), {"model": "logistic_regression", "C": 1.0},
                  train_df, holdout, dataset="german-credit", register="credit-risk")

It also holds what the scoring side of the story needs: the credit team's feature definition and
the serving team's edit of it (`monthly_burden`, two versions), the applications that arrived after
the first extract cut into monthly batches, and the upstream re-encoding that breaks one of them.
"""
from __future__ import annotations

from dataclasses import dataclass
from importlib.resources import files
from typing import Any

import mlops_nb as mlops

TARGET = "creditability"
HOLDOUT = "german-credit-holdout"
# Statlog's cost matrix: lending to an applicant who defaults costs 5, refusing a good one costs 1, so
# the cost-minimising cut-off on a calibrated probability of default is 1 / (1 + 5)
COST_BAD_AS_GOOD, COST_GOOD_AS_BAD = 5.0, 1.0
CUTOFF = COST_GOOD_AS_BAD / (COST_GOOD_AS_BAD + COST_BAD_AS_GOOD)
SEED = 0
MONTH_ROWS = 50  # applications per monthly scoring batch


@dataclass(frozen=True)
class Trained:
    """One tracked training run: its id and name, holdout metrics, and the model version it
    registered (None when it registered none, or the run failed)."""

    run_id: str
    name: str
    metrics: dict[str, float]
    version: int | None = None


def load_credit() -> Any:
    """The German Credit data shipped with the package: 1,000 applicants, 20 attributes, `creditability`."""
    import pandas as pd

    return pd.read_csv(str(files("mlops_nb") / "data" / "german_credit.csv"))


def split(credit: Any) -> tuple[Any, Any]:
    """(train, holdout): 750 and 250 applicants, stratified on the label, always the same split."""
    from sklearn.model_selection import train_test_split

    train_df, holdout = train_test_split(credit, test_size=0.25, random_state=SEED, stratify=credit[TARGET])
    return train_df.reset_index(drop=True), holdout.reset_index(drop=True)


def xy(df: Any) -> tuple[Any, Any]:
    """Features and the label (True for a bad credit, the class the models score)."""
    return df.drop(columns=TARGET), df[TARGET] == "bad"


def _encoder(scale: bool) -> Any:
    from sklearn.compose import make_column_selector, make_column_transformer
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    numbers: Any = StandardScaler() if scale else "passthrough"
    return make_column_transformer(
        (OneHotEncoder(handle_unknown="ignore"), make_column_selector(dtype_include=object)),
        (numbers, make_column_selector(dtype_include="number")))


def majority() -> Any:
    """The baseline every model must beat: always predicts the training default rate."""
    from sklearn.dummy import DummyClassifier
    from sklearn.pipeline import make_pipeline

    return make_pipeline(_encoder(scale=False), DummyClassifier(strategy="prior"))


def logistic(C: float, class_weight: str | None = None) -> Any:
    """One-hot categories, scaled numbers, L2 logistic regression."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    return make_pipeline(_encoder(scale=True), LogisticRegression(C=C, class_weight=class_weight, max_iter=2000))


def boosting(learning_rate: float, max_depth: int, n_estimators: int = 100) -> Any:
    """Gradient-boosted trees on one-hot categories (subsampled, so stage by stage is a real curve)."""
    from sklearn.ensemble import GradientBoostingClassifier
    from sklearn.pipeline import make_pipeline

    return make_pipeline(_encoder(scale=False), GradientBoostingClassifier(
        learning_rate=learning_rate, max_depth=max_depth, n_estimators=n_estimators, subsample=0.8,
        random_state=SEED))


def forest(max_depth: int | None, min_samples_leaf: int, n_estimators: int = 60) -> Any:
    """A random forest on one-hot categories."""
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.pipeline import make_pipeline

    return make_pipeline(_encoder(scale=False), RandomForestClassifier(
        n_estimators=n_estimators, max_depth=max_depth, min_samples_leaf=min_samples_leaf, random_state=SEED,
        n_jobs=1))


def evaluate(model: Any, holdout: Any) -> dict[str, float]:
    """Holdout metrics of a fitted model: ranking (roc_auc), calibration (log_loss, brier), and the
    decisions at the cost-minimising cut-off (accuracy, precision, recall, f1, cost per applicant)."""
    import numpy as np
    from sklearn.metrics import log_loss, roc_auc_score

    X, y = xy(holdout)
    bad = y.to_numpy()
    p = model.predict_proba(X)[:, 1]
    refuse = p >= CUTOFF
    caught, missed, wrongly_refused = (bad & refuse).sum(), (bad & ~refuse).sum(), (~bad & refuse).sum()
    precision = caught / max(caught + wrongly_refused, 1)
    recall = caught / max(caught + missed, 1)
    return {"roc_auc": float(roc_auc_score(bad, p)), "log_loss": float(log_loss(bad, p)),
            "brier": float(np.mean((p - bad) ** 2)), "accuracy": float(np.mean(refuse == bad)),
            "precision": float(precision), "recall": float(recall),
            "f1": float(2 * precision * recall / max(precision + recall, 1e-12)),
            "cost_per_applicant": float((COST_BAD_AS_GOOD * missed + COST_GOOD_AS_BAD * wrongly_refused) / len(bad))}


def _curves(model: Any, train_df: Any, holdout: Any) -> None:
    """Boosting's learning curves, every 10 trees: holdout roc_auc and the training loss."""
    from sklearn.metrics import roc_auc_score

    X, y = xy(holdout)
    encode, trees = model[:-1], model[-1]
    every = 10
    aucs = [float(roc_auc_score(y, p[:, 1]))
            for i, p in enumerate(trees.staged_predict_proba(encode.transform(X)), start=1) if i % every == 0]
    mlops.log_metric_history("holdout_roc_auc", aucs)
    mlops.log_metric_history("train_loss", [float(v) for v in trees.train_score_[every - 1::every]])


def fit_and_track(experiment: str, name: str, model: Any, params: dict[str, Any], train_df: Any, holdout: Any, *,
                  dataset: str, register: str | None = None, nested: bool = False,
                  tags: dict[str, str] | None = None) -> Trained:
    """Train `model` on `train_df` inside a run of `experiment`: the datasets, params and holdout
    metrics are logged (boosting also logs its learning curves), and the fitted pipeline is
    registered as the next version of `register` when given. The holdout is linked (role test) to
    the runs that register a model: the others share the same one.

    Raises:
        MlopsError: what the tracking or registry call refuses (the run ends failed).
        ValueError: scikit-learn refuses the data (the run ends failed).
    """
    with mlops.start_run(experiment=experiment, name=name, tags=tags, nested=nested) as run:
        mlops.log_dataset(train_df, name=dataset, role="train")
        if register:
            mlops.log_dataset(holdout, name=HOLDOUT, role="test")
        mlops.log_params(params)
        X, y = xy(train_df)
        model.fit(X, y)
        metrics = evaluate(model, holdout)
        mlops.log_metrics(metrics)
        if hasattr(model[-1], "staged_predict_proba"):
            _curves(model, train_df, holdout)
        version = mlops.register_model(model, name=register, target=TARGET).version if register else None
    return Trained(run_id=run.id, name=name, metrics=metrics, version=version)


def fit_with_burden(experiment: str, name: str, model: Any, params: dict[str, Any], train_df: Any, holdout: Any, *,
                    dataset: str, register: str) -> Trained:
    """As `fit_and_track`, with the credit team's `monthly_burden` (v1) computed from the applicants
    and fed to the model as one more column: the run records that it applied v1, so the version
    names it and scoring computes it the same way from the raw applications.

    Raises:
        MlopsError: what the tracking or registry call refuses (the run ends failed).
    """
    with mlops.start_run(experiment=experiment, name=name) as run:
        mlops.log_dataset(train_df, name=dataset, role="train")
        mlops.log_dataset(holdout, name=f"{dataset}-holdout", role="test")
        mlops.log_params(params)
        X, y = xy(train_df)
        model.fit(X.assign(monthly_burden=monthly_burden(X)), y)
        metrics = evaluate(model, holdout.assign(monthly_burden=monthly_burden(holdout)))
        mlops.log_metrics(metrics)
        version = mlops.register_model(model, name=register, target=TARGET).version
    return Trained(run_id=run.id, name=name, metrics=metrics, version=version)


def fit_raw_boosting(experiment: str, name: str, train_df: Any, holdout: Any, *, dataset: str) -> str:
    """A run that fails as real ones do: boosting fed the raw text columns, without the encoder.
    The run is recorded as failed; its id is returned."""
    from sklearn.ensemble import GradientBoostingClassifier

    run_id = ""
    try:
        with mlops.start_run(experiment=experiment, name=name) as run:
            run_id = run.id
            mlops.log_dataset(train_df, name=dataset, role="train")
            mlops.log_params({"model": "gradient_boosting", "learning_rate": 0.1, "max_depth": 3, "encoder": "none"})
            GradientBoostingClassifier(random_state=SEED).fit(*xy(train_df))
    except ValueError:  # "could not convert string to float": the run ended failed, as it should
        pass
    return run_id


def sweep(experiment: str, grid: list[dict[str, Any]], train_df: Any, holdout: Any, *, dataset: str,
          name: str) -> list[Trained]:
    """A hyper-parameter sweep of logistic regression: a parent run named `name`, one nested run per
    point of `grid` ({"C": float, "class_weight": str | None}); the parent logs the best point.
    Returns the nested runs, best roc_auc first."""
    with mlops.start_run(experiment=experiment, name=name, tags={"sweep": name}):
        mlops.log_params({"model": "logistic_regression", "grid_points": len(grid), "search": "grid"})
        trained = []
        for point in grid:
            weight = point["class_weight"] or "none"
            trained.append(fit_and_track(
                experiment, f"lr-C{point['C']:g}-{weight}", logistic(point["C"], point["class_weight"]),
                {"model": "logistic_regression", "C": point["C"], "class_weight": weight, "penalty": "l2"},
                train_df, holdout, dataset=dataset, nested=True, tags={"sweep": name}))
        trained.sort(key=lambda t: t.metrics["roc_auc"], reverse=True)
        mlops.log_metrics({"best_roc_auc": trained[0].metrics["roc_auc"]})
        mlops.set_tag("best_run", trained[0].run_id)
    return trained


@mlops.feature("monthly_burden")  # type: ignore[untyped-decorator]  # the API returns Any
def monthly_burden(df: Any) -> Any:
    """The loan's instalment per month: the amount spread over its duration (DM per month)."""
    return df["credit_amount"] / df["duration_in_month"]


@mlops.feature("monthly_burden")  # type: ignore[untyped-decorator]  # the API returns Any
def monthly_burden_serving(df: Any) -> Any:
    """The serving team's rewrite: the duration in years reads better in their dashboards (12x the value)."""
    return df["credit_amount"] / (df["duration_in_month"] / 12)


def monthly_batches(later: Any, months: tuple[str, ...]) -> dict[str, Any]:
    """Applications that arrived after the training extract, `MONTH_ROWS` per month in arrival
    order: {month: frame with the label} (the label is what the outcomes later say)."""
    return {month: later.iloc[i * MONTH_ROWS:(i + 1) * MONTH_ROWS] for i, month in enumerate(months)}


def reencoded(df: Any, column: str, levels: list[str]) -> Any:
    """`df` as an upstream pipeline that switched `column` to integer codes delivers it: each level
    replaced by its position in `levels` (sorted order, as a label encoder does)."""
    return df.assign(**{column: df[column].map({level: code for code, level in enumerate(levels)})})
