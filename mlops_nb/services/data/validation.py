"""Data validation: a frame checked against a dataset version's schema and profile (its contract).

The schema `log_dataset` captured (columns, dtypes, categories) and its profile (null rates,
finite min and max, the most frequent categories with their counts) are the contract. SPEC §4's
rules, each finding naming column, rule, severity, a message and at most EXAMPLES of the most
frequent offending values (JSON-safe):

| rule                | default  | when                                                                  |
|---------------------|----------|-----------------------------------------------------------------------|
| missing_column      | error    | a contract column is not in the frame                                 |
| extra_column        | warning  | a frame column the contract (or `columns=`) does not name             |
| dtype_changed       | error    | numbers delivered as text (say whether they parse), categories as     |
|                     |          | numbers (a re-encoded categorical: the inferred `mapping` of codes)   |
| new_categories      | error    | levels the contract never saw (a renamed level: `mapping` new -> old) |
| vanished_categories | warning  | levels the frame should hold (expected >= MIN_EXPECTED times) but lacks|
| out_of_range        | warning  | finite values outside the contract's min and max; +-inf in a numeric  |
|                     |          | column is named here too (`details["non_finite"]`), unless the        |
|                     |          | contract itself held infinities                                       |
| null_rate           | warning  | the null share up by more than NULL_RATE_SLACK over the contract's    |

Columns are matched by name: reordered columns are not a finding. A column that is entirely null
has no dtype to speak of: it is named by null_rate only. The checks are vectorised (numpy and pandas
hash tables, one pass per column); small frames take plain-Python paths, because the scorer runs
`validate_frame` on every batch (benchmarks/bench_validate.py measures 1 row, 10,000 x 20 and
1,000,000 x 50). pandera was measured for the same job (docs/benchmarks.md) and is not used: it
cannot infer a re-encoding, relate null rates to the contract's, or rank examples by frequency.

    result = validate_frame(batch, schema=v.schema, profile=v.profile, contract="german v2")
    result.ok, [(f.column, f.rule) for f in result.errors]
    validate_against(session=s, project_id=1, df=batch, against="german", user="dana")   # recorded
"""
from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlmodel import Session, col

from mlops_nb.services.data.results import DatasetVersionPublic, Finding, ValidationResult
from mlops_nb.services.errors import InvalidInput, NotFound
from mlops_nb.store.models import DatasetVersion, ValidationRecord

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

SEVERITY = {"missing_column": "error", "dtype_changed": "error", "new_categories": "error",
            "extra_column": "warning", "vanished_categories": "warning", "out_of_range": "warning",
            "null_rate": "warning"}  # SPEC §4's defaults
EXAMPLES = 5  # offending values kept per finding, the most frequent first
NULL_RATE_SLACK = 0.1  # SPEC §4: the null share may rise by this much over the contract's
MIN_EXPECTED = 5.0  # a level is "vanished" only when the frame should have held it this many times
SMALL = 64  # rows up to which plain Python beats pandas' per-call overhead
PARSE_SAMPLE = 10_000  # text values tried as numbers when numbers arrive as text
FREQUENCY_ROWS = 30  # rows from which frequencies are trusted to infer a mapping
SHARE_TOLERANCE = 0.05  # shares closer than this match one to one (a renamed level, remapped codes)


@dataclass
class _Column:
    """One contract column, read once from the schema and profile."""

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
_COMPILED: dict[tuple[int, int, tuple[str, ...] | None], tuple[Any, Any, list[_Column]]] = {}
_COMPILED_MAX = 32


def _contract_columns(schema: dict[str, Any], profile: dict[str, Any], columns: Sequence[str] | None) -> list[_Column]:
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


def _read_contract(schema: dict[str, Any], profile: dict[str, Any], columns: Sequence[str] | None) -> list[_Column]:
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
        c = _Column(name=name, kind=str(entry.get("kind", "categorical")), dtype=str(entry.get("dtype", "")),
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


def _top(values: Any, n: int = EXAMPLES) -> list[Any]:
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


def _finding(column: str | None, rule: str, message: str, examples: list[Any] | None = None,
             **details: Any) -> Finding:
    return Finding(column=column, rule=rule, severity=SEVERITY[rule], message=message,
                   examples=list(examples or [])[:EXAMPLES], details=details)


def _quote(values: Sequence[Any]) -> str:
    return ", ".join(repr(v) for v in values)


# --- the checks ------------------------------------------------------------------------------------

def _text_as_numbers(c: _Column, series: pd.Series, nonnull: Any) -> Finding:
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
                 f"parse as numbers ({tried} tried), not {_quote(_top(bad, 3))}")
    return _finding(c.name, "dtype_changed", words, _top(values), expected=c.dtype, found=str(series.dtype),
                    parses_as_number=len(bad) == 0, parsed_share=share)


def _codes_mapping(c: _Column, counts: dict[Any, int]) -> tuple[dict[str, str], str] | None:
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


def _numbers_as_categories(c: _Column, series: pd.Series, nonnull: Any) -> Finding:
    """A categorical contract column delivered as numbers: integer codes (a re-encoding) or levels as numbers."""
    counts: dict[Any, int] = {}
    for v, n in _level_counts_raw(nonnull).items():
        counts[v] = counts.get(v, 0) + n
    examples = _top(nonnull)
    levels = set(c.categories or [])
    as_text = {_number_text(v) for v in counts}
    base = dict(expected=c.dtype, found=str(series.dtype))
    if levels and as_text <= levels:
        return _finding(c.name, "dtype_changed", f"categories delivered as {series.dtype} ({c.dtype} in the "
                        "contract): the values are the contract's levels written as numbers; convert them with "
                        ".astype(str)", examples, **base, mapping={t: t for t in sorted(as_text)}, mapping_by="same text")
    inferred = _codes_mapping(c, counts) if levels else None
    if inferred is not None:
        mapping, how = inferred
        shown = ", ".join(f"{k} -> {v!r}" for k, v in list(mapping.items())[:EXAMPLES])
        return _finding(c.name, "dtype_changed", f"appears re-encoded as integer codes: categories delivered as "
                        f"{series.dtype} ({c.dtype} in the contract), codes 0..{len(levels) - 1} for its "
                        f"{len(levels)} levels; inferred mapping by {how}: {shown}", examples, **base,
                        reencoded=True, mapping=mapping, mapping_by=how)
    return _finding(c.name, "dtype_changed", f"categories delivered as {series.dtype} ({c.dtype} in the contract); "
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


def _categories(c: _Column, counts: dict[str, int], rows: int) -> list[Finding]:
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
    if new and missing and nonnull >= FREQUENCY_ROWS:
        renamed = _match_shares({k: n / nonnull for k, n in new.items()}, {lv: c.shares.get(lv, 0.0) for lv in missing})
    if new:
        ranked = sorted(new, key=lambda k: -new[k])
        total = sum(new.values())
        words = (f"{len(new)} level(s) the contract never saw: {_quote(ranked[:EXAMPLES])}"
                 f"{' …' if len(ranked) > EXAMPLES else ''} in {total:,} of {rows:,} rows")
        details: dict[str, Any] = {"count": total, "share": total / rows, "levels": len(new)}
        if renamed:
            words += "; appears renamed: " + ", ".join(f"{old!r} -> {k!r}" for k, old in renamed.items())
            details["mapping"] = renamed
        findings.append(_finding(c.name, "new_categories", words, ranked, **details))
    if vanished:
        words = (f"{len(vanished)} level(s) of the contract missing although expected at least "
                 f"{MIN_EXPECTED:g} times in {nonnull:,} values: {_quote(vanished[:EXAMPLES])}")
        details = {"levels": len(vanished),
                   "expected": {lv: round(nonnull * c.shares.get(lv, 0.0), 1) for lv in vanished[:EXAMPLES]}}
        if renamed:
            details["mapping"] = renamed
        findings.append(_finding(c.name, "vanished_categories", words, vanished, **details))
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


def _numbers(c: _Column, original: np.ndarray, rows: int) -> list[Finding]:
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
    return [_finding(c.name, "out_of_range", "; ".join(parts), _top(offending[:1_000_000]), **details)]


def _null_rate(c: _Column, nulls: int, rows: int) -> list[Finding]:
    """null_rate: the null share up by more than NULL_RATE_SLACK over the contract's."""
    if nulls - c.null_rate * rows <= NULL_RATE_SLACK * rows:
        return []
    rate = nulls / rows
    words = ("entirely null" if nulls == rows else f"{rate:.1%} null") + (
        f" against {c.null_rate:.1%} in the contract (up {rate - c.null_rate:.1%}; the bound is "
        f"+{NULL_RATE_SLACK:.0%})")
    return [_finding(c.name, "null_rate", words, [None], rate=rate, contract_rate=c.null_rate, nulls=nulls)]


def _check_column(c: _Column, series: pd.Series, rows: int) -> list[Finding]:
    """Every finding of one contract column present in the frame."""
    import numpy as np
    import pandas as pd

    kind = _frame_kind(series)
    if c.kind == "categorical" and kind == "categorical":  # one hash pass gives the levels and the nulls
        counts, nulls = _level_counts(series)
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
        if kind != "numerical":
            findings.append(_text_as_numbers(c, series, nonnull))
            return findings
        findings += _numbers(c, nonnull, rows)
    elif c.kind == "categorical":
        if kind == "numerical":
            findings.append(_numbers_as_categories(c, series, nonnull))
        else:  # datetime
            findings.append(_finding(c.name, "dtype_changed", f"categories delivered as {series.dtype} ({c.dtype} "
                                     "in the contract)", _top(nonnull.astype(str)), expected=c.dtype,
                                     found=str(series.dtype)))
    elif c.kind != kind:
        findings.append(_finding(c.name, "dtype_changed", f"{c.kind} in the contract ({c.dtype}), delivered as "
                                 f"{series.dtype}", _top(nonnull.astype(str)), expected=c.dtype, found=str(series.dtype)))
    return findings


def validate_frame(df: Any, *, schema: dict[str, Any], profile: dict[str, Any], contract: str,
                   columns: Sequence[str] | None = None) -> ValidationResult:
    """`df` checked against a dataset version's `schema` and `profile` (the contract named `contract`,
    e.g. "german v2"): one Finding per column and rule broken (module docstring), in the contract's
    column order, then the extra columns. Pure (no store) and vectorised: it runs on every scoring batch.

    `columns` restricts the contract to those names (a model's input columns, so the target is not
    missing); the frame's columns outside them are still extra_column. A frame of one row works.

        validate_frame(batch, schema=v.schema, profile=v.profile, contract="german v2").ok

    Raises:
        InvalidInput: `df` is not a DataFrame, has no rows (an empty frame shows nothing to check: it
            is refused, not reported as findings) or no columns, or repeats a column name; the
            schema has no column list.
    """
    import pandas as pd

    if not isinstance(df, pd.DataFrame):
        raise InvalidInput(f"df must be a pandas DataFrame, got {type(df).__name__}")
    if df.shape[1] == 0:
        raise InvalidInput("df has no columns: nothing to validate")
    rows = len(df)
    if rows == 0:
        raise InvalidInput(f"df has no rows: nothing to validate against {contract} (its {df.shape[1]} columns "
                           "have no values to check); pass at least one row")
    names = [str(c) for c in df.columns]
    if len(set(names)) != len(names):
        repeated = sorted({n for n in names if names.count(n) > 1})
        raise InvalidInput(f"df has duplicate column names: {', '.join(repeated)}; rename them first")
    expected = _contract_columns(schema, profile, columns)
    by_name = dict(zip(names, (series for _, series in df.items())))  # items(): the cheapest column access
    findings: list[Finding] = []
    for c in expected:
        series = by_name.get(c.name)
        if series is None:
            findings.append(_finding(c.name, "missing_column", f"column {c.name!r} ({c.dtype}) of the contract is not "
                                     f"in the frame", expected=c.dtype))
            continue
        findings += _check_column(c, series, rows)
    known = {c.name for c in expected}
    for name in names:
        if name not in known:
            series = by_name[name]
            findings.append(_finding(name, "extra_column", f"column {name!r} ({series.dtype}) is not in the contract",
                                     _top(series.dropna().to_numpy()[:10_000], 3), found=str(series.dtype)))
    ok = not any(f.severity == "error" for f in findings)
    return ValidationResult(ok=ok, findings=findings, contract=contract, rows=rows)


# --- recording and the service the API uses ---------------------------------------------------------

def contract_label(version: DatasetVersionPublic | DatasetVersion) -> str:
    """'german v2': how a report names its contract."""
    return f"{version.name} v{version.version}"


def record_validation(*, session: Session, project_id: int, contract_version_id: int, result: ValidationResult,
                      subject: str, user: str, subject_dataset_version_id: int | None = None,
                      model_version_id: int | None = None) -> int:
    """Store `result` as a validation_report row (findings as JSON, error and warning counts) and
    return its id, also set on `result.id`. `subject` says what was validated ("frame", "dataset
    german v3").

    Raises:
        NotFound: `contract_version_id` is not a dataset version of the project.
    """
    contract = session.get(DatasetVersion, contract_version_id)
    if contract is None or contract.project_id != project_id:
        raise NotFound(f"dataset version {contract_version_id} is not in this project; validate against a dataset "
                       "logged here")
    row = ValidationRecord(project_id=project_id, dataset_version_id=contract_version_id, subject=subject[:250],
                           subject_dataset_version_id=subject_dataset_version_id, model_version_id=model_version_id,
                           rows=result.rows, ok=result.ok, errors=len(result.errors), warnings=len(result.warnings),
                           findings=[f.to_dict() for f in result.findings], created_by=user, created_at=time.time())
    session.add(row)
    session.flush()
    assert row.id is not None  # flushed
    result.id = row.id
    return row.id


def resolve_contract(*, session: Session, project_id: int, against: Any) -> DatasetVersionPublic:
    """The dataset version `against` names: a name (its newest version; "name:N" for version N when
    no dataset is called that), a (name, version) pair, or a DatasetVersion the API returned (it
    must be of this project).

    Raises:
        NotFound: no such dataset or version (the message lists the versions).
        InvalidInput: `against` is none of these.
    """
    from mlops_nb.services.data.datasets import get_dataset, public

    if isinstance(against, DatasetVersionPublic):
        row = session.get(DatasetVersion, against.id)
        if row is None or row.project_id != project_id or row.fingerprint != against.fingerprint:
            raise NotFound(f"dataset {against.name!r} v{against.version} is not in this project's store; "
                           "validate against a dataset logged here (mlops.get_dataset(name))")
        return public(row)
    if isinstance(against, tuple) and len(against) == 2:
        name, version = against
        if not isinstance(version, int) or isinstance(version, bool):
            raise InvalidInput(f"against=(name, version) needs an integer version, got {version!r}")
        return get_dataset(session=session, project_id=project_id, name=str(name), version=version)
    if isinstance(against, str) and against.strip():
        try:
            return get_dataset(session=session, project_id=project_id, name=against)
        except NotFound:
            name, sep, number = against.rpartition(":")
            if not (sep and number.isdigit() and name):
                raise
            return get_dataset(session=session, project_id=project_id, name=name, version=int(number))
    raise InvalidInput(f"against must be a dataset name, 'name:version', (name, version) or a DatasetVersion, got "
                       f"{type(against).__name__} {against!r}")


def validate_against(*, session: Session, project_id: int, df: Any, against: Any, user: str,
                     record: bool = True, subject: str = "frame") -> ValidationResult:
    """`df` validated against the dataset version `against` names (resolve_contract), recorded as a
    validation_report row when `record` (the result's `id`). The frame is checked before anything
    is written: a refused frame changes nothing.

        validate_against(session=s, project_id=1, df=batch, against="german", user="dana").ok

    Raises:
        InvalidInput: a frame validate_frame refuses (no rows, no columns, repeated names), or a bad `against`.
        NotFound: no such dataset or version.
    """
    version = resolve_contract(session=session, project_id=project_id, against=against)
    result = validate_frame(df, schema=version.schema, profile=version.profile, contract=contract_label(version))
    if record:
        record_validation(session=session, project_id=project_id, contract_version_id=version.id, result=result,
                          subject=subject, user=user)
    return result


def validate_version(*, session: Session, store: Any, project_id: int, subject_version_id: int,
                     contract_version_id: int, user: str, record: bool = True,
                     model_version_id: int | None = None) -> ValidationResult:
    """Dataset version `subject_version_id` validated, by its stored sample (at most SAMPLE_ROWS rows,
    sha256-checked), against dataset version `contract_version_id`; recorded when `record`.

    Raises:
        NotFound: either version is missing, or the subject has no stored sample.
        IntegrityFailure: the sample's bytes do not match their sha256.
    """
    from mlops_nb.services.data.datasets import load_sample

    contract = session.get(DatasetVersion, contract_version_id)
    subject = session.get(DatasetVersion, subject_version_id)
    if contract is None or subject is None:
        raise NotFound(f"dataset version {contract_version_id if contract is None else subject_version_id} does not exist")
    sample = load_sample(session=session, store=store, dataset_version_id=subject_version_id)
    result = validate_frame(sample, schema=contract.schema_, profile=contract.profile, contract=contract_label(contract))
    if record:
        record_validation(session=session, project_id=project_id, contract_version_id=contract_version_id,
                          result=result, subject=f"dataset {contract_label(subject)}",
                          subject_dataset_version_id=subject_version_id, model_version_id=model_version_id, user=user)
    return result


def latest_validation(*, session: Session, subject_version_id: int, contract_version_id: int) -> ValidationRecord | None:
    """The newest recorded validation of dataset version `subject_version_id` against `contract_version_id`."""
    row: ValidationRecord | None = session.execute(
        select(ValidationRecord).where(col(ValidationRecord.subject_dataset_version_id) == subject_version_id,
                                       col(ValidationRecord.dataset_version_id) == contract_version_id)
        .order_by(col(ValidationRecord.created_at).desc(), col(ValidationRecord.id).desc()).limit(1)).scalars().first()
    return row


def result_of(row: ValidationRecord, contract: str) -> ValidationResult:
    """The ValidationResult a stored validation_report row holds."""
    findings = [Finding.from_dict(f) for f in row.findings]
    return ValidationResult(ok=row.ok, findings=findings, contract=contract, rows=row.rows, id=row.id)
