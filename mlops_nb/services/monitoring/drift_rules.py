"""Drift verdicts per column: evidently's default DataDriftPreset rules, on a stored reference.

The rules (evidently 0.7.23, read from its source: ../shared/anchors/drift/RULES.md):
- a column's type comes from the CURRENT data: float -> numerical; integer -> categorical with 10 or
  fewer distinct values, else numerical; text with more than 50% distinct values -> text, else
  categorical; bool and category -> categorical;
- +-inf becomes NaN and NaN is dropped, per side and column; the test depends on the reference's
  remaining rows (1,000 or fewer: K-S p <= 0.05 for numerical columns with more than 5 values
  in reference and current together, else chi-square (3 or more values) or a two-proportion
  z test (2 or fewer), p < 0.05; above 1,000 rows: normed Wasserstein >= 0.1 for numerical columns
  with more than 5 values, else Jensen-Shannon distance >= 0.1);
- share = drifted / tested feature columns; dataset drift when share >= drift_share (0.5).

Where we differ, on purpose (docs/drift.md): one bad column never fails the report, it gets a
Finding instead (empty, missing on one side, numbers sent as text, fewer than MIN_ROWS rows, text
and datetime columns, which evidently tests with a classifier or skips); nullable and unsigned
integer columns, which evidently skips silently, are tested like integers.

    result = compute_drift(reference_profile(train), batch, exclude=["target"], prediction="_prediction")
    result.share, [c.column for c in result.columns if c.drift]
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from mlops_nb.services.data.results import Finding
from mlops_nb.services.errors import InvalidInput
from mlops_nb.services.monitoring import drift_stats
from mlops_nb.services.monitoring.drift_columns import CurrentColumn, current_column
from mlops_nb.services.monitoring.drift_reference import ColumnReference, ReferenceProfile

SMALL_REFERENCE = 1_000  # evidently's switch: <= this many non-null reference rows -> p-value tests
FEW_VALUES = 5  # numerical columns with <= this many values in reference and current get a categorical test
MIN_ROWS = 30  # non-null rows each side below which no verdict is given (evidently gives one from 1 row)
P_THRESHOLD = 0.05  # ks, chisquare, z (evidently's StatTest.default_threshold)
DISTANCE_THRESHOLD = 0.1  # jensenshannon, wasserstein (their default_threshold)
BINS = 20  # bins of a numeric column's drill-down chart
TOP_LABELS = 20  # categories of a categorical column's drill-down chart (the rest are "other")


@dataclass
class ColumnDrift:
    """One column's verdict. `role` is "feature" or "prediction"; `type` "numerical" or
    "categorical"; `test` evidently's name for it ("ks", "wasserstein", "jensenshannon",
    "chisquare", "z"); `statistic` its p-value (ks, chisquare, z: drift when below `threshold`,
    ks also when equal) or distance (drift when >= `threshold`); `reference_rows`/`current_rows`
    the non-null rows tested; `distribution` small JSON for a chart: {"kind": "bins", "edges",
    "reference", "current"} (shares per bin; 20 equal bins between the 1st and 99th percentiles of
    both sides, the end bins also holding the rows beyond them, so one outlier does not squash the
    chart) or {"kind": "categories", "labels", "reference",
    "current"} (shares of the top 20 labels, then "other")."""

    column: str
    role: str
    type: str
    test: str
    statistic: float
    threshold: float
    drift: bool
    reference_rows: int
    current_rows: int
    distribution: dict[str, Any] = field(repr=False, default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-able plain data."""
        return {"column": self.column, "role": self.role, "type": self.type, "test": self.test,
                "statistic": self.statistic, "threshold": self.threshold, "drift": self.drift,
                "reference_rows": self.reference_rows, "current_rows": self.current_rows,
                "distribution": self.distribution}


@dataclass
class DriftComputation:
    """Verdicts of one comparison: `columns` (tested columns, the prediction's last), `findings`
    (columns that could not be tested, and why), `tested` and `drifted` feature columns, `share` =
    drifted / tested (0.0 when none was tested), `dataset_drift` = share >= `drift_share` (False when
    none was tested), `prediction_drift` the prediction column's verdict (None: not named or not
    tested)."""

    columns: list[ColumnDrift]
    findings: list[Finding]
    tested: int
    drifted: int
    share: float
    dataset_drift: bool
    drift_share: float
    prediction_drift: bool | None


def compute_drift(reference: ReferenceProfile, current: pd.DataFrame, *, exclude: Sequence[str] = (),
                  prediction: str | None = None, drift_share: float = 0.5) -> DriftComputation:
    """Drift of `current` (rows x columns) against `reference`, per column by evidently's default
    preset rules (module docstring), then the dataset verdict. Columns in `exclude` (a target, ids)
    are left out; `prediction` names the model's output column, tested with role "prediction" and
    not counted in the share. Cost: one sort per numeric and one hash count per other current column.

    Raises:
        InvalidInput: `reference` is not a ReferenceProfile; `current` is not a DataFrame, has no
            rows, no columns or repeated column names; `drift_share` is not in (0, 1]."""
    if not isinstance(reference, ReferenceProfile):
        raise InvalidInput(f"the reference must be a ReferenceProfile (reference_profile(df)), "
                           f"not {type(reference).__name__}")
    if not isinstance(current, pd.DataFrame):
        raise InvalidInput(f"the current data must be a pandas DataFrame, not {type(current).__name__}")
    if current.shape[1] == 0:
        raise InvalidInput("the current data has no columns")
    if current.shape[0] == 0:
        raise InvalidInput(f"the current data has no rows (it has {current.shape[1]} columns); "
                           "drift needs at least one row")
    if not 0 < drift_share <= 1:
        raise InvalidInput(f"drift_share must be in (0, 1], not {drift_share}")
    names = [str(c) for c in current.columns]
    if len(set(names)) != len(names):
        repeated = sorted({n for n in names if names.count(n) > 1})
        raise InvalidInput(f"the current data repeats column names {repeated}; rename them first")
    skipped = {str(c) for c in exclude}
    findings: list[Finding] = []
    verdicts: list[ColumnDrift] = []
    for position, name in enumerate(names):
        if name in skipped:
            continue
        role = "prediction" if name == prediction else "feature"
        ref = reference.columns.get(name)
        if ref is None:
            findings.append(Finding(name, "not_in_reference", "warning",
                                    f"column '{name}' is in the current data but not in the reference; not tested"))
            continue
        verdict = _column_drift(ref, current.iloc[:, position], role, findings)
        if verdict is not None:
            verdicts.append(verdict)
    for name in reference.columns:
        if name not in skipped and name not in names:
            findings.append(Finding(name, "missing_column", "error",
                                    f"column '{name}' is in the reference but missing from the current data"))
    if prediction is not None and prediction not in names and prediction not in reference.columns:
        findings.append(Finding(prediction, "missing_column", "error",
                                f"the prediction column '{prediction}' is not in the current data; "
                                "no prediction drift"))
    features = [v for v in verdicts if v.role == "feature"]
    predicted = [v for v in verdicts if v.role == "prediction"]
    tested, drifted = len(features), sum(v.drift for v in features)
    share = drifted / tested if tested else 0.0
    if not tested:
        findings.append(Finding(None, "no_verdict", "error",
                                "no feature column could be tested, so there is no drift share; "
                                "the other findings say why for each column"))
    return DriftComputation(columns=features + predicted, findings=findings, tested=tested, drifted=drifted,
                            share=share, dataset_drift=bool(tested and share >= drift_share),
                            drift_share=drift_share, prediction_drift=predicted[0].drift if predicted else None)


def _column_drift(ref: ColumnReference, series: pd.Series, role: str, findings: list[Finding]) -> ColumnDrift | None:
    """The verdict on one column, or None with the reason appended to `findings`."""
    cur = current_column(ref, series, findings)
    if cur is None:
        return None
    name = ref.name
    if ref.rows == 0 or cur.rows == 0:
        sides = [side for side, rows in (("reference", ref.rows), ("current", cur.rows)) if rows == 0]
        findings.append(Finding(name, "empty_column", "error",
                                f"column '{name}' has no values in the {' and '.join(sides)} data "
                                "(all missing or infinite); not tested"))
        return None
    if ref.rows < MIN_ROWS or cur.rows < MIN_ROWS:
        findings.append(Finding(name, "too_few_rows", "warning",
                                f"column '{name}' has {ref.rows} reference and {cur.rows} current values; "
                                f"at least {MIN_ROWS} on each side are needed for a verdict",
                                details={"reference_rows": ref.rows, "current_rows": cur.rows,
                                         "min_rows": MIN_ROWS}))
        return None
    if cur.numeric and ref.numeric:
        return _numeric_drift(ref, cur, role, findings)
    return _categorical_drift(ref, cur, role, findings)


def _few_values(ref: ColumnReference, values: np.ndarray) -> bool:
    """True when reference and current together hold FEW_VALUES or fewer distinct values
    (evidently's n_values <= 5); either side alone holding more settles it without a union."""
    if ref.distinct > FEW_VALUES or len(values) > FEW_VALUES:
        return False
    return len(np.union1d(ref.values, values)) <= FEW_VALUES


def _numeric_drift(ref: ColumnReference, cur: CurrentColumn, role: str, findings: list[Finding]) -> ColumnDrift:
    if cur.type == "categorical" or _few_values(ref, cur.values):
        keys = np.union1d(ref.values, cur.values)
        ref_counts = _aligned(ref.values, ref.counts, keys)
        cur_counts = _aligned(cur.values, cur.counts, keys)
        labels = [_number_label(v) for v in keys]
        return _categorical_verdict(ref, cur, role, labels, ref_counts, cur_counts, findings, kind=cur.type)
    if ref.rows <= SMALL_REFERENCE:
        test, statistic = "ks", drift_stats.ks_pvalue(ref.values, ref.counts, cur.sorted)
        drift, threshold = statistic <= P_THRESHOLD, P_THRESHOLD
    else:
        statistic = drift_stats.wasserstein_normed(ref.values, ref.counts, ref.std or 0.0, cur.values, cur.counts)
        test, threshold = "wasserstein", DISTANCE_THRESHOLD
        drift = statistic >= DISTANCE_THRESHOLD
    ref_cumulative, cur_cumulative = np.cumsum(ref.counts), np.cumsum(cur.counts)
    low = min(drift_stats.quantile(ref.values, ref_cumulative, 0.01),
              drift_stats.quantile(cur.values, cur_cumulative, 0.01))
    high = max(drift_stats.quantile(ref.values, ref_cumulative, 0.99),
               drift_stats.quantile(cur.values, cur_cumulative, 0.99))
    if high <= low:  # most rows on one value: the full range
        low, high = min(float(ref.values[0]), float(cur.values[0])), max(float(ref.values[-1]), float(cur.values[-1]))
    if high <= low:
        edges = np.array([low, high])
    elif np.isfinite(high - low):
        edges = np.linspace(low, high, BINS + 1)
    else:  # a range wider than the largest float: the halves' range is not, and doubling stays in [low, high]
        edges = np.linspace(low / 2, high / 2, BINS + 1) * 2
    distribution = {"kind": "bins", "edges": [float(e) for e in edges],
                    "reference": drift_stats.binned_shares(ref.values, ref_cumulative, edges),
                    "current": drift_stats.binned_shares(cur.values, cur_cumulative, edges)}
    return ColumnDrift(ref.name, role, "numerical", test, float(statistic), threshold, bool(drift),
                       ref.rows, cur.rows, distribution)


def _categorical_drift(ref: ColumnReference, cur: CurrentColumn, role: str, findings: list[Finding]) -> ColumnDrift:
    ref_index = pd.Index(ref.values)
    keys = ref_index.union(pd.Index(cur.values), sort=False)
    ref_counts = np.zeros(len(keys), dtype=np.int64)
    ref_counts[keys.get_indexer(ref_index)] = ref.counts
    cur_counts = np.zeros(len(keys), dtype=np.int64)
    cur_counts[keys.get_indexer(pd.Index(cur.values))] = cur.counts
    labels = [str(k) for k in keys]
    if not ref.exact:  # the reference's labels past the top REFERENCE_VALUES, as one key
        labels.append("(other reference labels)")
        ref_counts = np.append(ref_counts, ref.rows - int(ref.counts.sum()))
        cur_counts = np.append(cur_counts, 0)
    return _categorical_verdict(ref, cur, role, labels, ref_counts, cur_counts, findings)


def _categorical_verdict(ref: ColumnReference, cur: CurrentColumn, role: str, labels: list[str],
                         ref_counts: np.ndarray, cur_counts: np.ndarray, findings: list[Finding],
                         kind: str = "categorical") -> ColumnDrift:
    """z / chi-square (reference of 1,000 rows or fewer) or Jensen-Shannon over the union of keys;
    `kind` is the column's type (a numerical column with 5 or fewer values gets these tests too)."""
    n_values = len(labels)
    if ref.rows <= SMALL_REFERENCE:
        if n_values > 2:
            test, statistic = "chisquare", drift_stats.chisquare_test(ref_counts, cur_counts)
        else:
            test, statistic = "z", drift_stats.z_test(ref_counts, cur_counts)
        threshold, drift = P_THRESHOLD, statistic < P_THRESHOLD
    else:
        test, statistic = "jensenshannon", drift_stats.jensenshannon_distance(ref_counts, cur_counts)
        threshold, drift = DISTANCE_THRESHOLD, statistic >= DISTANCE_THRESHOLD
    new = (ref_counts == 0) & (cur_counts > 0)
    if new.any():
        share = float(cur_counts[new].sum()) / cur.rows
        examples = [labels[i] for i in np.flatnonzero(new)[:5]]
        findings.append(Finding(ref.name, "new_categories", "warning",
                                f"column '{ref.name}' has {int(new.sum())} value(s) never seen in the reference "
                                f"({share:.1%} of current rows), e.g. {examples}", examples=examples,
                                details={"count": int(new.sum()), "share": round(share, 6)}))
    ref_share = ref_counts / float(ref.rows)
    cur_share = cur_counts / float(cur.rows)
    top = np.argsort(-(ref_share + cur_share), kind="stable")[:TOP_LABELS]
    rest = np.setdiff1d(np.arange(n_values), top)
    distribution: dict[str, Any] = {"kind": "categories", "labels": [labels[i] for i in top],
                                    "reference": [round(float(ref_share[i]), 6) for i in top],
                                    "current": [round(float(cur_share[i]), 6) for i in top]}
    if len(rest):
        distribution["labels"].append("other")
        distribution["reference"].append(round(float(ref_share[rest].sum()), 6))
        distribution["current"].append(round(float(cur_share[rest].sum()), 6))
    return ColumnDrift(ref.name, role, kind, test, float(statistic), threshold, bool(drift),
                       ref.rows, cur.rows, distribution)


def _aligned(values: np.ndarray, counts: np.ndarray, keys: np.ndarray) -> np.ndarray:
    """`counts` of sorted `values` added at their positions among sorted `keys` (a superset; a
    bounded reference may repeat a value)."""
    out = np.zeros(len(keys), dtype=np.int64)
    np.add.at(out, np.searchsorted(keys, values), counts)
    return out


def _number_label(value: float) -> str:
    """A numeric key as a chart label: 3 rather than 3.0."""
    return str(int(value)) if float(value).is_integer() and abs(value) < 1e15 else repr(float(value))
