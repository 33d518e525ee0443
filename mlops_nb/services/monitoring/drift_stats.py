"""The five drift tests of evidently's default preset, computed from counts and sorted values.

evidently 0.7.23 runs each test on two raw pandas Series (legacy/calculations/stattests/*.py:
ks_stattest, wasserstein_distance_norm, jensenshannon, chisquare_stattest, z_stattest). Here the
same formulas run on what a reference profile keeps (sorted distinct values and their counts, or
category counts) and on the current column sorted once, so a test costs O(distinct values) after
that one sort, and the reference side costs nothing at drift time. Same statistics up to float
rounding: tests/services/monitoring/test_drift_parity.py holds them to evidently's.

    z_test(ref_counts, cur_counts)         # p-value; counts aligned over the union of keys
    wasserstein_normed(ref_values, ref_counts, ref_std, cur_values, cur_counts)
"""
from __future__ import annotations

import warnings

import numpy as np
from scipy import special, stats

HUGE = 1e150  # past this magnitude, squares and differences of values can overflow a float64


def z_test(reference: np.ndarray, current: np.ndarray) -> float:
    """p-value of evidently's pooled two-proportion z test (z_stattest.py) for a column with at most
    two values: `reference` and `current` are counts over the union of keys (1 or 2 entries, each
    side's total > 0). One key on both sides: p = 1. Otherwise z = (p1 - p2) / sqrt(P (1 - P)
    (1/n1 + 1/n2)), p = 2 (1 - Phi(|z|)); which key counts as 1 does not change p."""
    if len(reference) < 2:
        return 1.0
    n1, n2 = float(reference.sum()), float(current.sum())
    p1, p2 = float(reference[1]) / n1, float(current[1]) / n2
    pooled = (p1 * n1 + p2 * n2) / (n1 + n2)
    z = (p1 - p2) / np.sqrt(pooled * (1 - pooled) * (1.0 / n1 + 1.0 / n2))
    return float(2 * (1 - special.ndtr(abs(z))))


def chisquare_test(reference: np.ndarray, current: np.ndarray) -> float:
    """p-value of evidently's chi-square test (chisquare_stattest.py): a one-sample goodness of fit
    of the current counts against the reference counts scaled by k_norm = n_current / n_reference,
    Pearson's statistic with len - 1 degrees of freedom (scipy.stats.chisquare). A key absent from
    the reference has an expected count of 0, so the statistic is infinite and p = 0 (as evidently)."""
    expected = reference * (float(current.sum()) / float(reference.sum()))
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = (current - expected) ** 2 / expected
    statistic = float(terms.sum())
    return float(special.chdtrc(len(reference) - 1, statistic))


def jensenshannon_distance(reference: np.ndarray, current: np.ndarray) -> float:
    """Jensen-Shannon distance (natural log) between the value shares of both sides, over the union
    of keys, as evidently's jensenshannon.py does through scipy.spatial.distance.jensenshannon:
    sqrt((KL(p || m) + KL(q || m)) / 2), m = (p + q) / 2. Between 0 and sqrt(ln 2)."""
    p = reference / reference.sum()
    q = current / current.sum()
    p = p / p.sum()
    q = q / q.sum()
    m = (p + q) / 2.0
    js = special.rel_entr(p, m).sum() + special.rel_entr(q, m).sum()
    return float(np.sqrt(max(js, 0.0) / 2.0))  # rounding can leave -1e-17 for equal shares: 0, not NaN


def ks_pvalue(reference_values: np.ndarray, reference_counts: np.ndarray, current_sorted: np.ndarray) -> float:
    """Two-sided two-sample Kolmogorov-Smirnov p-value (scipy.stats.ks_2samp, method "auto": exact
    up to 10,000 rows a side), as evidently's ks_stattest.py. Only run when the reference has 1,000
    rows or fewer, so expanding its counts back to rows is cheap."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # scipy's "exact calculation unsuccessful, switching to asymp"
        return float(stats.ks_2samp(np.repeat(reference_values, reference_counts), current_sorted).pvalue)


def wasserstein_normed(reference_values: np.ndarray, reference_counts: np.ndarray, reference_std: float,
                       current_values: np.ndarray, current_counts: np.ndarray) -> float:
    """First Wasserstein distance between the two empirical distributions, divided by
    max(reference population std, 0.001), as evidently's wasserstein_distance_norm.py. Both sides as
    sorted distinct values with counts; the distance is the integral of |F_ref - F_cur| over the
    merged support (what scipy.stats.wasserstein_distance computes from raw samples)."""
    values = np.concatenate((reference_values, current_values))
    # the distance over the std is scale-free: values near the float limit are divided by their largest
    # magnitude first, or their differences overflow to inf (1.0 otherwise, which changes nothing)
    scale = max(float(np.max(np.abs(values))), 1.0) if len(values) else 1.0
    scale = scale if scale > HUGE else 1.0
    if scale != 1.0:
        values = values / scale
    order = np.argsort(values, kind="stable")  # two sorted runs: timsort merges them in O(n)
    weights = np.concatenate((reference_counts * (1.0 / float(reference_counts.sum())),
                              current_counts * (-1.0 / float(current_counts.sum()))))
    gap = np.cumsum(weights[order])  # F_ref - F_cur just right of each support point
    np.abs(gap, out=gap)
    steps = np.diff(values[order])
    steps *= gap[:-1]
    distance = float(steps.sum())  # no np.dot: a BLAS call costs ms per column on a shared machine
    return distance / max(float(reference_std) / scale, 0.001 / scale)


def quantile(values: np.ndarray, cumulative: np.ndarray, q: float) -> float:
    """The q-quantile (0 <= q <= 1, lower value) of sorted distinct `values` whose counts'
    cumulative sum is `cumulative`."""
    at = int(np.searchsorted(cumulative, q * float(cumulative[-1]), side="left"))
    return float(values[min(at, len(values) - 1)])


def binned_shares(values: np.ndarray, cumulative: np.ndarray, edges: np.ndarray) -> list[float]:
    """Share of rows in each bin [edges[i], edges[i+1]) (the last bin closed) of sorted distinct
    `values` whose counts' cumulative sum is `cumulative`; len(edges) - 1 shares summing to 1:
    rows below edges[0] count in the first bin, rows above edges[-1] in the last."""
    at = np.searchsorted(values, edges[1:-1], side="left")  # values below each inner edge
    below = np.where(at > 0, cumulative[at - 1], 0)
    per_bin = np.diff(np.concatenate(([0], below, [cumulative[-1]])))
    return [round(float(x), 6) for x in per_bin / max(float(cumulative[-1]), 1.0)]
