import math

import numpy as np
import pandas as pd

from mlops_nb.services.monitoring.profiles import HISTOGRAM_BINS, input_profile, prediction_profile


def test_input_profile_numbers_categories_nulls_and_infinities():
    frame = pd.DataFrame({"amount": [1.0, 2.0, np.inf, None], "purpose": ["car", "car", "tv", None]})
    profile = input_profile(frame)
    assert profile["amount"] == {"dtype": "float64", "count": 3, "nulls": 1, "infinite": 1, "mean": 1.5,
                                 "min": 1.0, "max": 2.0}
    assert profile["purpose"] == {"dtype": "object", "count": 3, "nulls": 1, "unique": 2, "top": {"car": 2, "tv": 1}}


def test_input_profile_of_a_column_entirely_missing_has_no_statistics():
    profile = input_profile(pd.DataFrame({"amount": [np.nan, np.nan]}))
    assert profile["amount"] == {"dtype": "float64", "count": 0, "nulls": 2}


def test_prediction_profile_of_two_class_probabilities():
    p = np.array([0.1, 0.2, 0.9, 0.95])
    profile = prediction_profile(np.column_stack([1 - p, p]), "predict_proba", classes=[0, 1])
    assert profile["rows"] == 4 and profile["nan"] == 0 and profile["inf"] == 0
    assert profile["positive_class"] == 1 and profile["classes"] == [0, 1]
    assert math.isclose(profile["mean"], p.mean())
    assert len(profile["quantiles"]) == 5 and profile["quantiles"][2] == np.quantile(p, 0.5)
    assert len(profile["histogram"]) == HISTOGRAM_BINS and sum(profile["histogram"]) == 4
    assert profile["histogram"][0] == 0 and profile["histogram"][1] == 1 and profile["histogram"][-1] == 2


def test_prediction_profile_counts_nan_and_inf_predictions():
    p = np.array([0.5, np.nan, np.inf])
    profile = prediction_profile(np.column_stack([1 - p, p]), "predict_proba", classes=["good", "bad"])
    assert (profile["nan"], profile["inf"]) == (2, 2)  # both columns of the NaN row, and inf / -inf
    assert profile["positive_class"] == "bad" and profile["mean"] == 0.5


def test_prediction_profile_of_class_predictions_and_of_a_regressor():
    assert prediction_profile(np.array(["bad", "good", "good"]), "predict",
                              classes=["bad", "good"])["class_counts"] == {"bad": 1, "good": 2}
    assert prediction_profile(np.array([0, 1, 1]), "predict", classes=[0, 1])["class_counts"] == {"0": 1, "1": 2}
    regression = prediction_profile(np.array([1.0, 3.0, np.nan]), "predict")
    assert regression["mean"] == 2.0 and regression["nan"] == 1 and "class_counts" not in regression


def test_a_tiny_batch_is_profiled_as_a_large_one(credit, monkeypatch):
    from mlops_nb.services.monitoring import profiles

    frame = credit.iloc[[7, 8, 9]].copy()
    frame.iloc[0, 4] = np.nan
    frame["x"] = [np.inf, 1.0, 2.0]
    frame["n"] = pd.array([1, None, 3], dtype="Int64")
    frame["flag"] = [True, False, True]
    fast = input_profile(frame)
    monkeypatch.setattr(profiles, "TINY_BATCH", 0)
    assert input_profile(frame) == fast
    assert fast["x"]["infinite"] == 1 and fast["n"] == {"dtype": "Int64", "count": 2, "nulls": 1, "mean": 2.0,
                                                         "min": 1.0, "max": 3.0}


def test_a_one_row_probability_is_profiled_as_numpy_would():
    from mlops_nb.services.monitoring import profiles

    values = [0.0, 0.1, 0.2, 0.3, 0.7, 0.9, 0.99999999, 1.0, 1e-300, 0.30000000000000004, 0.6, -0.1, 1.5, np.nan]
    values += np.random.default_rng(0).random(500).tolist()
    for value in values:
        proba = np.array([[1 - value, value]])
        fast = prediction_profile(proba, "predict_proba", classes=[0, 1])
        twice = np.vstack([proba, proba])  # the numpy path; its counts halved
        slow = prediction_profile(twice, "predict_proba", classes=[0, 1])
        slow["rows"] = 1
        slow["nan"] //= 2
        if "histogram" in slow:
            slow["histogram"] = [c // 2 for c in slow["histogram"]]
        assert fast == slow, value
    assert profiles._one_probability({}, 0.25, None)["histogram"][2] == 1
