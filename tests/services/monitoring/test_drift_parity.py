"""Our drift verdicts are evidently's: the same test, the same verdict per column and the same share
as evidently 0.7.23's `Report([DataDriftPreset()], include_tests=True)` on the same data, with the
statistics equal up to float rounding (../shared/anchors/drift/RULES.md; issue 11 item 2).

The data: generated frames with the awkward cases (NaN and ties, low-cardinality numerics, integer
columns with few and many codes, object categoricals with missing values and new categories,
booleans, a category dtype with an unused category, drift in named columns) at 999, 1,000 and 1,001
reference rows (where evidently switches from p-values to distances), the issue's benchmark frame at 1,000 and 100,000 rows, and real data: German Credit
split by age and with a 1.5x credit amount, scikit-learn's breast cancer split by a feature and its
digits (1,797 rows, so the distance tests run) split by position.
"""
from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mlops_nb.services.monitoring.drift_reference import reference_profile
from mlops_nb.services.monitoring.drift_rules import compute_drift

ANCHORS = str(Path(__file__).resolve().parents[4] / "shared" / "anchors" / "drift")  # beside the repository
needs_anchors = pytest.mark.skipif(not Path(ANCHORS, "make_data.py").exists(),
                                   reason="the issue's benchmark data (../shared/anchors/drift/make_data.py) is not here")
TESTS = {"K-S p_value": "ks", "Wasserstein distance (normed)": "wasserstein",
         "Jensen-Shannon distance": "jensenshannon", "chi-square p_value": "chisquare", "Z-test p_value": "z"}


def evidently_verdicts(reference: pd.DataFrame, current: pd.DataFrame) -> tuple[dict[str, tuple], float]:
    """{column: (test, statistic, drift)} and the drifted share, read as the anchors' evidently_drift.py
    reads them: the ValueDrift metrics and their tests (FAIL = drift), and DriftedColumnsCount."""
    from evidently import Report
    from evidently.presets import DataDriftPreset

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        snapshot = Report([DataDriftPreset()], include_tests=True).run(current, reference).dict()
    columns, by_id, share = {}, {}, None
    for metric in snapshot["metrics"]:
        config = metric["config"]
        if config["type"].endswith("ValueDrift"):
            by_id[metric["id"]] = config["column"]
            columns[config["column"]] = [TESTS[config["method"]], metric["value"], None]
        elif config["type"].endswith("DriftedColumnsCount"):
            share = metric["value"]["share"]
    for test in snapshot["tests"]:
        column = by_id.get(test["metric_config"]["metric_id"])
        if column is not None:
            columns[column][2] = test["status"] == "FAIL"
    return {c: tuple(v) for c, v in columns.items()}, share


def assert_same_verdicts(reference: pd.DataFrame, current: pd.DataFrame) -> None:
    theirs, their_share = evidently_verdicts(reference, current)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no warning leaks from ours
        result = compute_drift(reference_profile(reference), current)
    ours = {c.column: (c.test, c.statistic, c.drift) for c in result.columns}
    assert sorted(ours) == sorted(theirs), [f.message for f in result.findings]
    for column, (test, statistic, drift) in theirs.items():
        assert ours[column][0] == test, column
        assert ours[column][2] == drift, (column, ours[column], theirs[column])
        assert ours[column][1] == pytest.approx(statistic, rel=1e-6, abs=1e-12), column
    assert result.share == pytest.approx(their_share, abs=1e-12)
    assert result.dataset_drift == (their_share >= 0.5)


def generated(n_reference: int, n_current: int, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A reference and a current frame with drift in the columns named `*_drift`."""
    rng = np.random.default_rng(seed)

    def frame(n: int, drift: bool) -> pd.DataFrame:
        with_nan = np.round(rng.normal(0.4 if drift else 0.0, 1.0, n), 1)  # ties
        with_nan[rng.random(n) < 0.1] = np.nan
        colours = np.array(["red", "green", "blue", "grey", None], dtype=object)
        colour = colours[rng.choice(5, n, p=[0.3, 0.3, 0.2, 0.1, 0.1])]
        if drift:
            colour[rng.random(n) < 0.1] = "purple"  # a new category
        return pd.DataFrame({
            "ties_nan_drift": with_nan,
            "normal": rng.normal(5, 2, n),
            "scale_drift": rng.exponential(2.0 if drift else 1.0, n),
            "three_values": rng.choice([0.5, 1.5, 2.5], n),  # numerical, <= 5 values
            "two_values_drift": rng.choice([0.0, 1.0], n, p=[0.5, 0.5] if drift else [0.8, 0.2]),
            "few_codes": rng.integers(0, 6, n),  # int64, <= 10 values: categorical
            "many_codes": rng.integers(0, 40, n),  # int64, > 10 values: numerical
            "colour_drift": colour,
            "plan": rng.choice(np.array(["basic", "plus"], dtype=object), n),  # two categories: z at <= 1,000
            "size_drift": rng.choice(np.array(["s", "m", "l"], dtype=object), n,
                                     p=[0.2, 0.3, 0.5] if drift else [0.5, 0.3, 0.2]),
            "with_inf": np.where(rng.random(n) < 0.02, np.inf, rng.gamma(2.0, 1.0, n)),
            "flag_drift": rng.random(n) < (0.5 if drift else 0.3),  # bool: categorical
            "tier": pd.Categorical(rng.choice(["gold", "silver", "bronze"], n),
                                   categories=["gold", "silver", "bronze", "unused"]),
        })

    return frame(n_reference, False), frame(n_current, True)


@pytest.mark.parametrize(("n_reference", "n_current", "seed"),
                         [(999, 1_200, 1), (1_000, 1_000, 2), (1_001, 800, 3), (300, 5_000, 4), (2_500, 2_500, 5)])
def test_generated_frames_get_evidentlys_verdicts(n_reference, n_current, seed):
    assert_same_verdicts(*generated(n_reference, n_current, seed))


def anchor_frames(n: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The issue's benchmark frames, `make_data.make(n)` of ../shared/anchors/drift, loaded from its
    file (not copied into the project, not put on sys.path)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("anchors_drift_make_data", Path(ANCHORS, "make_data.py"))
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.make(n)


@needs_anchors
def test_the_benchmark_frame_at_1000_rows_gets_evidentlys_verdicts():
    assert_same_verdicts(*anchor_frames(1_000))


@needs_anchors
def test_the_benchmark_frame_at_100000_rows_gets_evidentlys_verdicts():
    assert_same_verdicts(*anchor_frames(100_000))


def test_german_credit_split_by_age_gets_evidentlys_verdicts(credit):
    assert_same_verdicts(credit[credit.age_in_years <= 33], credit[credit.age_in_years > 33])


def test_german_credit_with_larger_credit_amounts_gets_evidentlys_verdicts(credit):
    shuffled = credit.sample(frac=1.0, random_state=0)
    reference, current = shuffled.iloc[:500], shuffled.iloc[500:].copy()
    current["credit_amount"] = (current["credit_amount"] * 1.5).round().astype(np.int64)
    assert_same_verdicts(reference, current)


def test_breast_cancer_split_by_a_feature_gets_evidentlys_verdicts():
    from sklearn.datasets import load_breast_cancer

    frame = load_breast_cancer(as_frame=True).frame
    small = frame["mean radius"] <= frame["mean radius"].median()
    assert_same_verdicts(frame[small], frame[~small])


def test_digits_above_1000_rows_get_evidentlys_distance_verdicts():
    from sklearn.datasets import load_digits

    frame = load_digits(as_frame=True).frame.astype(np.float64)
    assert_same_verdicts(frame.iloc[:1_100], frame.iloc[1_100:])


def test_booleans_against_zero_one_integers_get_evidentlys_verdicts():
    rng = np.random.default_rng(8)
    as_ints = pd.DataFrame({"flag": (rng.random(400) < 0.3).astype(np.int64), "x": rng.normal(size=400)})
    as_bools = pd.DataFrame({"flag": rng.random(400) < 0.4, "x": rng.normal(size=400)})
    assert_same_verdicts(as_ints, as_bools)
    assert_same_verdicts(as_bools, as_ints)


def test_a_category_dtype_of_numbers_against_a_numeric_reference_gets_evidentlys_verdict():
    rng = np.random.default_rng(10)
    reference = pd.DataFrame({"rooms": rng.choice([1.0, 2.0, 3.0, 4.0], 600), "x": rng.normal(size=600)})
    current = pd.DataFrame({"rooms": pd.Categorical(rng.choice([1.0, 2.0, 3.0, 4.0], 1_500, p=[0.4, 0.3, 0.2, 0.1])),
                            "x": rng.normal(size=1_500)})
    assert_same_verdicts(reference, current)
