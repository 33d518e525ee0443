"""The reference side of drift, computed once: what each reference column's drift test needs.

A drift run compares the current data with a reference (usually the model version's training
dataset). The reference does not change, so its work is done once, when the dataset is logged:
per numeric column its sorted distinct finite values with their counts, its null count (NaN, None
and +-inf, which evidently's rules drop) and its population standard deviation; per other column
its category labels (as text) with their counts. A drift run then reads only the current data.

Bounded whatever the reference's size: a numeric column with more than REFERENCE_VALUES distinct
values keeps its REFERENCE_VALUES / 4 smallest and largest values exactly and REFERENCE_VALUES / 2
equally spaced quantiles between them (`exact=False`; the Wasserstein distance computed from them
is approximate: docs/drift.md gives the measured error). K-S only
ever runs on references of 1,000 rows or fewer, which are always exact. Serialised with numpy
(`np.savez`, no pickle; labels as UTF-8 bytes with their end offsets).

    profile = reference_profile(train_df, source="dataset")
    blob = profile.to_bytes(); ReferenceProfile.from_bytes(blob).columns["age"].rows
"""
from __future__ import annotations

import io
import json
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from mlops_nb.services.errors import InvalidInput
from mlops_nb.services.monitoring.drift_stats import HUGE

REFERENCE_VALUES = 100_000  # distinct values kept exactly per column; above it, this many points (`bounded`)
FORMAT = 1  # version of the to_bytes layout


@dataclass(eq=False)
class ColumnReference:
    """What a drift test needs of one reference column.

    `dtype` is the pandas dtype name; `numeric` is True for float, int and unsigned columns
    (nullable ones too). `rows` counts the non-null (finite) values the tests use, `nulls` the rest
    (NaN, None, +-inf). Numeric: `values` are the sorted distinct finite values (float64) and
    `counts` how often each occurs (int64); when `exact` is False they are the column's extreme
    values and quantiles between them (`bounded`), each standing for `counts` rows. Other columns:
    `values` are the category labels as text (an object array) by descending count. `std` is the population standard deviation (ddof=0) of
    the cleaned numeric column, as evidently's Wasserstein norm uses (None for other columns).
    `distinct` is the number of distinct non-null values (exact even when `values` is not)."""

    name: str
    dtype: str
    numeric: bool
    rows: int
    nulls: int
    values: np.ndarray = field(repr=False)
    counts: np.ndarray = field(repr=False)
    std: float | None
    exact: bool
    distinct: int = -1

    def __post_init__(self) -> None:
        if self.distinct < 0:
            self.distinct = int(len(self.values))

    @property
    def datetime(self) -> bool:
        """True for a datetime or timedelta column (kept by name only: no drift test runs on it)."""
        return self.dtype.startswith(("datetime", "timedelta"))

    @property
    def integer(self) -> bool:
        """True for an integer column (int, uint, nullable Int/UInt)."""
        return self.numeric and self.dtype.lower().lstrip("u").startswith("int")

    def summary(self) -> dict[str, Any]:
        """JSON-able facts about the column: dtype, rows, nulls, distinct, exact; numeric: min,
        max, std; other: the top 5 labels with their counts."""
        out: dict[str, Any] = {"dtype": self.dtype, "numeric": self.numeric, "rows": self.rows,
                               "nulls": self.nulls, "distinct": self.distinct, "exact": self.exact}
        if self.numeric:
            has = len(self.values) > 0
            out.update(min=float(self.values[0]) if has else None, max=float(self.values[-1]) if has else None,
                       std=self.std)
        else:
            out["top"] = {str(label): int(n) for label, n in zip(self.values[:5], self.counts[:5])}
        return out


@dataclass(eq=False)
class ReferenceProfile:
    """The reference data of a drift comparison: `rows` of the frame, where it came from
    (`source`: "frame", "dataset", ...) and one ColumnReference per column, in the frame's order."""

    rows: int
    source: str
    columns: dict[str, ColumnReference]

    def summary(self) -> dict[str, Any]:
        """JSON-able: {"rows", "source", "columns": {name: ColumnReference.summary()}}."""
        return {"rows": self.rows, "source": self.source,
                "columns": {name: col.summary() for name, col in self.columns.items()}}

    def to_bytes(self) -> bytes:
        """The profile as an uncompressed `.npz` (numpy arrays plus one JSON header; no pickle)."""
        meta = {"format": FORMAT, "rows": self.rows, "source": self.source, "columns": [
            {"name": c.name, "dtype": c.dtype, "numeric": c.numeric, "rows": c.rows, "nulls": c.nulls,
             "std": c.std, "exact": c.exact, "distinct": c.distinct} for c in self.columns.values()]}
        arrays: dict[str, np.ndarray] = {"meta": np.array(json.dumps(meta))}
        for i, col in enumerate(self.columns.values()):
            if col.numeric:
                arrays[f"v{i}"] = col.values
            else:
                arrays[f"v{i}"], arrays[f"e{i}"] = _pack_labels(col.values)
            smallest = np.min_scalar_type(int(col.counts.max())) if len(col.counts) else np.uint8
            arrays[f"c{i}"] = col.counts.astype(smallest)  # mostly 1s: a byte each, not 8
        buffer = io.BytesIO()
        np.savez(buffer, allow_pickle=False, **arrays)
        return buffer.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> ReferenceProfile:
        """The profile `to_bytes` wrote.

        Raises:
            InvalidInput: the bytes are not a reference profile (or of an unknown format)."""
        try:
            with np.load(io.BytesIO(data), allow_pickle=False) as npz:
                meta = json.loads(str(npz["meta"]))
                if meta.get("format") != FORMAT:
                    raise InvalidInput(f"reference profile format {meta.get('format')!r} is not {FORMAT}")
                columns = {}
                for i, m in enumerate(meta["columns"]):
                    values = npz[f"v{i}"] if m["numeric"] else _unpack_labels(npz[f"v{i}"], npz[f"e{i}"])
                    columns[m["name"]] = ColumnReference(
                        name=m["name"], dtype=m["dtype"], numeric=m["numeric"], rows=m["rows"], nulls=m["nulls"],
                        values=values, counts=npz[f"c{i}"].astype(np.int64),
                        std=m["std"], exact=m["exact"], distinct=m["distinct"])
        except InvalidInput:
            raise
        except (OSError, ValueError, KeyError, TypeError, EOFError, UnicodeDecodeError) as err:
            raise InvalidInput(f"these {len(data)} bytes are not a reference profile ({err})") from err
        return cls(rows=int(meta["rows"]), source=str(meta["source"]), columns=columns)


def _pack_labels(labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Labels as their UTF-8 bytes end to end (uint8) and where each ends (int64). Not a numpy
    unicode array: that is as wide as the longest label for every label (one 10,000-character
    comment among 100,000 labels would take 4 GB) and drops trailing NUL characters."""
    encoded = [str(label).encode("utf-8", "surrogatepass") for label in labels]
    ends = np.cumsum([len(e) for e in encoded], dtype=np.int64)
    return np.frombuffer(b"".join(encoded), dtype=np.uint8), ends


def _unpack_labels(packed: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """The labels `_pack_labels` packed, as an object array of str."""
    data = packed.tobytes()
    starts = np.concatenate(([0], ends[:-1])).tolist()
    return np.array([data[a:b].decode("utf-8", "surrogatepass") for a, b in zip(starts, ends.tolist())], dtype=object)


def is_numeric_dtype(dtype: Any) -> bool:
    """True for float, int and unsigned dtypes, numpy or pandas-nullable (not bool, not complex)."""
    types = pd.api.types
    return bool(types.is_numeric_dtype(dtype)) and not types.is_bool_dtype(dtype) and not types.is_complex_dtype(dtype)


def finite_values(series: pd.Series) -> np.ndarray:
    """A numeric column's finite values as a new float64 array (NaN, pd.NA and +-inf dropped)."""
    array = series.to_numpy(dtype=np.float64, na_value=np.nan)
    clean: np.ndarray = array[np.isfinite(array)]
    return clean


def sorted_counts(sorted_values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(distinct values, counts as int64) of an already sorted array."""
    if len(sorted_values) == 0:
        return sorted_values, np.zeros(0, dtype=np.int64)
    starts = np.flatnonzero(np.concatenate(([True], sorted_values[1:] != sorted_values[:-1])))
    counts = np.diff(np.append(starts, len(sorted_values))).astype(np.int64)
    return sorted_values[starts], counts


def category_counts(series: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """(labels as an object array of str, counts as int64) of a non-numeric column, most frequent
    first; None and NaN dropped. Values that differ but print alike (1 and "1") are merged."""
    counts = series.value_counts(dropna=True, sort=False)  # unhashable values (lists) too, by pandas
    counts = counts[counts > 0]  # a categorical dtype lists its unused categories too
    index = counts.index
    if not (index.dtype == object and all(type(v) is str for v in index)):  # O(distinct), not O(rows)
        labels = pd.Index([str(v) for v in index], dtype=object)
        counts = pd.Series(counts.to_numpy(), index=labels).groupby(level=0, sort=False).sum()
    counts = counts.sort_values(ascending=False, kind="stable")
    return counts.index.to_numpy(dtype=object), counts.to_numpy(dtype=np.int64)


def _quantiles(values: np.ndarray, counts: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """k points standing for equal shares of the rows: point i is the value at row (i + 1/2) n / k,
    standing for the rows between i n / k and (i + 1) n / k."""
    n = int(counts.sum())
    cumulative = np.cumsum(counts)
    middle = np.floor((np.arange(k) + 0.5) * n / k).astype(np.int64)
    points = values[np.searchsorted(cumulative, middle, side="right")]
    edges = np.floor(np.arange(k + 1) * n / k).astype(np.int64)
    return points, np.diff(edges)


def bounded(values: np.ndarray, counts: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """At most k (value, count) pairs standing for a column with more than k distinct values: the
    k/4 smallest and k/4 largest distinct values exactly, the rows between as k/2 quantiles. Exact
    tails matter: a heavy tail's few far values carry much of a Wasserstein distance (quantiles
    alone were off by 2% on a Pareto column of 1M rows, these by 1e-5; docs/drift.md)."""
    tail = k // 4
    points, shares = _quantiles(values[tail:-tail], counts[tail:-tail], k - 2 * tail)
    return np.concatenate((values[:tail], points, values[-tail:])), np.concatenate((counts[:tail], shares, counts[-tail:]))


def population_std(values: np.ndarray) -> float:
    """np.std (ddof=0) of non-empty finite `values`; computed on the values divided by their largest
    magnitude when that is past HUGE, where np.std's squares overflow to inf (and a normed Wasserstein
    distance over it would be 0.0 whatever the data)."""
    scale = float(np.max(np.abs(values)))
    if scale <= HUGE:
        return float(np.std(values))
    return float(np.std(values / scale)) * scale


def column_reference(name: str, series: pd.Series) -> ColumnReference:
    """One column's reference (see ColumnReference); `name` is the column's name as text."""
    dtype = str(series.dtype)
    total = len(series)
    if is_numeric_dtype(series.dtype):
        clean = finite_values(series)
        clean.sort()
        values, counts = sorted_counts(clean)
        std = population_std(clean) if len(clean) else None
        distinct = len(values)
        exact = distinct <= REFERENCE_VALUES
        if not exact:
            values, counts = bounded(values, counts, REFERENCE_VALUES)
        return ColumnReference(name=name, dtype=dtype, numeric=True, rows=len(clean), nulls=total - len(clean),
                               values=values, counts=counts, std=std, exact=exact, distinct=distinct)
    if dtype.startswith(("datetime", "timedelta")):
        rows = int(series.notna().sum())
        return ColumnReference(name=name, dtype=dtype, numeric=False, rows=rows, nulls=total - rows,
                               values=np.zeros(0, dtype=object), counts=np.zeros(0, dtype=np.int64),
                               std=None, exact=True, distinct=int(series.nunique()))
    labels, counts = category_counts(series)
    rows = int(counts.sum())
    distinct = len(labels)
    exact = distinct <= REFERENCE_VALUES
    if not exact:  # the most frequent labels; the rest are `rows - counts.sum()`
        labels, counts = labels[:REFERENCE_VALUES], counts[:REFERENCE_VALUES]
    return ColumnReference(name=name, dtype=dtype, numeric=False, rows=rows, nulls=total - rows,
                           values=labels, counts=counts, std=None, exact=exact, distinct=distinct)


def reference_profile(df: pd.DataFrame, *, source: str = "frame") -> ReferenceProfile:
    """The reference profile of `df` (rows x columns, any dtypes): one sort per numeric column and
    one hash count per other column, O(rows log rows) per column, bounded to REFERENCE_VALUES
    values per column whatever the rows.

    Raises:
        InvalidInput: `df` is not a DataFrame, has no columns or no rows, or repeats a column name."""
    if not isinstance(df, pd.DataFrame):
        raise InvalidInput(f"the reference must be a pandas DataFrame, not {type(df).__name__}")
    if df.shape[1] == 0:
        raise InvalidInput("the reference data has no columns")
    if df.shape[0] == 0:
        raise InvalidInput(f"the reference data has no rows (it has {df.shape[1]} columns)")
    names = [str(c) for c in df.columns]
    if len(set(names)) != len(names):
        repeated = sorted({n for n in names if names.count(n) > 1})
        raise InvalidInput(f"the reference data repeats column names {repeated}; rename them first")
    columns = {name: column_reference(name, df.iloc[:, i]) for i, name in enumerate(names)}
    return ReferenceProfile(rows=int(df.shape[0]), source=source, columns=columns)

