"""Hostile model parts for the trust tests: each writes a marker file when its code runs, so a test
can prove that loading, scoring or gating a model never ran it.

The marker's path is read from MLOPS_TEST_MARKER when the code runs; unset (while a test builds the
model) nothing is written.
"""
from __future__ import annotations

import os
from pathlib import Path

from sklearn.base import BaseEstimator, TransformerMixin

MARKER_VARIABLE = "MLOPS_TEST_MARKER"


def _detonate() -> None:
    path = os.environ.get(MARKER_VARIABLE)
    if path:
        Path(path).write_text("the payload ran")


def touch_marker(X):
    """A FunctionTransformer's func that writes the marker: runs when the model scores."""
    _detonate()
    return X


class Detonator(TransformerMixin, BaseEstimator):
    """A transformer whose `__setstate__` writes the marker: runs when skops rebuilds it (load time)."""

    def fit(self, X, y=None):
        self.fitted_ = True
        return self

    def transform(self, X):
        _detonate()
        return X

    def __setstate__(self, state):
        _detonate()
        super().__setstate__(state)
