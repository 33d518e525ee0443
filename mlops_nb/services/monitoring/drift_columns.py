"""One current column made ready for a drift test: its type by evidently's rules, cleaned and counted.

evidently decides a column's type from the current data (core/datasets.py infer_column_type, see
../shared/anchors/drift/RULES.md §1) and fails or skips silently on what it cannot test. Here each
column either comes out counted (sorted distinct values with counts, or category labels with
counts) or as a Finding that names it and says why it was not tested:
`numbers_as_text` (a numeric reference column arriving as text: tested as numbers only if every
value parses), `dtype_changed` (numbers in current, text in the reference), `text_not_tested` (more
than 50% distinct strings: evidently runs a domain classifier, we give no verdict), `not_tested`
(datetimes), and the warning `integer_codes` (an integer column with 11 to INTEGER_CODES values,
which evidently's rule tests as numbers although it may hold category codes).

    cur = current_column(reference.columns["age"], batch["age"], findings)
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from mlops_nb.services.data.results import Finding
from mlops_nb.services.monitoring.drift_reference import (
    ColumnReference,
    category_counts,
    finite_values,
    is_numeric_dtype,
    sorted_counts,
)

INTEGER_CATEGORIES = 10  # evidently's INTEGER_CARDINALITY_LIMIT: integer columns with <= this many values are categorical
INTEGER_CODES = 20  # integer columns with more values than that but at most this many get an integer_codes warning
TEXT_SHARE = 0.5  # strings with more distinct values than this share of their non-null rows are text


@dataclass(eq=False)
class CurrentColumn:
    """A current column counted: `type` "numerical" or "categorical" (evidently's decision);
    `numeric` True when `values` are sorted distinct float64 numbers (and `sorted` the cleaned
    column sorted, for K-S), False when they are text labels; `counts` int64 per value; `rows`
    the non-null, finite values."""

    type: str
    numeric: bool
    rows: int
    values: np.ndarray = field(repr=False)
    counts: np.ndarray = field(repr=False)
    sorted: np.ndarray = field(repr=False, default_factory=lambda: np.zeros(0))


def current_column(ref: ColumnReference, series: pd.Series, findings: list[Finding]) -> CurrentColumn | None:
    """`series` (the current column named like `ref`) typed and counted, or None with a Finding
    appended to `findings` saying why it cannot be tested."""
    name, dtype = ref.name, series.dtype
    if pd.api.types.is_datetime64_any_dtype(dtype) or pd.api.types.is_timedelta64_dtype(dtype) or ref.datetime:
        findings.append(Finding(name, "not_tested", "warning",
                                f"column '{name}' holds dates or times ({dtype} in current, {ref.dtype} in the "
                                "reference); drift is tested on numerical and categorical columns only"))
        return None
    if is_numeric_dtype(dtype):
        if not ref.numeric:
            examples = series.dropna().unique()[:5].tolist()
            findings.append(Finding(name, "dtype_changed", "error",
                                    f"column '{name}' holds numbers ({dtype}) in current but text ({ref.dtype}) in "
                                    "the reference; not tested (make both sides the same type)", examples=examples))
            return None
        return _numbers(ref, finite_values(series), pd.api.types.is_integer_dtype(dtype), findings)
    if ref.numeric and not (pd.api.types.is_bool_dtype(dtype) or isinstance(dtype, pd.CategoricalDtype)):
        return _numbers_as_text(ref, series, findings)
    if ref.numeric:
        findings.append(Finding(name, "dtype_changed", "error",
                                f"column '{name}' is {dtype} in current but numeric ({ref.dtype}) in the reference; "
                                "not tested (make both sides the same type)"))
        return None
    labels, counts = category_counts(series)
    rows = int(counts.sum())
    textual = not (pd.api.types.is_bool_dtype(dtype) or isinstance(dtype, pd.CategoricalDtype))
    if textual and rows and len(labels) > TEXT_SHARE * rows:
        findings.append(Finding(name, "text_not_tested", "warning",
                                f"column '{name}' is free text ({len(labels)} distinct values in {rows} rows, more "
                                f"than {TEXT_SHARE:.0%}); evidently would train a classifier on it, we test "
                                "numerical and categorical columns only", examples=labels[:3].tolist()))
        return None
    return CurrentColumn(type="categorical", numeric=False, rows=rows, values=labels, counts=counts)


def _numbers(ref: ColumnReference, clean: np.ndarray, integer: bool, findings: list[Finding]) -> CurrentColumn:
    clean.sort()
    values, counts = sorted_counts(clean)
    categorical = integer and len(values) <= INTEGER_CATEGORIES
    if integer and INTEGER_CATEGORIES < len(values) <= INTEGER_CODES:
        findings.append(Finding(ref.name, "integer_codes", "warning",
                                f"column '{ref.name}' is an integer column with {len(values)} distinct values, "
                                f"tested as numerical (evidently's rule: more than {INTEGER_CATEGORIES}); if they "
                                "are category codes, cast the column to str on both sides",
                                details={"distinct": len(values)}))
    return CurrentColumn(type="categorical" if categorical else "numerical", numeric=True, rows=len(clean),
                         values=values, counts=counts, sorted=clean)


def _numbers_as_text(ref: ColumnReference, series: pd.Series, findings: list[Finding]) -> CurrentColumn | None:
    """A numeric reference column that arrives as text: tested as numbers when every value parses."""
    parsed = pd.to_numeric(series.astype(object), errors="coerce")
    bad = series.notna().to_numpy() & parsed.isna().to_numpy()
    name = ref.name
    if bad.any():
        examples = pd.unique(series[bad])[:5].tolist()
        findings.append(Finding(name, "numbers_as_text", "error",
                                f"column '{name}' is numeric in the reference but text in current, and "
                                f"{int(bad.sum())} value(s) are not numbers, e.g. {examples}; not tested",
                                examples=examples, details={"unparsed": int(bad.sum())}))
        return None
    clean = finite_values(parsed.astype(np.float64))
    examples = pd.unique(series.dropna())[:5].tolist()
    findings.append(Finding(name, "numbers_as_text", "warning",
                            f"column '{name}' is numeric in the reference but arrived as text ({series.dtype}) in "
                            "current; every value parses as a number, so it was tested as numbers",
                            examples=examples))
    integer = ref.integer and bool(np.all(np.mod(clean, 1) == 0))
    return _numbers(ref, clean, integer, findings)
