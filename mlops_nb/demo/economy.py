"""The credit-scoring story's economy: monthly applicants, their true defaults, and a macro shift.

A deterministic data source built from German Credit (mlops_nb/data/german_credit.csv, 1,000
applicants, 20 attributes and `creditability`, "good" or "bad"): each month's applicants are drawn
from it with replacement, and after `SHIFT_AFTER` a macro shift grows over `RAMP_MONTHS` months to
its full size. At full size (intensity 1.0; in between, every number below times the intensity):

- credit_amount: x1.6 (loans grow 60%; rounded to whole DM)
- duration_in_month: x1.5 (rounded to whole months)
- present_employment_since: 40% of applicants not already short-employed move to "... < 1 year"
  (two in three) or "unemployed" (one in three)
- savings_account_and_bonds: 40% of the others move to "... < 100 DM"
- installment_rate_in_percentage_of_disposable_income: 30% go up one level (at most 4): instalments
  take more of incomes

The other 15 attributes keep German Credit's distribution. `outcomes` gives each applicant its
German Credit label, and under the shift a good applicant also defaults with probability
intensity x (0.02 + 0.12 if short-employed or unemployed + 0.06 if savings under 100 DM): the default
rate creeps from German Credit's 30% to about 38% at full shift, while a model trained before it
still ranks applicants about as well (its own metrics look healthy).

    calm = applicants("2024-02")                        # 200 applicants, no shift
    hit = applicants("2024-07")                         # full shift: amounts and durations up
    defaulted = outcomes(hit, "2024-07") == "bad"
    broken = reencoded(hit)                             # housing as integer codes 0, 1, 2
    train = training_frame("2024-05-01", "2024-07-31")  # German Credit + three labelled months

Every frame is the same for the same month, rows and seed (numpy's generator seeded with the seed
and the month).
"""
from __future__ import annotations

import datetime as dt
import re
from importlib.resources import files
from typing import Any

import numpy as np
import pandas as pd

TARGET = "creditability"
SHIFT_AFTER = "2024-03"  # the last calm month
RAMP_MONTHS = 3  # the shift reaches full size this many months after SHIFT_AFTER
APPLICANTS_PER_MONTH = 200

AMOUNT_GROWTH = 0.6  # credit_amount x (1 + 0.6 x intensity)
DURATION_GROWTH = 0.5  # duration_in_month x (1 + 0.5 x intensity)
EMPLOYMENT_MOVE = 0.4  # share moved to short employment at full shift
SAVINGS_MOVE = 0.4  # share moved to the lowest savings at full shift
INSTALMENT_MOVE = 0.3  # share whose instalment rate goes up one level at full shift
SHORT_EMPLOYMENT = ("... < 1 year", "unemployed")
LOW_SAVINGS = "... < 100 DM"
# a good applicant's extra probability of default at full shift: base + short employment + low savings
EXTRA_DEFAULT = (0.02, 0.12, 0.06)


def german_credit() -> pd.DataFrame:
    """German Credit as shipped with the package: 1,000 rows, 20 attributes and `creditability`."""
    return pd.read_csv(str(files("mlops_nb") / "data" / "german_credit.csv"))


def month_of(value: Any) -> pd.Period:
    """The calendar month of `value`: "2024-05", "2024-05-17", a date or datetime, or a Period.

    Raises:
        ValueError: `value` is not a date or month (the message names it).
    """
    if isinstance(value, pd.Period):
        return value.asfreq("M")
    if isinstance(value, (dt.date, pd.Timestamp)):
        return pd.Period(value, freq="M")
    if isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}(-\d{2})?", value.strip()):
        try:
            return pd.Period(value.strip()[:7], freq="M")
        except ValueError:
            pass
    raise ValueError(f"{value!r} is not a month or date (use 'YYYY-MM' or 'YYYY-MM-DD')")


def intensity(month: Any) -> float:
    """How far the macro shift has grown in `month`: 0.0 up to SHIFT_AFTER, then 1/RAMP_MONTHS more
    each month, 1.0 from RAMP_MONTHS months after it on."""
    months = (month_of(month) - month_of(SHIFT_AFTER)).n
    return float(min(max(months / RAMP_MONTHS, 0.0), 1.0))


def _rng(seed: int, month: pd.Period, stream: int) -> np.random.Generator:
    return np.random.default_rng([seed, month.ordinal, stream])


def applicants(month: Any, *, rows: int = APPLICANTS_PER_MONTH, seed: int = 0) -> pd.DataFrame:
    """`rows` new applicants of `month`: German Credit's 20 attributes (no label), drawn with
    replacement, with the macro shift of that month applied (module docstring: which columns move
    and by how much). The index is each applicant's row in German Credit (what `outcomes` reads).

    Raises:
        ValueError: `rows` below 1, or `month` is not a month.
    """
    if rows < 1:
        raise ValueError(f"rows must be at least 1, got {rows}")
    period = month_of(month)
    base = german_credit()
    rng = _rng(seed, period, 0)
    frame = base.iloc[rng.integers(0, len(base), size=rows)].drop(columns=TARGET).copy()
    s = intensity(period)
    draws = rng.random((4, rows))  # drawn in every month, so a month's sample does not depend on s
    if s == 0.0:
        return frame
    frame["credit_amount"] = np.rint(frame["credit_amount"] * (1 + AMOUNT_GROWTH * s)).astype("int64")
    frame["duration_in_month"] = np.rint(frame["duration_in_month"] * (1 + DURATION_GROWTH * s)).astype("int64")
    employment = frame["present_employment_since"]
    move = (draws[0] < EMPLOYMENT_MOVE * s) & ~employment.isin(SHORT_EMPLOYMENT).to_numpy()
    frame.loc[move, "present_employment_since"] = np.where(draws[1][move] < 2 / 3, *SHORT_EMPLOYMENT)
    move = (draws[2] < SAVINGS_MOVE * s) & (frame["savings_account_and_bonds"] != LOW_SAVINGS).to_numpy()
    frame.loc[move, "savings_account_and_bonds"] = LOW_SAVINGS
    rate = "installment_rate_in_percentage_of_disposable_income"
    frame[rate] = np.where(draws[3] < INSTALMENT_MOVE * s, np.minimum(frame[rate] + 1, 4), frame[rate])
    return frame


def outcomes(applicants: pd.DataFrame, month: Any, seed: int = 0) -> pd.Series:
    """The true outcome of each applicant of `month` ("good" or "bad", German Credit's labels),
    indexed like `applicants`: its German Credit label, and under the shift a good applicant
    defaults too with probability intensity x (0.02 + 0.12 when short-employed or unemployed +
    0.06 when savings are under 100 DM).

    Raises:
        KeyError: an index label that is not a row of German Credit (a frame not from `applicants`).
        ValueError: `month` is not a month.
    """
    period = month_of(month)
    labels = german_credit()[TARGET]
    truth = labels.loc[applicants.index].to_numpy().copy()
    s = intensity(period)
    rng = _rng(seed, period, 1)
    draws = rng.random(len(applicants))
    if s > 0.0:
        base, employment, savings = EXTRA_DEFAULT
        p = s * (base + employment * applicants["present_employment_since"].isin(SHORT_EMPLOYMENT).to_numpy()
                 + savings * (applicants["savings_account_and_bonds"] == LOW_SAVINGS).to_numpy())
        truth[(truth == "good") & (draws < p)] = "bad"
    return pd.Series(truth, index=applicants.index, name=TARGET)


def reencoded(frame: pd.DataFrame, column: str = "housing") -> pd.DataFrame:
    """`frame` as the upstream pipeline's bug delivers it: `column` (a categorical) as integer codes,
    each level replaced by its position among German Credit's levels in sorted order (as a label
    encoder does: housing "for free" 0, "own" 1, "rent" 2).

    Raises:
        KeyError: `column` is not one of the frame's columns.
    """
    if column not in frame.columns:
        raise KeyError(f"column {column!r} is not in the frame; columns are {', '.join(map(str, frame.columns))}")
    levels = sorted(german_credit()[column].dropna().unique())
    return frame.assign(**{column: frame[column].map({level: code for code, level in enumerate(levels)})})


def training_frame(window_start: Any = None, window_end: Any = None, *, rows: int = APPLICANTS_PER_MONTH,
                   seed: int = 0) -> pd.DataFrame:
    """The labelled data a retraining uses: German Credit (1,000 rows) followed by every month from
    `window_start` to `window_end` (inclusive; dates count by their month) of `applicants` with
    their `outcomes` as `creditability`. No window (both None): German Credit alone. A fresh index.

    Raises:
        ValueError: only one end of the window, an end that is not a date, or an end before the start.
    """
    frames = [german_credit()]
    if (window_start is None) != (window_end is None):
        raise ValueError("give both window_start and window_end, or neither")
    if window_start is not None:
        start, end = month_of(window_start), month_of(window_end)
        if end < start:
            raise ValueError(f"window_end {window_end!r} is before window_start {window_start!r}")
        for period in pd.period_range(start, end, freq="M"):
            month = applicants(period, rows=rows, seed=seed)
            frames.append(month.assign(**{TARGET: outcomes(month, period, seed=seed)}))
    return pd.concat(frames, ignore_index=True)
