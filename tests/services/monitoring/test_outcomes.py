"""Realised metrics join outcomes to the kept predictions by the model's classes."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mlops_nb.services.monitoring.outcomes import realised_metrics


@pytest.mark.parametrize("truth", [[0, 1, 1, 0], [False, True, True, False], ["False", "True", "True", "False"]])
def test_outcomes_as_numbers_match_a_model_fitted_on_booleans(truth):
    """A model fitted on `y == "bad"` has classes [False, True]; outcomes of 0/1 are those classes."""
    sample = pd.DataFrame({"_proba_False": [0.9, 0.2, 0.4, 0.7], "_proba_True": [0.1, 0.8, 0.6, 0.3]})
    metrics = realised_metrics(sample, pd.Series(truth), [np.False_, np.True_])
    assert metrics["accuracy"] == 1.0 and metrics["roc_auc"] == 1.0 and metrics["positive_rate"] == 0.5
    assert metrics["brier"] == pytest.approx(np.mean([0.01, 0.04, 0.16, 0.09]))


def test_class_predictions_match_outcomes_given_as_numbers():
    sample = pd.DataFrame({"_prediction": [np.False_, np.True_, np.True_, np.False_]})
    metrics = realised_metrics(sample, pd.Series([0, 1, 0, 0]), [np.False_, np.True_])
    assert metrics["accuracy"] == 0.75 and metrics["positive_rate"] == 0.25
    assert metrics["predicted_positive_rate"] == 0.5


def test_class_predictions_kept_as_floats_match_integer_classes():
    """A sample file shared with predict_proba batches holds a predict batch's classes as floats
    (1.0 for the class 1): they still match the classes and the outcomes (compared as text, none did)."""
    sample = pd.DataFrame({"_prediction": [0.0, 1.0, 1.0, 0.0]})
    metrics = realised_metrics(sample, pd.Series([0, 1, 0, 0]), [0, 1])
    assert metrics["accuracy"] == 0.75 and metrics["predicted_positive_rate"] == 0.5
    assert metrics["positive_rate"] == 0.25


@pytest.mark.parametrize("value", [10 ** 400, float("nan"), "0.1", True])
def test_a_business_metric_must_be_a_finite_number(value):
    from mlops_nb.services.errors import InvalidInput
    from mlops_nb.services.monitoring.outcomes import check_business

    with pytest.raises(InvalidInput, match="'revenue' must be a finite number"):
        check_business({"revenue": value})
