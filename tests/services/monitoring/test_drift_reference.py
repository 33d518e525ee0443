"""The reference profile keeps what drift tests need, survives a round trip through bytes without
pickle, stays bounded for columns with many distinct values, and refuses frames it cannot profile."""
from __future__ import annotations

import io
import json

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from mlops_nb.services.errors import InvalidInput
from mlops_nb.services.monitoring import drift_reference
from mlops_nb.services.monitoring.drift_reference import ReferenceProfile, reference_profile
from mlops_nb.services.monitoring.drift_rules import compute_drift

pytestmark = pytest.mark.filterwarnings("error")  # no warning leaks to the user


def test_a_numeric_column_keeps_sorted_distinct_finite_values_counts_nulls_and_population_std():
    frame = pd.DataFrame({"x": [3.0, 1.0, np.nan, 3.0, np.inf, -np.inf, 2.0, 3.0]})
    column = reference_profile(frame).columns["x"]
    assert column.numeric and column.exact
    assert column.values.tolist() == [1.0, 2.0, 3.0]
    assert column.counts.tolist() == [1, 1, 3]
    assert (column.rows, column.nulls, column.distinct) == (5, 3, 3)
    assert column.std == pytest.approx(np.std([3.0, 1.0, 3.0, 2.0, 3.0]))


def test_other_columns_keep_labels_as_text_by_descending_count_without_missing_values():
    frame = pd.DataFrame({"colour": ["red", None, "blue", "red", np.nan, "red"],
                          "flag": [True, False, True, True, False, True],
                          "size": pd.Categorical(["s", "m", "s", "s", "m", "s"], categories=["s", "m", "xl"])})
    profile = reference_profile(frame)
    colour = profile.columns["colour"]
    assert (colour.numeric, colour.values.tolist(), colour.counts.tolist()) == (False, ["red", "blue"], [3, 1])
    assert (colour.rows, colour.nulls) == (4, 2)
    assert profile.columns["flag"].values.tolist() == ["True", "False"]
    assert profile.columns["size"].values.tolist() == ["s", "m"]  # an unused category is not a value


def test_nullable_and_unsigned_integers_are_profiled_as_numbers():
    frame = pd.DataFrame({"a": pd.array([1, None, 3, 3], dtype="Int64"), "b": np.array([7, 8, 8, 9], dtype=np.uint8),
                          "c": pd.array([0.5, None, 1.5, 0.5], dtype="Float64")})
    profile = reference_profile(frame)
    assert all(profile.columns[c].numeric for c in "abc")
    assert profile.columns["a"].integer and profile.columns["b"].integer and not profile.columns["c"].integer
    assert profile.columns["a"].values.tolist() == [1.0, 3.0] and profile.columns["a"].nulls == 1


def test_the_profile_round_trips_through_bytes_that_need_no_pickle():
    frame = pd.DataFrame({"x": np.random.default_rng(0).normal(size=500), "city": ["Zürich", "東京"] * 250,
                          "when": pd.date_range("2026-01-01", periods=500, freq="h")})
    profile = reference_profile(frame, source="dataset")
    blob = profile.to_bytes()
    with np.load(io.BytesIO(blob), allow_pickle=False) as arrays:  # loads without pickle
        assert "meta" in arrays
    back = ReferenceProfile.from_bytes(blob)
    assert (back.rows, back.source, list(back.columns)) == (500, "dataset", ["x", "city", "when"])
    assert back.columns["x"].values.tolist() == profile.columns["x"].values.tolist()
    assert back.columns["x"].counts.dtype == np.int64 and back.columns["city"].counts.tolist() == [250, 250]
    assert back.columns["city"].values.tolist() == ["Zürich", "東京"]
    assert back.columns["when"].datetime
    assert back.summary() == profile.summary()
    json.dumps(back.summary())


def test_bytes_that_are_not_a_profile_are_refused_by_name():
    with pytest.raises(InvalidInput, match="are not a reference profile"):
        ReferenceProfile.from_bytes(b"not a profile")


def test_a_column_with_more_distinct_values_than_the_bound_keeps_quantiles_and_close_wasserstein(monkeypatch):
    rng = np.random.default_rng(1)
    reference, current = pd.DataFrame({"x": rng.lognormal(0, 1, 20_000)}), pd.DataFrame({"x": rng.lognormal(0.1, 1, 5_000)})
    exact = compute_drift(reference_profile(reference), current).columns[0].statistic
    monkeypatch.setattr(drift_reference, "REFERENCE_VALUES", 2_000)
    column = reference_profile(reference).columns["x"]
    assert not column.exact and len(column.values) == 2_000
    assert int(column.counts.sum()) == column.rows == 20_000 and column.distinct == 20_000
    assert column.std == pytest.approx(np.std(reference.x))
    approximate = compute_drift(reference_profile(reference), current).columns[0].statistic
    assert approximate == pytest.approx(exact, rel=1e-3)
    assert exact == pytest.approx(stats.wasserstein_distance(reference.x, current.x) / np.std(reference.x))


@pytest.mark.parametrize(("frame", "words"), [
    (pd.DataFrame({"x": []}), "the reference data has no rows"),
    (pd.DataFrame(index=range(3)), "the reference data has no columns"),
    (pd.DataFrame([[1, 2]], columns=["a", "a"]), "repeats column names ['a']"),
    ([1, 2, 3], "must be a pandas DataFrame, not list"),
])
def test_a_frame_that_cannot_be_profiled_is_refused_by_name(frame, words):
    with pytest.raises(InvalidInput) as raised:
        reference_profile(frame)
    assert words in str(raised.value)
