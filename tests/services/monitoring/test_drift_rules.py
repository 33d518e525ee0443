"""Drift verdicts follow evidently's default preset rules (../shared/anchors/drift/RULES.md): the
type from the current data, the test from the cleaned reference's size and the values of both
sides, evidently's formulas and thresholds, and the share over feature columns only."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from scipy.spatial import distance

from mlops_nb.services.monitoring import drift_stats
from mlops_nb.services.monitoring.drift_reference import reference_profile
from mlops_nb.services.monitoring.drift_rules import compute_drift

pytestmark = pytest.mark.filterwarnings("error")  # no warning leaks to the user


def verdicts(reference: pd.DataFrame, current: pd.DataFrame, **kwargs):
    result = compute_drift(reference_profile(reference), current, **kwargs)
    return result, {c.column: c for c in result.columns}


def test_column_types_come_from_the_current_data():
    rng = np.random.default_rng(0)
    n = 600
    reference = pd.DataFrame({"f": rng.normal(size=n), "i10": rng.integers(0, 10, n), "i11": rng.integers(0, 11, n),
                              "b": rng.random(n) < 0.5, "s": rng.choice(["a", "b", "c"], n)})
    current = reference.sample(frac=1.0, random_state=1).reset_index(drop=True)
    current["i11"] = current["i11"].clip(upper=9)  # 10 values in current: categorical, whatever the reference
    _, by_column = verdicts(reference, current)
    assert {c: (v.type, v.test) for c, v in by_column.items()} == {
        "f": ("numerical", "ks"), "i10": ("categorical", "chisquare"), "i11": ("categorical", "chisquare"),
        "b": ("categorical", "z"), "s": ("categorical", "chisquare")}


def test_the_switch_at_1000_rows_counts_the_reference_rows_left_after_cleaning():
    rng = np.random.default_rng(2)
    values = rng.normal(size=1_005)
    values[:10] = np.nan  # 995 usable rows: still the p-value tests
    reference, current = pd.DataFrame({"x": values}), pd.DataFrame({"x": rng.normal(size=2_000)})
    assert verdicts(reference, current)[1]["x"].test == "ks"
    reference.loc[:9, "x"] = 0.25  # 1,005 usable rows
    assert verdicts(reference, current)[1]["x"].test == "wasserstein"


def test_a_numerical_column_with_five_values_over_both_sides_gets_a_categorical_test():
    rng = np.random.default_rng(3)
    reference = pd.DataFrame({"x": rng.choice([1.0, 2.0, 3.0], 2_000)})
    current = pd.DataFrame({"x": rng.choice([1.0, 2.0, 4.0, 5.0, 6.0], 2_000)})  # six values together
    assert verdicts(reference, current)[1]["x"].test == "wasserstein"
    current = pd.DataFrame({"x": rng.choice([1.0, 2.0, 4.0, 5.0], 2_000)})  # five values together
    column = verdicts(reference, current)[1]["x"]
    assert (column.type, column.test, column.threshold) == ("numerical", "jensenshannon", 0.1)


def test_each_test_computes_evidentlys_formula():
    rng = np.random.default_rng(4)
    ref_counts, cur_counts = np.array([40, 25, 35]), np.array([30, 45, 25])
    expected = ref_counts * cur_counts.sum() / ref_counts.sum()
    assert drift_stats.chisquare_test(ref_counts, cur_counts) == pytest.approx(stats.chisquare(cur_counts, expected)[1])
    assert drift_stats.jensenshannon_distance(ref_counts, cur_counts) == pytest.approx(
        distance.jensenshannon(ref_counts / 100, cur_counts / 100))
    n1, n2, p1, p2 = 70, 90, 30 / 70, 50 / 90
    pooled = (30 + 50) / 160
    z = (p1 - p2) / np.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    assert drift_stats.z_test(np.array([40, 30]), np.array([40, 50])) == pytest.approx(2 * (1 - stats.norm.cdf(abs(z))))
    assert drift_stats.z_test(np.array([70]), np.array([90])) == 1.0  # one value on both sides
    reference, current = np.round(rng.normal(size=800), 1), rng.normal(0.2, 1.3, 3_000)
    ref_values, ref_n = np.unique(reference, return_counts=True)
    cur_values, cur_n = np.unique(current, return_counts=True)
    assert drift_stats.ks_pvalue(ref_values, ref_n, np.sort(current)) == pytest.approx(
        stats.ks_2samp(reference, current).pvalue)
    assert drift_stats.wasserstein_normed(ref_values, ref_n, float(np.std(reference)), cur_values, cur_n) == \
        pytest.approx(stats.wasserstein_distance(reference, current) / np.std(reference), rel=1e-9)


def test_a_category_missing_from_a_small_reference_gives_p_zero_as_evidently_and_is_named():
    reference = pd.DataFrame({"c": ["a"] * 50 + ["b"] * 50 + ["c"] * 50})
    current = pd.DataFrame({"c": ["a"] * 50 + ["b"] * 50 + ["c"] * 45 + ["new"] * 5})
    result, by_column = verdicts(reference, current)
    assert (by_column["c"].test, by_column["c"].statistic, by_column["c"].drift) == ("chisquare", 0.0, True)
    assert [(f.column, f.rule, f.examples) for f in result.findings] == [("c", "new_categories", ["new"])]


def test_the_share_counts_features_only_and_the_dataset_drifts_at_half():
    rng = np.random.default_rng(5)
    n = 2_000
    reference = pd.DataFrame({"moved": rng.normal(0, 1, n), "still": rng.normal(0, 1, n),
                              "target": rng.integers(0, 2, n), "_prediction": rng.random(n)})
    current = pd.DataFrame({"moved": rng.normal(1, 1, n), "still": rng.normal(0, 1, n),
                            "target": 1 - rng.integers(0, 2, n), "_prediction": rng.random(n) ** 3})
    result, by_column = verdicts(reference, current, exclude=["target"], prediction="_prediction")
    assert (result.tested, result.drifted, result.share, result.dataset_drift) == (2, 1, 0.5, True)
    assert result.prediction_drift is True and by_column["_prediction"].role == "prediction"
    assert "target" not in by_column and [c.column for c in result.columns][-1] == "_prediction"
    stricter = compute_drift(reference_profile(reference), current, exclude=["target"], prediction="_prediction",
                             drift_share=0.6)
    assert (stricter.share, stricter.dataset_drift) == (0.5, False)


def test_verdicts_from_a_stored_reference_equal_those_from_the_frame():
    rng = np.random.default_rng(6)
    reference = pd.DataFrame({"x": rng.gamma(2, 1, 3_000), "c": rng.choice(["u", "v", "w"], 3_000)})
    current = pd.DataFrame({"x": rng.gamma(2.2, 1, 1_000), "c": rng.choice(["u", "v", "w", "z"], 1_000)})
    profile = reference_profile(reference)
    direct = compute_drift(profile, current)
    stored = compute_drift(type(profile).from_bytes(profile.to_bytes()), current)
    assert [c.to_dict() for c in stored.columns] == [c.to_dict() for c in direct.columns]


def test_each_verdict_carries_a_small_distribution_for_its_chart():
    rng = np.random.default_rng(7)
    labels = np.array([f"k{i:02d}" for i in range(30)], dtype=object)
    reference = pd.DataFrame({"x": rng.normal(size=3_000), "c": labels[rng.integers(0, 30, 3_000)]})
    current = pd.DataFrame({"x": rng.normal(size=2_000), "c": labels[rng.integers(0, 30, 2_000)]})
    _, by_column = verdicts(reference, current)
    bins = by_column["x"].distribution
    assert bins["kind"] == "bins" and len(bins["edges"]) == 21
    assert len(bins["reference"]) == len(bins["current"]) == 20
    assert sum(bins["reference"]) == pytest.approx(1, abs=1e-4) and sum(bins["current"]) == pytest.approx(1, abs=1e-4)
    categories = by_column["c"].distribution
    assert categories["kind"] == "categories" and len(categories["labels"]) == 21 and categories["labels"][-1] == "other"
    assert sum(categories["reference"]) == pytest.approx(1, abs=1e-4)
