"""Fixtures of the registry tests: a run that trained a model, a way to register from it, and an
estimator of a type skops does not trust by default."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sklearn.base import BaseEstimator, ClassifierMixin

import mlops_nb as mlops
from mlops_nb.services import registry
from mlops_nb.services.registry.results import ModelVersionPublic
from mlops_nb.store.db import session_scope
from tests.factories import fit_credit_model


class MajorityClassifier(ClassifierMixin, BaseEstimator):
    """A custom estimator: its type is not one skops trusts by default."""

    def fit(self, X, y):
        import numpy as np

        self.classes_ = np.unique(y)
        self.majority_ = int(np.bincount(y).argmax())
        return self

    def predict(self, X):
        import numpy as np

        return np.full(len(X), self.majority_)


@pytest.fixture()
def majority() -> type[MajorityClassifier]:
    """The custom estimator class (its module path is what skops records)."""
    return MajorityClassifier


@pytest.fixture()
def trained(ctx, credit):
    """An active run with a training dataset, params and a metric, and a fitted pipeline."""
    run = mlops.start_run(experiment="credit", name="lr")
    mlops.log_dataset(credit, name="german", role="train")
    mlops.log_params({"C": 1.0, "note": "baseline"})
    mlops.log_metric("auc", 0.79)
    model, X = fit_credit_model(credit)
    return run, model, X


@pytest.fixture()
def register(ctx) -> Callable[..., ModelVersionPublic]:
    """`register(run_id, model, name="credit", **kwargs)`: registry.register_model in its own transaction."""

    def register(run_id: str, model: Any, name: str = "credit", **kwargs: Any) -> ModelVersionPublic:
        with session_scope(ctx.engine) as session:
            return registry.register_model(session=session, store=ctx.artifacts, project_id=ctx.project_id,
                                           user=ctx.user, model=model, name=name, run_id=run_id, **kwargs)

    return register
