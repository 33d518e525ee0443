"""A project's data story through the public API, for the Data page's tests and screenshots: dataset
`german` (two versions), validations against it, a feature `amount_per_month` defined, applied and
edited (v1, v2), model `credit-risk` v1 trained with v1, and scoring batches accepted, warned and
refused, with outcomes and business metrics logged for one.

Call `build(credit)` after `mlops.init(...)` as a user who may log data (a data scientist).
"""
from __future__ import annotations

import warnings
from typing import Any

import pandas as pd

ON_INVALID_REFUSE = {"scoring": {"on_invalid": "refuse"}}


def _feature_v1(mlops: Any) -> Any:
    @mlops.feature("amount_per_month")
    def amount_per_month(df):
        return df["credit_amount"] / df["duration_in_month"]

    return amount_per_month


def _feature_v2(mlops: Any) -> Any:
    @mlops.feature("amount_per_month")
    def amount_per_month(df):
        return (df["credit_amount"] / df["duration_in_month"]).round(2)

    return amount_per_month


def build(credit: pd.DataFrame, *, model: str = "credit-risk") -> dict[str, Any]:
    """Everything the Data page shows, recorded in the initialised store; returns {"X": the scoring
    frame, "y": its truth, "batches": {status: batch id}, "version": the registered ModelVersionPublic}."""
    import mlops_nb as mlops
    from mlops_nb.api.context import current
    from mlops_nb.services import governance
    from mlops_nb.services.identity.auth import OPERATOR
    from mlops_nb.store.db import session_scope
    from tests.factories import fit_credit_model

    feature = _feature_v1(mlops)
    with mlops.start_run(experiment="credit"):
        mlops.log_dataset(credit, name="german")
        train = credit.assign(amount_per_month=feature(credit))
        pipe, X = fit_credit_model(train)
        version = mlops.register_model(pipe, name=model, dataset="german", target="creditability")
    y = (credit.creditability == "bad").astype(int)
    raw = credit.drop(columns="creditability")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        mlops.validate(credit.sample(300, random_state=0), against="german:1")  # passes
        mlops.validate(raw.head(300).drop(columns="purpose").assign(age_in_years=200), against="german:1")
    edited = _feature_v2(mlops)
    with mlops.start_run(experiment="credit"):
        mlops.log_dataset(credit.head(600), name="german")  # a second version of the dataset
        edited(credit.head(10))  # applied in a run: v2 recorded, no model names it yet

    batches: dict[str, str] = {}
    live = mlops.load_model(model)
    live.predict_proba(raw.sample(400, random_state=1))
    batches["accepted"] = live.last_batch_id
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        live.predict_proba(raw.head(50).assign(age_in_years=150))  # out of range: warned
    batches["warned"] = live.last_batch_id
    live.flush()
    ctx = current()
    with session_scope(ctx.engine) as session:
        governance.change_policy(session=session, actor=OPERATOR, project_id=ctx.project_id, model=model,
                                 rules=ON_INVALID_REFUSE)
    strict = mlops.load_model(model)
    try:
        strict.predict_proba(raw.head(20).drop(columns="purpose"))
    except mlops.ValidationFailed:
        pass
    batches["refused"] = strict.last_batch_id
    strict.flush()
    mlops.log_outcomes(model, predictions_id=batches["accepted"], outcomes=y.sample(400, random_state=1),
                       metrics={"default_rate": 0.065})
    return {"X": raw, "y": y, "batches": batches, "version": version}
