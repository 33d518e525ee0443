"""Compact profiles of a scoring batch: what came in (per input column) and what came out.

A batch row keeps these as JSON, so they are small whatever the batch's size: per input column a
handful of numbers or the top categories; for the predictions a mean, five quantiles and a
ten-bin histogram of the positive-class probability (or the count of each predicted class), with
the NaN and infinite predictions counted apart (SPEC §3, ML Test Score monitoring 5).

    input_profile(frame)                      # {"age": {"dtype": "int64", "count": 10, ...}, ...}
    prediction_profile(proba, "predict_proba", classes=[0, 1])
"""
from __future__ import annotations

import math
from collections import Counter
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd



TOP_CATEGORIES = 5
QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)
HISTOGRAM_BINS = 10
TINY_BATCH = 16  # rows up to which a batch is profiled from one object array (the serving case)
SMALL_BATCH = 2_000  # rows under which categories are counted in Python (faster than value_counts)


def _num(value: Any) -> float | None:
    """A JSON-safe float: None for NaN and +-inf (JSON has neither)."""
    number = float(value)
    return number if math.isfinite(number) else None


def _json_scalar(value: Any) -> Any:
    """numpy scalars as Python ones; anything else that is not a JSON scalar as its text."""
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float):
        return _num(value)
    return value if isinstance(value, (str, int, bool)) or value is None else str(value)


def input_profile(frame: pd.DataFrame, known: dict[str, dict[str, Any]] | None = None) -> dict[str, Any]:
    """{column: statistics} of the batch's input: every column's `dtype`, `count` (non-null) and
    `nulls`; numerical columns `mean`, `min`, `max` of the finite values and `infinite` (a count)
    when any; other columns `unique` and the TOP_CATEGORIES most frequent values as `top` {value: count}.
    Every statistic is exact (over all the batch's rows, not a sample).

    `known`: columns already profiled, in this format (services.data.validation.validate_profiled
    hands the scorer those of the contract columns it read): taken as they are, in the frame's
    column order; only the others are read here. Cheap on small batches (the serving case): each
    column is read once as a numpy array; the categories of a batch under SMALL_BATCH rows are
    counted in Python rather than by value_counts.
    """
    import numpy as np
    import pandas as pd

    if known:
        names = [str(c) for c in frame.columns]
        rest = [i for i, n in enumerate(names) if n not in known]
        computed = input_profile(frame.iloc[:, rest]) if rest else {}
        return {n: known[n] if n in known else computed[n] for n in names}
    rows = len(frame)
    if rows <= TINY_BATCH:
        return _tiny_profile(frame)
    profile: dict[str, Any] = {}
    for position, name in enumerate(frame.columns):
        series = frame.iloc[:, position]  # by position: a repeated column name is profiled once, not failed on
        dtype = series.dtype
        stats: dict[str, Any] = {"dtype": str(dtype)}
        if dtype.kind in "iuf" and isinstance(dtype, np.dtype):
            values = series.to_numpy(dtype="float64")
            nan = np.isnan(values)
            infinite = np.isinf(values)
            finite = values[~(nan | infinite)]
            stats.update(count=int(rows - nan.sum()), nulls=int(nan.sum()))
            if infinite.any():
                stats["infinite"] = int(infinite.sum())
            if finite.size:
                stats.update(mean=_num(finite.mean()), min=_num(finite.min()), max=_num(finite.max()))
        elif pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series):  # nullable numbers
            values = series.to_numpy(dtype="float64", na_value=np.nan)
            nulls = int(np.isnan(values).sum())
            finite = values[np.isfinite(values)]
            stats.update(count=rows - nulls, nulls=nulls)
            if finite.size:
                stats.update(mean=_num(finite.mean()), min=_num(finite.min()), max=_num(finite.max()))
        else:
            values = series.to_numpy(dtype=object)
            missing = pd.isna(values)
            nulls = int(missing.sum())
            stats.update(count=rows - nulls, nulls=nulls)
            present = values[~missing]
            if len(present) < SMALL_BATCH:
                top = Counter(str(v) for v in present).most_common()
            else:
                counts = pd.Series(present).value_counts()  # keys made text below (no per-value str())
                top = list(zip(counts.index, counts.tolist()))
            stats["unique"] = len(top)
            stats["top"] = {str(k): int(v) for k, v in top[:TOP_CATEGORIES]}
        profile[str(name)] = stats
    return profile


def _tiny_profile(frame: pd.DataFrame) -> dict[str, Any]:
    """input_profile of a batch of a few rows, from one object array (per-column pandas calls cost
    more than the statistics here): the same keys and values."""
    import numpy as np
    import pandas as pd

    values = frame.to_numpy(dtype=object)
    missing = pd.isna(values)
    profile: dict[str, Any] = {}
    for position, (name, dtype) in enumerate(zip(frame.columns, frame.dtypes)):
        column, absent = values[:, position], missing[:, position]
        nulls = int(absent.sum())
        stats: dict[str, Any] = {"dtype": str(dtype), "count": len(column) - nulls, "nulls": nulls}
        if dtype.kind in "iuf":  # numpy and nullable numbers (booleans are kind "b": counted as categories)
            numbers = np.array([float(v) for v in column[~absent]], dtype="float64")
            infinite = np.isinf(numbers)
            finite = numbers[~infinite]
            if infinite.any():
                stats["infinite"] = int(infinite.sum())
            if finite.size:
                stats.update(mean=_num(finite.mean()), min=_num(finite.min()), max=_num(finite.max()))
        else:
            top = Counter(str(v) for v in column[~absent]).most_common()
            stats["unique"] = len(top)
            stats["top"] = {k: int(v) for k, v in top[:TOP_CATEGORIES]}
        profile[str(name)] = stats
    return profile


def positive_scores(predictions: Any) -> np.ndarray[Any, Any] | None:
    """The positive-class (last column) probabilities of a two-column predict_proba result, else None."""
    import numpy as np
    array = np.asarray(predictions)
    if array.ndim == 2 and array.shape[1] == 2:
        return np.asarray(array[:, -1], dtype="float64")
    return None


def prediction_profile(predictions: Any, method: str, *, classes: list[Any] | None = None) -> dict[str, Any]:
    """The distribution of a batch's predictions.

    predict_proba with two classes: `positive_class`, `mean`, `quantiles` (5/25/50/75/95%) and
    `histogram` (HISTOGRAM_BINS counts over [0, 1]) of the positive-class probability; with more
    classes the mean probability per class (`class_means`). predict: `class_counts` {class: rows}
    for a classifier, else (a regressor) `mean` and `quantiles`. Always `rows`, `nan` and `inf`
    (counts of non-finite predicted values) and `classes` when known.
    """
    import numpy as np
    array = np.asarray(predictions)
    numeric = array.dtype.kind in "fiub"
    as_float = array.astype("float64") if numeric else None
    profile: dict[str, Any] = {"rows": int(array.shape[0]) if array.ndim else 1,
                               "nan": int(np.isnan(as_float).sum()) if as_float is not None else 0,
                               "inf": int(np.isinf(as_float).sum()) if as_float is not None else 0}
    if classes is not None:
        profile["classes"] = [_json_scalar(c) for c in classes]
    if method == "predict_proba" and as_float is not None and as_float.ndim == 2:
        if as_float.shape == (1, 2):  # the serving case: one probability, no numpy reductions
            return _one_probability(profile, float(as_float[0, 1]), classes)
        positive = positive_scores(as_float)
        if positive is not None:
            finite = positive[np.isfinite(positive)]
            profile["positive_class"] = _json_scalar(classes[-1]) if classes else None
            if finite.size:
                profile["mean"] = _num(finite.mean())
                profile["quantiles"] = [_num(q) for q in np.quantile(finite, QUANTILES)]
                counts, _ = np.histogram(np.clip(finite, 0.0, 1.0), bins=HISTOGRAM_BINS, range=(0.0, 1.0))
                profile["histogram"] = [int(c) for c in counts]
        else:
            means = np.nanmean(as_float, axis=0) if as_float.shape[0] else []
            labels = classes if classes and len(classes) == as_float.shape[1] else list(range(as_float.shape[1]))
            profile["class_means"] = {str(_json_scalar(c)): _num(m) for c, m in zip(labels, means)}
        return profile
    flat = array.reshape(-1) if array.ndim else array.reshape(1)
    is_classes = classes is not None or not numeric or array.dtype.kind in "biu"
    if is_classes:
        values, counts = np.unique(flat.astype(str) if not numeric else flat[~np.isnan(flat.astype("float64"))],
                                   return_counts=True)
        profile["class_counts"] = {str(_json_scalar(v)): int(n) for v, n in zip(values, counts)}
    elif as_float is not None:
        finite = as_float.reshape(-1)[np.isfinite(as_float.reshape(-1))]
        if finite.size:
            profile["mean"] = _num(finite.mean())
            profile["quantiles"] = [_num(q) for q in np.quantile(finite, QUANTILES)]
    return profile


_EDGES: list[float] = []  # the histogram's bin edges over [0, 1], as np.histogram makes them


def _one_probability(profile: dict[str, Any], value: float, classes: list[Any] | None) -> dict[str, Any]:
    """prediction_profile of a one-row two-class predict_proba (`value`: the positive class's
    probability) in plain Python: the same keys and values numpy's mean, quantile and histogram give."""
    profile["positive_class"] = _json_scalar(classes[-1]) if classes else None
    if not math.isfinite(value):
        return profile
    if not _EDGES:
        import numpy as np
        _EDGES.extend(np.linspace(0.0, 1.0, HISTOGRAM_BINS + 1).tolist())
    clipped = min(max(value, 0.0), 1.0)
    # np.histogram's bin of one value over equal bins: scaled, then corrected against the edges
    position = min(int(clipped * HISTOGRAM_BINS), HISTOGRAM_BINS - 1)
    if clipped < _EDGES[position]:
        position -= 1
    if clipped >= _EDGES[position + 1] and position != HISTOGRAM_BINS - 1:
        position += 1
    histogram = [0] * HISTOGRAM_BINS
    histogram[position] = 1
    profile["mean"] = value
    profile["quantiles"] = [value] * len(QUANTILES)
    profile["histogram"] = histogram
    return profile
