"""The story's data source: the macro shift moves the documented columns, deterministically."""
from __future__ import annotations

import pandas as pd
import pytest
from scipy import stats

from mlops_nb.demo import economy

MOVED = ["credit_amount", "duration_in_month", "present_employment_since", "savings_account_and_bonds",
         "installment_rate_in_percentage_of_disposable_income"]


def test_a_month_before_the_shift_is_german_credit_unchanged():
    base = economy.german_credit()
    calm = economy.applicants("2024-02", rows=300)
    assert economy.intensity("2024-03") == 0.0 and economy.intensity("2024-06") == 1.0
    assert list(calm.columns) == [c for c in base.columns if c != "creditability"]
    pd.testing.assert_frame_equal(calm, base.loc[calm.index].drop(columns="creditability"))


def test_the_shift_moves_amounts_durations_employment_and_savings():
    hit = economy.applicants("2024-07", rows=2000)
    before = economy.german_credit().loc[hit.index]  # the same applicants without the shift
    assert (hit["credit_amount"] == (before["credit_amount"] * 1.6).round()).all()
    assert (hit["duration_in_month"] == (before["duration_in_month"] * 1.5).round()).all()
    calm = economy.applicants("2024-02", rows=1000)
    assert stats.ks_2samp(calm["credit_amount"], hit["credit_amount"]).pvalue < 1e-6

    def moved(column, to):
        could = ~before[column].isin(to)
        return (hit[column][could].isin(to)).mean()

    assert 0.35 < moved("present_employment_since", economy.SHORT_EMPLOYMENT) < 0.45
    assert 0.35 < moved("savings_account_and_bonds", [economy.LOW_SAVINGS]) < 0.45
    rate = "installment_rate_in_percentage_of_disposable_income"
    up = hit[rate] - before[rate]
    assert set(up.unique()) == {0, 1} and 0.25 < up[before[rate] < 4].mean() < 0.35 and hit[rate].max() == 4
    # the other columns keep German Credit's distribution: the same rows were drawn
    unchanged = [c for c in hit.columns if c not in MOVED]
    pd.testing.assert_frame_equal(hit[unchanged], before[unchanged])


def test_the_shift_grows_month_by_month():
    means = [economy.applicants(m, rows=1000)["credit_amount"].mean() for m in ("2024-03", "2024-04", "2024-05", "2024-06")]
    assert means == sorted(means) and means[-1] > 1.4 * means[0]


def test_the_default_rate_creeps_up_under_the_shift():
    def rate(month):
        people = economy.applicants(month, rows=3000)
        return (economy.outcomes(people, month) == "bad").mean()

    calm, mid, full = rate("2024-02"), rate("2024-05"), rate("2024-08")
    assert 0.26 < calm < 0.34 and calm < mid < full and full > calm + 0.06


def test_the_same_month_and_seed_give_the_same_frames():
    a, b = economy.applicants("2024-06", seed=3), economy.applicants("2024-06", seed=3)
    pd.testing.assert_frame_equal(a, b)
    pd.testing.assert_series_equal(economy.outcomes(a, "2024-06", seed=3), economy.outcomes(b, "2024-06", seed=3))
    assert not economy.applicants("2024-06", seed=4).equals(a)
    assert not economy.applicants("2024-07", seed=3).equals(a)
    pd.testing.assert_frame_equal(economy.training_frame("2024-05", "2024-06"),
                                  economy.training_frame("2024-05-01", "2024-06-30"))


def test_reencoded_delivers_the_categorical_as_integer_codes():
    people = economy.applicants("2024-01", rows=50)
    broken = economy.reencoded(people)
    codes = {"for free": 0, "own": 1, "rent": 2}
    assert broken["housing"].tolist() == [codes[v] for v in people["housing"]]
    assert pd.api.types.is_integer_dtype(broken["housing"])
    with pytest.raises(KeyError, match="column 'income' is not in the frame"):
        economy.reencoded(people, "income")


def test_training_frame_is_german_credit_plus_the_labelled_window():
    assert len(economy.training_frame()) == 1000
    frame = economy.training_frame("2024-05-10", "2024-07-02", rows=100)
    assert len(frame) == 1000 + 3 * 100
    assert frame["creditability"].isin(["good", "bad"]).all()
    assert (frame["credit_amount"].iloc[1000:].mean() > frame["credit_amount"].iloc[:1000].mean())
    with pytest.raises(ValueError, match="give both window_start and window_end"):
        economy.training_frame("2024-05", None)
    with pytest.raises(ValueError, match="window_end '2024-04' is before window_start '2024-05'"):
        economy.training_frame("2024-05", "2024-04")
    with pytest.raises(ValueError, match="'May' is not a month or date"):
        economy.applicants("May")
