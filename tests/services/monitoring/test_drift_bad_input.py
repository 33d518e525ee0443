"""Bad input never fails the whole drift report: each column that cannot be tested gets a Finding
naming it and why, the others keep their verdicts (evidently 0.7.23 fails, skips silently or gives
meaningless verdicts on each of these: ../shared/anchors/drift/RULES.md, last section)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mlops_nb.services.errors import InvalidInput
from mlops_nb.services.monitoring.drift_reference import reference_profile
from mlops_nb.services.monitoring.drift_rules import compute_drift

pytestmark = pytest.mark.filterwarnings("error")  # no warning (divide by zero, ...) leaks to the user

N = 400


def frames(seed: int = 0, n: int = N) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(seed)

    def frame() -> pd.DataFrame:
        return pd.DataFrame({"amount": rng.gamma(2, 100, n), "age": rng.integers(18, 80, n),
                             "grade": rng.choice(np.array(["A", "B", "C"], dtype=object), n)})

    return frame(), frame()


def drift(reference: pd.DataFrame, current: pd.DataFrame, **kwargs):
    result = compute_drift(reference_profile(reference), current, **kwargs)
    return result, {c.column for c in result.columns}, {(f.column, f.rule): f for f in result.findings}


def test_a_column_all_missing_in_current_is_named_and_the_others_are_tested():
    reference, current = frames()
    current["amount"] = [np.nan, np.inf] * (N // 2)
    result, tested, findings = drift(reference, current)
    assert tested == {"age", "grade"} and result.tested == 2
    finding = findings[("amount", "empty_column")]
    assert finding.severity == "error" and "no values in the current data" in finding.message


def test_a_column_all_missing_in_the_reference_is_named():
    reference, current = frames()
    reference["grade"] = None
    _, tested, findings = drift(reference, current)
    assert "grade" not in tested
    assert "no values in the reference data" in findings[("grade", "empty_column")].message


def test_columns_on_one_side_only_are_named_and_the_rest_tested():
    reference, current = frames()
    result, tested, findings = drift(reference.drop(columns="age"), current.assign(extra=1.0).drop(columns="grade"))
    assert tested == {"amount"}
    assert findings[("grade", "missing_column")].severity == "error"
    assert findings[("age", "not_in_reference")].severity == "warning"
    assert findings[("extra", "not_in_reference")].message.startswith("column 'extra' is in the current data")


def test_numbers_sent_as_text_are_tested_as_numbers_when_every_value_parses():
    reference, current = frames()
    current["amount"] = current["amount"].astype(str)
    _, tested, findings = drift(reference, current)
    assert "amount" in tested
    finding = findings[("amount", "numbers_as_text")]
    assert finding.severity == "warning" and "tested as numbers" in finding.message and finding.examples


def test_numbers_sent_as_text_with_words_among_them_are_named_with_examples_and_not_tested():
    reference, current = frames()
    current["amount"] = current["amount"].round(2).astype(str).astype(object)
    current.loc[[3, 7], "amount"] = ["n/a", "twelve"]
    _, tested, findings = drift(reference, current)
    assert "amount" not in tested
    finding = findings[("amount", "numbers_as_text")]
    assert finding.severity == "error" and finding.examples == ["n/a", "twelve"] and "2 value(s)" in finding.message


def test_a_one_row_reference_gives_no_verdicts_and_says_why():
    reference, current = frames()
    result, tested, findings = drift(reference.iloc[:1], current)
    assert tested == set() and (result.tested, result.share, result.dataset_drift) == (0, 0.0, False)
    assert {rule for _, rule in findings} == {"too_few_rows", "no_verdict"}
    assert "1 reference and 400 current values" in findings[("amount", "too_few_rows")].message


def test_a_current_batch_of_five_rows_gives_no_verdicts():
    reference, current = frames()
    result, _, findings = drift(reference, current.iloc[:5])
    assert result.tested == 0 and ("age", "too_few_rows") in findings


def test_integer_codes_with_a_dozen_values_are_tested_as_numbers_with_a_warning():
    reference, current = frames()
    rng = np.random.default_rng(1)
    reference["region"], current["region"] = rng.integers(0, 12, N), rng.integers(0, 12, N)
    result, tested, findings = drift(reference, current)
    assert next(c for c in result.columns if c.column == "region").type == "numerical"
    assert "cast the column to str" in findings[("region", "integer_codes")].message


def test_free_text_and_datetime_columns_are_named_not_tested():
    reference, current = frames()
    for frame in (reference, current):
        frame["note"] = [f"customer said {i}" for i in range(N)]
        frame["seen"] = pd.date_range("2026-01-01", periods=N, freq="h")
    _, tested, findings = drift(reference, current)
    assert tested == {"amount", "age", "grade"}
    assert "we test numerical and categorical columns only" in findings[("note", "text_not_tested")].message
    assert findings[("seen", "not_tested")].severity == "warning"


def test_a_frame_with_no_testable_column_gives_a_report_with_no_share_instead_of_an_error():
    times = pd.DataFrame({"seen": pd.date_range("2026-01-01", periods=N, freq="h")})
    result, _, findings = drift(times, times)
    assert (result.tested, result.drifted, result.share, result.dataset_drift) == (0, 0, 0.0, False)
    assert "no feature column could be tested" in findings[(None, "no_verdict")].message


@pytest.mark.parametrize(("reference", "current", "words"), [
    (frames()[0], frames()[1].iloc[:0], "the current data has no rows (it has 3 columns)"),
    (frames()[0].iloc[:0], frames()[1], "the reference data has no rows (it has 3 columns)"),
])
def test_a_side_with_no_rows_is_refused_by_name(reference, current, words):
    with pytest.raises(InvalidInput) as raised:
        compute_drift(reference_profile(reference), current)
    assert words in str(raised.value)


def test_nullable_unsigned_and_object_boolean_columns_are_tested_not_skipped():
    rng = np.random.default_rng(2)

    def frame() -> pd.DataFrame:
        ints = pd.array(rng.integers(0, 50, N), dtype="Int64")
        ints[:5] = pd.NA
        flags = rng.random(N) < 0.5
        return pd.DataFrame({"ints": ints, "small": rng.integers(0, 200, N).astype(np.uint8),
                             "flags": pd.Series(flags, dtype=object).where(rng.random(N) > 0.1, None),
                             "maybe": pd.array(flags, dtype="boolean")})

    result, tested, _ = drift(frame(), frame())
    assert tested == {"ints", "small", "flags", "maybe"} and result.tested == 4


def test_integer_codes_against_string_labels_are_named_not_compared():
    reference, current = frames()
    reference["grade"] = reference["grade"].map({"A": "x", "B": "y", "C": "z"})
    current["grade"] = current["grade"].map({"A": 0, "B": 1, "C": 2}).astype(np.int64)
    _, tested, findings = drift(reference, current)
    assert "grade" not in tested and findings[("grade", "dtype_changed")].severity == "error"


def test_infinities_are_dropped_like_missing_values():
    reference, current = frames()
    with_inf = current.copy()
    with_inf.loc[:9, "amount"] = np.inf
    cleaned = current.copy()
    cleaned.loc[:9, "amount"] = np.nan
    assert [c.to_dict() for c in drift(reference, with_inf)[0].columns] == \
        [c.to_dict() for c in drift(reference, cleaned)[0].columns]


def test_one_letter_values_in_tiny_frames_do_not_crash():
    tiny = pd.DataFrame({"letter": ["a"], "x": [1.0]})
    result, _, findings = drift(tiny, tiny)
    assert result.tested == 0
    assert ("letter", "text_not_tested") in findings and ("x", "too_few_rows") in findings


def test_unhashable_and_complex_values_are_counted_by_their_text_not_raised():
    reference, current = frames()
    for frame in (reference, current):
        frame["tags"] = [["a"], ["b", "c"]] * (N // 2)
        frame["wave"] = np.array([1 + 2j, 3 - 1j] * (N // 2))
    result, tested, _ = drift(reference, current)
    assert {"tags", "wave"} <= tested and result.tested == 5


def test_booleans_against_zero_one_numbers_are_compared_as_evidently_does_with_a_warning():
    rng = np.random.default_rng(3)
    flags = rng.random(N) < 0.3
    as_ints, as_bools = pd.DataFrame({"flag": flags.astype(np.int64)}), pd.DataFrame({"flag": rng.random(N) < 0.3})
    for reference, current in ((as_ints, as_bools), (as_bools, as_ints)):
        result, tested, findings = drift(reference, current)
        assert tested == {"flag"} and result.columns[0].test == "z" and not result.columns[0].drift
        assert findings[("flag", "dtype_changed")].severity == "warning"
    result, tested, findings = drift(as_bools, as_ints.assign(flag=as_ints.flag * 2))
    assert tested == set() and findings[("flag", "dtype_changed")].examples == [2]


def test_a_named_prediction_column_that_is_missing_is_said_so():
    reference, current = frames()
    result, _, findings = drift(reference, current, prediction="_prediction")
    assert result.prediction_drift is None and result.tested == 3
    assert "the prediction column '_prediction' is not in the current data" in \
        findings[("_prediction", "missing_column")].message


def test_a_small_batch_of_a_categorical_column_is_tested_as_categorical_not_dropped_as_text():
    rng = np.random.default_rng(4)
    codes = np.array([f"branch-{i:02d}" for i in range(40)], dtype=object)
    reference = pd.DataFrame({"branch": codes[rng.integers(0, 40, 5_000)]})
    current = pd.DataFrame({"branch": codes[rng.permutation(40)[:35]]})  # 35 distinct in 35 rows
    result, tested, findings = drift(reference, current)
    assert tested == {"branch"} and result.columns[0].type == "categorical"
    assert "tested as categorical" in findings[("branch", "typed_by_reference")].message


@pytest.mark.parametrize("rows", [400, 2_000])  # K-S, and the Wasserstein distance over the population std
def test_values_near_the_float_limit_give_the_verdicts_of_the_same_data_at_a_normal_scale(rows):
    """Values near 1.8e308 overflowed the reference's std to inf (so the normed Wasserstein distance
    was 0.0: no drift between all-positive and all-negative values) and the distribution's bin edges
    to NaN, with numpy's overflow warnings; the normed tests are scale-free, so the verdicts and
    statistics must be those of the same data divided by 1e300."""
    rng = np.random.default_rng(3)
    small_reference = pd.DataFrame({"x": rng.uniform(0, 1.7e8, rows), "y": rng.normal(0, 1e7, rows)})
    small_current = pd.DataFrame({"x": -rng.uniform(0, 1.7e8, rows), "y": rng.normal(0, 1e7, rows)})
    big, _, _ = drift(small_reference * 1e300, small_current * 1e300)
    small, _, _ = drift(small_reference, small_current)
    assert [(c.column, c.test, c.drift) for c in big.columns] == [(c.column, c.test, c.drift) for c in small.columns]
    assert [c.drift for c in big.columns] == [True, False]
    for b, s in zip(big.columns, small.columns):
        assert b.statistic == pytest.approx(s.statistic, rel=1e-9)
        assert all(np.isfinite(b.distribution["edges"]))
