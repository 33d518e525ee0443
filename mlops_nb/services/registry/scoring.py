"""A loaded model version ready to score: the estimator behind a check of its input against the signature."""
from __future__ import annotations

from typing import Any

from mlops_nb.services.errors import InvalidInput
from mlops_nb.services.registry.results import ModelVersionPublic


class ScoringModel:
    """A loaded model version: `predict` and `predict_proba` check the input against the signature."""

    def __init__(self, version: ModelVersionPublic, estimator: Any, env_mismatches: list[str] | None = None):
        self.info = version
        self.estimator = estimator
        self.env_mismatches = list(env_mismatches or [])

    @property
    def name(self) -> str:
        return self.info.name

    @property
    def version(self) -> int:
        return self.info.version

    @property
    def stage(self) -> str:
        return self.info.stage

    def _checked(self, X: Any) -> Any:
        """X with the signature's columns in order; missing columns are named."""
        columns = self.info.input_columns
        if columns is None:
            return X
        if hasattr(X, "columns"):
            present = {str(c) for c in X.columns}
            missing = [c for c in columns if c not in present]
            if missing:
                raise InvalidInput(f"the input lacks {len(missing)} column(s) model {self.name!r} "
                                   f"v{self.version} was trained on: {', '.join(missing)}")
            return X[columns] if list(X.columns) != columns else X
        width = X.shape[1] if getattr(X, "ndim", 0) == 2 else None
        if width is not None and width != len(columns):
            raise InvalidInput(f"the input has {width} columns; model {self.name!r} v{self.version} expects "
                               f"{len(columns)}: {', '.join(columns)}")
        return X

    def predict(self, X: Any):
        """The estimator's predictions for the rows of X (a DataFrame with the training columns)."""
        return self.estimator.predict(self._checked(X))

    def predict_proba(self, X: Any):
        """Class probabilities, one column per class in `signature["outputs"]["classes"]` order."""
        if not hasattr(self.estimator, "predict_proba"):
            raise InvalidInput(f"model {self.name!r} v{self.version} ({type(self.estimator).__name__}) has no "
                               "predict_proba; use predict")
        return self.estimator.predict_proba(self._checked(X))
