"""A loaded model version ready to score: the estimator behind a check of its input against the signature.

Scoring a frame that lacks a training column would fail inside scikit-learn with a message about
feature names, or silently misalign columns given in another order; the signature recorded at
registration lets us name the missing columns and put the others in order first.
"""
from __future__ import annotations

from typing import Any

from mlops_nb.services.errors import InvalidInput
from mlops_nb.services.registry.results import ModelVersionPublic


class ScoringModel:
    """A loaded model version: `predict` and `predict_proba` check the input against the signature."""

    def __init__(self, version: ModelVersionPublic, estimator: Any, env_mismatches: list[str] | None = None) -> None:
        """Wrap `estimator`, loaded from `version`; `env_mismatches` name how this environment differs."""
        self.info = version
        self.estimator = estimator
        self.env_mismatches = list(env_mismatches or [])

    @property
    def name(self) -> str:
        """The registered model's name."""
        return self.info.name

    @property
    def version(self) -> int:
        """The version number."""
        return self.info.version

    @property
    def stage(self) -> str:
        """The version's stage when it was loaded (none, staging, production or archived)."""
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

    def predict(self, X: Any) -> Any:
        """The estimator's predictions (an array, one per row) for X: a DataFrame holding the training
        columns (others are ignored, the order does not matter) or an array as wide as the signature.

        Raises:
            InvalidInput: X lacks columns the model was trained on, or has another width.
        """
        return self.estimator.predict(self._checked(X))

    def predict_proba(self, X: Any) -> Any:
        """Class probabilities (rows x classes, in `signature["outputs"]["classes"]` order) for X, as `predict`.

        Raises:
            InvalidInput: the estimator has no predict_proba, or X lacks training columns.
        """
        if not hasattr(self.estimator, "predict_proba"):
            raise InvalidInput(f"model {self.name!r} v{self.version} ({type(self.estimator).__name__}) has no "
                               "predict_proba; use predict")
        return self.estimator.predict_proba(self._checked(X))
