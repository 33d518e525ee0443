"""The rules validation applies to one column, and the contract they read (services.data.validation).

A contract column is read once from a dataset version's schema and profile (`contract_columns`,
cached per schema and profile object: the scorer validates every batch against the same ones).
`check_column` applies every rule to one column present in the frame, in one pass where it can: a
categorical column's levels and nulls come from one hash table, a numeric column's range, infinities
and nulls from numpy. Frames of at most SMALL rows take plain-Python paths (pandas' per-call cost
would dominate a one-row batch).

Re-encodings are inferred, never assumed: integer codes are mapped to the contract's levels by
sorted order (codes 0..k-1), or by frequency when the profile's counts cover every level, the
batch has FREQUENCY_ROWS rows and frequencies fit better by more than SHARE_TOLERANCE; a renamed
level is a new and a vanished level whose shares match one to one.

    columns = contract_columns(schema, profile, None)
    check_column(columns[0], df[columns[0].name], len(df))   # [Finding, ...]
"""
from __future__ import annotations

import heapq
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from operator import itemgetter
from typing import TYPE_CHECKING, Any

from mlops_nb.services.data.results import Finding
from mlops_nb.services.errors import InvalidInput

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

SEVERITY = {"missing_column": "error", "dtype_changed": "error", "new_categories": "error",
            "extra_column": "warning", "vanished_categories": "warning", "out_of_range": "warning",
            "null_rate": "warning"}  # SPEC §4's defaults
EXAMPLES = 5  # offending values kept per finding, the most frequent first
EXAMPLE_CHARS = 120  # an example of text longer than this is cut (a finding is stored and shown, not a dump)
NULL_RATE_SLACK = 0.1  # SPEC §4: the null share may rise by this much over the contract's
MIN_EXPECTED = 5.0  # a level is "vanished" only when the frame should have held it this many times
SMALL = 64  # rows up to which plain Python beats pandas' per-call overhead
PARSE_SAMPLE = 10_000  # text values tried as numbers when numbers arrive as text
FREQUENCY_ROWS = 30  # rows from which frequencies are trusted to infer a mapping
SHARE_TOLERANCE = 0.05  # shares closer than this match one to one (a renamed level, remapped codes)
PROFILE_TOP = 5  # top levels a column's batch profile keeps (monitoring.profiles.TOP_CATEGORIES)


@dataclass
class ContractColumn:
    """One contract column, read once from the schema and profile: its kind and dtype, its levels
    and their shares (of the top levels the profile counted), null rate, finite min and max, and how
    many infinities the contract held."""

    name: str
    kind: str
    dtype: str
    categories: list[str] | None = None
    shares: dict[str, float] = field(default_factory=dict)  # level -> share of non-null values (top levels)
    top_complete: bool = False  # the profile's top counts cover every level
    null_rate: float = 0.0
    low: float | None = None
    high: float | None = None
    infinite: int = 0


# The scorer validates every batch against the same schema and profile objects: their columns are
# read once. Keyed by the objects' ids, holding the objects (so an id is not reused while cached).
_COMPILED: dict[tuple[int, int, tuple[str, ...] | None], tuple[Any, Any, list[ContractColumn]]] = {}
_COMPILED_MAX = 32


def contract_columns(schema: dict[str, Any], profile: dict[str, Any], columns: Sequence[str] | None) -> list[ContractColumn]:
    """The contract's columns (restricted to `columns`, in the contract's order) with what each check
    needs, read once per schema and profile object (a dataset version's, never changed in place).

    Raises:
        InvalidInput: the schema has no column list.
    """
    key = (id(schema), id(profile), None if columns is None else tuple(str(c) for c in columns))
    cached = _COMPILED.get(key)
    if cached is not None and cached[0] is schema and cached[1] is profile:
        return cached[2]
    compiled = _read_contract(schema, profile, columns)
    if len(_COMPILED) >= _COMPILED_MAX:
        _COMPILED.pop(next(iter(_COMPILED)))
    _COMPILED[key] = (schema, profile, compiled)
    return compiled


def _read_contract(schema: dict[str, Any], profile: dict[str, Any], columns: Sequence[str] | None) -> list[ContractColumn]:
    """_contract_columns without the cache."""
    listed = schema.get("columns") if isinstance(schema, dict) else None
    if not isinstance(listed, list):
        raise InvalidInput("the contract's schema has no 'columns' list; pass a dataset version's schema")
    wanted = None if columns is None else {str(c) for c in columns}
    out = []
    for entry in listed:
        name = str(entry["name"])
        if wanted is not None and name not in wanted:
            continue
        stats = (profile or {}).get(name) or {}
        c = ContractColumn(name=name, kind=str(entry.get("kind", "categorical")), dtype=str(entry.get("dtype", "")),
                    categories=entry.get("categories"), null_rate=float(stats.get("null_rate") or 0.0),
                    low=stats.get("min"), high=stats.get("max"), infinite=int(stats.get("infinite") or 0))
        top, count = stats.get("top") or {}, int(stats.get("count") or 0)
        if top and count:
            c.shares = {str(k): v / count for k, v in top.items()}
            c.top_complete = int(stats.get("unique") or 0) == len(top)
        out.append(c)
    return out


def _safe(value: Any) -> Any:
    """A JSON-safe example: numpy scalars as Python, +-inf and NaN as text."""
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return str(value)


def top(values: Any, n: int = EXAMPLES) -> list[Any]:
    """The `n` most frequent of `values` (an array), as JSON-safe examples."""
    if len(values) <= SMALL:
        counts: dict[Any, int] = {}
        for v in values.tolist():
            counts[v] = counts.get(v, 0) + 1
        ranked = sorted(counts, key=lambda v: -counts[v])
    else:
        import pandas as pd

        ranked = pd.Series(values).value_counts().index.tolist()
    return [_safe(v) for v in ranked[:n]]


def _level_counts(series: pd.Series) -> tuple[dict[str, int], int]:
    """(non-null values of a categorical column as text -> count, as the profile counts them; the
    number of nulls), in one pass: a hash table of the values, nulls among its keys."""
    import pandas as pd

    counts: dict[str, int] = {}
    nulls = 0
    if len(series) <= SMALL:
        pairs: Any = ((v, 1) for v in series.tolist())
    else:
        raw = series.value_counts(dropna=False, sort=False)
        pairs = zip(raw.index.tolist(), raw.tolist())
    for value, n in pairs:
        if not n:  # a categorical dtype lists its unused categories with count 0
            continue
        if value is None or value is pd.NA or value is pd.NaT or (isinstance(value, float) and value != value):
            nulls += int(n)
            continue
        key = str(value)
        counts[key] = counts.get(key, 0) + int(n)
    return counts, nulls


def _frame_kind(series: pd.Series) -> str:
    """numerical, categorical, datetime (as datasets.column_kind), from the dtype alone."""
    kind = getattr(series.dtype, "kind", "O")  # numpy's and pandas' extension dtypes both have one
    if kind in "iuf":
        return "numerical"
    if kind == "M":
        return "datetime"
    return "categorical"  # b (booleans), O (objects, text), category, string


def finding(column: str | None, rule: str, message: str, examples: list[Any] | None = None,
            **details: Any) -> Finding:
    """A Finding of `rule` with its default severity and at most EXAMPLES examples."""
    kept = [_short(e) for e in list(examples or [])[:EXAMPLES]]
    return Finding(column=column, rule=rule, severity=SEVERITY[rule], message=message, examples=kept, details=details)


def _short(example: Any) -> Any:
    """`example`, or its first EXAMPLE_CHARS characters and a count of the rest when it is longer text."""
    if isinstance(example, str) and len(example) > EXAMPLE_CHARS:
        return f"{example[:EXAMPLE_CHARS]}... ({len(example) - EXAMPLE_CHARS} more characters)"
    return example


def _quote(values: Sequence[Any]) -> str:
    return ", ".join(repr(_short(v)) for v in values)


# --- the checks ------------------------------------------------------------------------------------

def _text_as_numbers(c: ContractColumn, series: pd.Series, nonnull: Any) -> Finding:
    """A numeric contract column delivered as text (or another non-number): do the values parse?"""
    import pandas as pd

    values = nonnull[:PARSE_SAMPLE]
    parsed = pd.to_numeric(pd.Series(values, dtype=object).map(
        lambda v: v.strip().replace(",", "") if isinstance(v, str) else v), errors="coerce")
    bad = values[parsed.isna().to_numpy()]
    share = 1 - len(bad) / len(values) if len(values) else 0.0
    tried = f"{len(values):,} of {len(nonnull):,}" if len(values) < len(nonnull) else f"all {len(values):,}"
    if len(bad) == 0:
        words = (f"numbers delivered as {series.dtype} ({c.dtype} in the contract): the values parse as "
                 f"numbers ({tried} tried); convert them with pd.to_numeric")
    else:
        words = (f"numbers delivered as {series.dtype} ({c.dtype} in the contract): {share:.0%} of the values "
                 f"parse as numbers ({tried} tried), not {_quote(top(bad, 3))}")
    return finding(c.name, "dtype_changed", words, top(values), expected=c.dtype, found=str(series.dtype),
                    parses_as_number=len(bad) == 0, parsed_share=share)


def _dates(c: ContractColumn, series: pd.Series, rows: int) -> list[Finding]:
    """A datetime column against a datetime contract: a time zone gained or lost (dtype_changed), and
    dates outside the contract's first and last (out_of_range; contracts logged before dates were
    profiled have no range, and are not range-checked)."""
    import pandas as pd

    values = series.dropna()
    zoned, contract_zoned = getattr(series.dtype, "tz", None) is not None, "," in c.dtype
    if zoned != contract_zoned:
        return [finding(c.name, "dtype_changed", f"dates delivered {'with' if zoned else 'without'} a time zone "
                        f"({series.dtype}; {c.dtype} in the contract): compared as they are, every value would "
                        "shift", [str(v) for v in values.unique()[:EXAMPLES]], expected=c.dtype, found=str(series.dtype))]
    if c.low is None or c.high is None:
        return []
    low, high = pd.Timestamp(c.low), pd.Timestamp(c.high)
    before, after = values < low, values > high
    count = int(before.sum()) + int(after.sum())
    if not count:
        return []
    outside = values[before | after]
    return [finding(c.name, "out_of_range", f"{count} date(s) outside the contract's range [{low}, {high}] "
                    f"({int(before.sum())} before, {int(after.sum())} after)",
                    [str(v) for v in outside.value_counts().index[:EXAMPLES]], count=count, share=count / rows)]


def _codes_mapping(c: ContractColumn, counts: dict[Any, int]) -> tuple[dict[str, str], str] | None:
    """(code -> level, how) for a categorical delivered as integer codes: by sorted order (codes
    0..k-1 of the contract's k sorted levels), or by matching frequencies one to one when the
    profile's counts cover every level and frequencies fit better."""
    levels = sorted(c.categories or [])
    codes = list(counts)
    if not levels or not all(float(v).is_integer() and 0 <= v < len(levels) for v in codes):
        return None
    by_order = {int(v): levels[int(v)] for v in codes}
    total = sum(counts.values())
    if total < FREQUENCY_ROWS or not c.top_complete or len(codes) != len(levels):
        return {str(k): v for k, v in sorted(by_order.items())}, "sorted order"
    ranked_codes = sorted(codes, key=lambda v: -counts[v])
    ranked_levels = sorted(levels, key=lambda lv: -c.shares.get(lv, 0.0))
    by_frequency = {int(v): lv for v, lv in zip(ranked_codes, ranked_levels)}

    def distance(mapping: dict[int, str]) -> float:
        return sum(abs(counts[v] / total - c.shares.get(mapping[int(v)], 0.0)) for v in codes)

    if by_frequency != by_order and distance(by_frequency) + SHARE_TOLERANCE < distance(by_order):
        return {str(k): v for k, v in sorted(by_frequency.items())}, "frequency"
    how = "sorted order, frequencies agree" if distance(by_order) <= SHARE_TOLERANCE * len(codes) else "sorted order"
    return {str(k): v for k, v in sorted(by_order.items())}, how


def _numbers_as_categories(c: ContractColumn, series: pd.Series, nonnull: Any) -> Finding:
    """A categorical contract column delivered as numbers: integer codes (a re-encoding) or levels as numbers."""
    counts: dict[Any, int] = {}
    for v, n in _level_counts_raw(nonnull).items():
        counts[v] = counts.get(v, 0) + n
    examples = top(nonnull)
    levels = set(c.categories or [])
    as_text = {_number_text(v) for v in counts}
    base = dict(expected=c.dtype, found=str(series.dtype))
    if levels and as_text <= levels:
        return finding(c.name, "dtype_changed", f"categories delivered as {series.dtype} ({c.dtype} in the "
                        "contract): the values are the contract's levels written as numbers; convert them with "
                        ".astype(str)", examples, **base, mapping={t: t for t in sorted(as_text)}, mapping_by="same text")
    inferred = _codes_mapping(c, counts) if levels else None
    if inferred is not None:
        mapping, how = inferred
        shown = ", ".join(f"{k} -> {v!r}" for k, v in list(mapping.items())[:EXAMPLES])
        return finding(c.name, "dtype_changed", f"appears re-encoded as integer codes: categories delivered as "
                        f"{series.dtype} ({c.dtype} in the contract), codes 0..{len(levels) - 1} for its "
                        f"{len(levels)} levels; inferred mapping by {how}: {shown}", examples, **base,
                        reencoded=True, mapping=mapping, mapping_by=how)
    return finding(c.name, "dtype_changed", f"categories delivered as {series.dtype} ({c.dtype} in the contract); "
                    "the values are not codes of its levels", examples, **base)


def _number_text(v: Any) -> str:
    """How a level that arrived as a number reads as text (2.0 -> '2')."""
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


def _level_counts_raw(values: Any) -> dict[Any, int]:
    """Value -> count of an array of non-null values."""
    if len(values) <= SMALL:
        out: dict[Any, int] = {}
        for v in values.tolist():
            out[v] = out.get(v, 0) + 1
        return out
    import pandas as pd

    raw = pd.Series(values).value_counts()
    return dict(zip(raw.index.tolist(), (int(n) for n in raw.tolist())))


def _categories(c: ContractColumn, counts: dict[str, int], rows: int) -> list[Finding]:
    """new_categories and vanished_categories of a categorical column (`counts`: level -> count),
    with renamed levels named."""
    if c.categories is None:  # too many levels for the contract to list them
        return []
    known = set(c.categories)
    new = {k: n for k, n in counts.items() if k not in known}
    nonnull = sum(counts.values())
    missing = [lv for lv in c.categories if lv not in counts]
    vanished = [lv for lv in missing if nonnull * c.shares.get(lv, 0.0) >= MIN_EXPECTED]
    findings = []
    renamed: dict[str, str] = {}
    if new and vanished and nonnull >= FREQUENCY_ROWS:  # only levels the batch should have held: a rare
        # level merely absent from this batch is no evidence of a rename
        renamed = _match_shares({k: n / nonnull for k, n in new.items()}, {lv: c.shares.get(lv, 0.0) for lv in vanished})
    if new:
        ranked = sorted(new, key=lambda k: -new[k])
        total = sum(new.values())
        words = (f"{len(new)} level(s) the contract never saw: {_quote(ranked[:EXAMPLES])}"
                 f"{' …' if len(ranked) > EXAMPLES else ''} in {total:,} of {rows:,} rows")
        details: dict[str, Any] = {"count": total, "share": total / rows, "levels": len(new)}
        if renamed:
            words += "; appears renamed: " + ", ".join(f"{_short(old)!r} -> {_short(k)!r}" for k, old in renamed.items())
            details["mapping"] = renamed
        findings.append(finding(c.name, "new_categories", words, ranked, **details))
    if vanished:
        words = (f"{len(vanished)} level(s) of the contract missing although expected at least "
                 f"{MIN_EXPECTED:g} times in {nonnull:,} values: {_quote(vanished[:EXAMPLES])}")
        details = {"levels": len(vanished),
                   "expected": {lv: round(nonnull * c.shares.get(lv, 0.0), 1) for lv in vanished[:EXAMPLES]}}
        if renamed:
            details["mapping"] = renamed
        findings.append(finding(c.name, "vanished_categories", words, vanished, **details))
    return findings


def _match_shares(new: dict[str, float], old: dict[str, float]) -> dict[str, str]:
    """new level -> old level when the two sets pair one to one by frequency (each pair within
    SHARE_TOLERANCE); {} otherwise."""
    if len(new) != len(old):
        return {}
    pairs = zip(sorted(new, key=lambda k: -new[k]), sorted(old, key=lambda k: -old[k]))
    mapping = {}
    for n, o in pairs:
        if abs(new[n] - old[o]) > SHARE_TOLERANCE or old[o] == 0.0:
            return {}
        mapping[n] = o
    return mapping


def _numbers(c: ContractColumn, original: np.ndarray, rows: int) -> list[Finding]:
    """out_of_range of a numeric column (`original`: its non-null values): finite values outside
    [min, max], and +-inf."""
    import numpy as np

    if c.low is None or c.high is None:
        return []
    values = original if original.dtype.kind == "f" else original.astype("float64")
    finite = np.isfinite(values)
    outside = finite & ((values < c.low) | (values > c.high))
    below, above = int(np.count_nonzero(outside & (values < c.low))), int(np.count_nonzero(outside & (values > c.high)))
    infinite = 0 if c.infinite else int(np.count_nonzero(np.isinf(values)))
    if not (below or above or infinite):
        return []
    offending = original[outside | (np.isinf(values) if infinite else False)]
    parts = []
    if below or above:
        parts.append(f"{below + above:,} value(s) outside the contract's range [{c.low:g}, {c.high:g}] "
                     f"({below:,} below, {above:,} above)")
    details: dict[str, Any] = {"count": below + above, "below": below, "above": above, "min": c.low, "max": c.high,
                               "share": (below + above) / rows}
    if infinite:
        pos = int(np.count_nonzero(values == np.inf))
        parts.append(f"{infinite:,} infinite value(s) (+inf {pos:,}, -inf {infinite - pos:,}), which the "
                     "contract never held")
        details["non_finite"] = {"+inf": pos, "-inf": infinite - pos}
    return [finding(c.name, "out_of_range", "; ".join(parts), top(offending[:1_000_000]), **details)]


def _null_rate(c: ContractColumn, nulls: int, rows: int) -> list[Finding]:
    """null_rate: the null share up by more than NULL_RATE_SLACK over the contract's."""
    if nulls - c.null_rate * rows <= NULL_RATE_SLACK * rows:
        return []
    rate = nulls / rows
    words = ("entirely null" if nulls == rows else f"{rate:.1%} null") + (
        f" against {c.null_rate:.1%} in the contract (up {rate - c.null_rate:.1%}; the bound is "
        f"+{NULL_RATE_SLACK:.0%})")
    return [finding(c.name, "null_rate", words, [None], rate=rate, contract_rate=c.null_rate, nulls=nulls)]


def _category_stats(series: pd.Series, counts: dict[str, int], nulls: int, rows: int) -> dict[str, Any]:
    """A categorical column's batch profile (monitoring.profiles.input_profile's keys and values)
    from the level counts validation already made: exact, nothing read again."""
    top_n = heapq.nlargest(PROFILE_TOP, counts.items(), key=itemgetter(1))  # ties: first seen first
    return {"dtype": str(series.dtype), "count": rows - nulls, "nulls": nulls, "unique": len(counts),
            "top": dict(top_n)}


def _number_stats(series: pd.Series, raw: np.ndarray, nulls: int, rows: int) -> dict[str, Any]:
    """A numpy numeric column's batch profile (input_profile's keys and values) from its values
    (`raw`, nulls included): the finite values' mean, min and max, and the infinities counted."""
    import numpy as np

    stats: dict[str, Any] = {"dtype": str(series.dtype), "count": rows - nulls, "nulls": nulls}
    values = raw.astype("float64", copy=False)  # as input_profile: float64 sums, whatever the width
    if raw.dtype.kind != "f":  # integers: no NaN, no infinity
        finite = values
    else:
        finite_mask = np.isfinite(values)
        infinite = rows - nulls - int(np.count_nonzero(finite_mask))
        if infinite:
            stats["infinite"] = infinite
        finite = values if infinite == 0 and nulls == 0 else values[finite_mask]
    if finite.size == 1:  # the serving case: one value, no numpy reductions
        one = _finite(finite[0])
        stats.update(mean=one, min=one, max=one)
    elif finite.size:
        stats.update(mean=_finite(finite.mean()), min=_finite(finite.min()), max=_finite(finite.max()))
    return stats


def _finite(value: Any) -> float | None:
    """A JSON-safe float: None for NaN and +-inf (as profiles._num)."""
    number = float(value)
    return number if math.isfinite(number) else None


def check_column(c: ContractColumn, series: pd.Series, rows: int,
                 stats: dict[str, dict[str, Any]] | None = None) -> list[Finding]:
    """Every finding of one contract column present in the frame.

    `stats` (optional, filled in): the column's batch profile under its name, in
    monitoring.profiles.input_profile's format, when the checks read what it needs anyway (a text
    or categorical column counted by level, a numpy numeric column); exact, not a sample estimate.
    Other columns (a dtype that changed, nullable numbers, datetimes) are left for the profiler.
    """
    import numpy as np
    import pandas as pd

    kind = _frame_kind(series)
    if c.kind == "categorical" and kind == "categorical":  # one hash pass gives the levels and the nulls
        counts, nulls = _level_counts(series)
        if stats is not None:
            stats[c.name] = _category_stats(series, counts, nulls, rows)
        findings = _null_rate(c, nulls, rows)
        return findings if nulls == rows else findings + _categories(c, counts, rows)
    raw = series.to_numpy()
    if raw.dtype.kind == "f":
        null = np.isnan(raw)
    elif raw.dtype.kind in "iub":
        null = None
    else:
        null = pd.isna(raw)
    nulls = 0 if null is None else int(np.count_nonzero(null))
    findings = _null_rate(c, nulls, rows)
    if nulls == rows:  # no values: no dtype, range or level to check
        return findings
    nonnull = raw if null is None or not nulls else raw[~null]
    if c.kind == "numerical":
        if kind == "datetime":  # dates are not numbers to parse: name the change as it is
            findings.append(finding(c.name, "dtype_changed", f"dates delivered as {series.dtype} where the contract "
                                    f"has numbers ({c.dtype}); the upstream pipeline changed the column's type",
                                    [str(pd.Timestamp(v)) for v in pd.unique(nonnull)[:EXAMPLES]],
                                    expected=c.dtype, found=str(series.dtype)))
            return findings
        if kind != "numerical":
            findings.append(_text_as_numbers(c, series, nonnull))
            return findings
        if stats is not None and isinstance(series.dtype, np.dtype):
            stats[c.name] = _number_stats(series, raw, nulls, rows)
        findings += _numbers(c, nonnull, rows)
    elif c.kind == "categorical":
        if kind == "numerical":
            findings.append(_numbers_as_categories(c, series, nonnull))
        else:  # datetime
            findings.append(finding(c.name, "dtype_changed", f"categories delivered as {series.dtype} ({c.dtype} "
                                     "in the contract)", top(nonnull.astype(str)), expected=c.dtype,
                                     found=str(series.dtype)))
    elif c.kind == "datetime" and kind == "datetime":
        findings += _dates(c, series, rows)
    elif c.kind != kind:
        findings.append(finding(c.name, "dtype_changed", f"{c.kind} in the contract ({c.dtype}), delivered as "
                                 f"{series.dtype}", top(nonnull.astype(str)), expected=c.dtype, found=str(series.dtype)))
    return findings
