"""Applying feature definitions to a frame: the function contract, failures named by row, and the
values a batch already carries compared with what the definitions compute.

The contract: `f(df) -> Series | DataFrame`. A Series is one column named after the feature; a
DataFrame adds each of its columns. A result whose length or index is not the frame's is refused,
naming the feature. A function that raises is run again row by row (only then, on at most
DIAGNOSE_ROWS rows) to name the rows it fails on and the error.

`bind` finds, for each definition, a function of this process with the same source hash (one
decorated here, or its `module:qualname` in a module this process has already imported: the stored
module name is the registering user's text, so binding never imports a module on its own); stored
source runs only when the caller passes
`run_stored_source=True`, in its own process. An empty pipeline returns the frame itself, with no
copy: the scorer calls `compute` on every batch, one row being the hot path.

    pipeline = bind(feature_refs_for_version(session=s, version_row=row))
    inputs, findings = pipeline.compute(batch)      # findings: feature_skew where a served value differs
"""
from __future__ import annotations

import math
import sys
from collections.abc import Callable, Collection, Sequence
from typing import TYPE_CHECKING, Any

from mlops_nb.services.data import features as registry
from mlops_nb.services.data.feature_results import FeatureDefinitionPublic
from mlops_nb.services.data.results import Finding
from mlops_nb.services.errors import Conflict, InvalidInput, MlopsError, NotFound

if TYPE_CHECKING:
    import pandas as pd

DIAGNOSE_ROWS = 200  # rows a failing function is re-run on, one at a time, to name the failing ones
EXAMPLES = 5  # examples a finding keeps
RTOL, ATOL = 1e-9, 1e-12  # numeric values closer than this are equal (NaN equals NaN)


def _load_stored(definition: FeatureDefinitionPublic) -> Callable[..., Any]:
    """The function defined by the definition's stored source, executed in a fresh namespace holding
    pandas as pd and numpy as np (other names must be imported inside the function)."""
    import numpy as np
    import pandas as pd

    namespace: dict[str, Any] = {"pd": pd, "np": np, "__name__": f"mlops_feature_{definition.name}"}
    try:
        exec(compile(definition.source, f"<feature {definition.name} v{definition.version}>", "exec"), namespace)
    except Exception as err:  # noqa: BLE001 - the stored text is the user's code: any failure is named
        raise InvalidInput(f"feature {definition.label}'s stored source does not run: {type(err).__name__}: {err}") \
            from err
    functions: list[Callable[..., Any]] = [v for k, v in namespace.items() if callable(v) and getattr(v, "__code__", None) is not None
                 and k not in ("pd", "np")]
    if len(functions) != 1:
        raise InvalidInput(f"feature {definition.label}'s stored source defines {len(functions)} functions, not one")
    return functions[0]


def _imported(definition: FeatureDefinitionPublic) -> Callable[..., Any] | None:
    """The function at the definition's `module:qualname`, when that module is already imported in
    this process (never imported here: the name is stored text another user wrote) and the function
    there has the same source."""
    module_name, _, qualname = definition.function.partition(":")
    if not module_name or not qualname or module_name == "__main__" or "<" in qualname:
        return None
    try:
        target: Any = sys.modules.get(module_name)
        if target is None:
            return None
        for part in qualname.split("."):
            target = getattr(target, part)
        target = getattr(target, "__wrapped__", target)  # the function under @mlops.feature
        found = registry.source_of(target)
    except (ImportError, AttributeError, MlopsError):
        return None
    function: Callable[..., Any] = target
    return function if registry.source_hash(found) == definition.source_hash else None


def find_function(definition: FeatureDefinitionPublic, *, run_stored_source: bool = False) -> Callable[..., Any]:
    """The function to apply for `definition`: this process's with the same source hash, else its
    module:qualname imported (when the source there is the same), else its stored source when
    `run_stored_source`.

    Raises:
        Conflict: this process defines the feature with another source (edited since training).
        NotFound: this process does not define it at all.
        InvalidInput: the stored source (run_stored_source=True) does not run or define one function.
    """
    found = registry.in_process(definition.source_hash) or _imported(definition)
    if found is not None:
        return found
    if run_stored_source:
        return _load_stored(definition)
    now = registry.defined_now(definition.name)
    if now is not None:
        raise Conflict(f"feature {definition.name!r} was edited since training: trained with v{definition.version} "
                       f"(source {definition.source_hash[:12]}), this process defines source {now[0][:12]}; "
                       f"run the cell that defines v{definition.version}, or pass run_stored_features=True to "
                       "load_model (run_stored_source=True to skew_check) to run the stored source")
    module = definition.function.partition(":")[0]
    where = (f"import {module} first (modules are never imported on a stored name's say-so), "
             if module and module != "__main__" and module not in sys.modules else "")
    raise NotFound(f"feature {definition.label} is not defined in this process (source "
                   f"{definition.source_hash[:12]}, from {definition.function or 'unknown'}); {where}run the cell "
                   "that defines it, or pass run_stored_features=True to load_model (run_stored_source=True to "
                   "skew_check) to run the stored source")


def _describe(err: BaseException) -> str:
    return f"{type(err).__name__}: {err}"[:300]


def _failure(definition: FeatureDefinitionPublic, function: Callable[..., Any], df: pd.DataFrame,
             err: Exception) -> InvalidInput:
    """The error for `function` raising `err` on `df`: the rows (among the first DIAGNOSE_ROWS) on
    which it fails alone, and the first such error."""
    checked = min(len(df), DIAGNOSE_ROWS)
    failing: list[Any] = []
    first: BaseException | None = None
    for i in range(checked):
        try:
            function(df.iloc[i:i + 1])
        except Exception as row_err:  # noqa: BLE001 - each row's failure is what is being named
            failing.append(df.index[i])
            first = first or row_err
    of = f"of {len(df)} rows" if checked == len(df) else f"of the first {checked} of {len(df)} rows"
    if not failing:
        return InvalidInput(f"feature {definition.label} failed on the frame of {len(df)} rows, though on no "
                            f"single row {of}: {_describe(err)}")
    shown = ", ".join(str(r) for r in failing[:10]) + (", ..." if len(failing) > 10 else "")
    return InvalidInput(f"feature {definition.label} failed on {len(failing)} {of} "
                        f"(row{'s' if len(failing) > 1 else ''} {shown}): {_describe(first or err)}")


def apply_one(definition: FeatureDefinitionPublic, function: Callable[..., Any],
              df: pd.DataFrame) -> dict[str, pd.Series]:
    """{column: values} that `function` computes on `df`, checked against the contract.

    Raises:
        InvalidInput: as apply_result.
    """
    return apply_result(definition, function, df)[1]


def apply_result(definition: FeatureDefinitionPublic, function: Callable[..., Any],
                 df: pd.DataFrame) -> tuple[Any, dict[str, pd.Series]]:
    """(what `function` returned on `df`, its {column: values}), checked against the contract.

    Raises:
        InvalidInput: the function raises (the failing rows named), returns neither a Series nor a
            DataFrame, or a result whose length or index is not the frame's.
    """
    import pandas as pd

    try:
        result = function(df)
    except Exception as err:  # noqa: BLE001 - the user's function: its failure is named, by row
        raise _failure(definition, function, df, err) from err
    if isinstance(result, pd.Series):
        columns = {definition.name: result if result.name == definition.name else result.rename(definition.name)}
    elif isinstance(result, pd.DataFrame):
        columns = {str(c): result[c] for c in result.columns}
    else:
        raise InvalidInput(f"feature {definition.label} returned {type(result).__name__}; a feature function "
                           "returns a pandas Series (one column named after the feature) or a DataFrame")
    if len(result) != len(df):
        raise InvalidInput(f"feature {definition.label} returned {len(result)} rows for a frame of {len(df)}; "
                           "it must return one value per row")
    if not result.index.equals(df.index):
        raise InvalidInput(f"feature {definition.label} returned values under another index than the frame's; "
                           "keep the frame's index (do not reset or sort it)")
    return result, columns


def _shown(value: Any) -> str:
    """A value as a message shows it: text quoted, a missing or non-finite number bare (nan, not 'nan')."""
    plain = value.item() if hasattr(value, "item") and not isinstance(value, str) else value
    if plain is None or (isinstance(plain, float) and not math.isfinite(plain)):
        return str(plain)
    try:
        import pandas as pd

        if pd.isna(plain):
            return "missing"
    except (TypeError, ValueError):
        pass
    return repr(plain)


def _json_value(value: Any) -> Any:
    """An example value as plain JSON-safe data (numpy to Python, NaN and inf as text)."""
    if hasattr(value, "item"):
        try:
            value = value.item()
        except (ValueError, TypeError):
            value = str(value)
    if isinstance(value, float) and not math.isfinite(value):
        return repr(value)
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return str(value)


def differing(training: pd.Series, serving: pd.Series, *, rtol: float = RTOL, atol: float = ATOL) -> Any:
    """A boolean numpy array, True where the two aligned columns differ: numeric ones beyond
    `rtol`/`atol` (NaN equals NaN, inf equals inf), others exactly (a missing value equals a missing value)."""
    import numpy as np
    from pandas.api import types

    left, right = training.to_numpy(), serving.to_numpy()
    if (types.is_numeric_dtype(training) and types.is_numeric_dtype(serving)
            and not types.is_bool_dtype(training) and not types.is_bool_dtype(serving)):
        a, b = left.astype("float64"), right.astype("float64")
        return ~np.isclose(a, b, rtol=rtol, atol=atol, equal_nan=True)
    missing = training.isna().to_numpy() & serving.isna().to_numpy()
    same = np.array([x == y if not (isinstance(x, float) or isinstance(y, float)) else _num_equal(x, y)
                     for x, y in zip(left, right, strict=True)], dtype=bool)
    return ~(same | missing)


def _num_equal(x: Any, y: Any) -> bool:
    try:
        return bool(x == y) or (math.isnan(x) and math.isnan(y))
    except TypeError:
        return False


def skew_finding(definition: FeatureDefinitionPublic | None, column: str, training: pd.Series, serving: pd.Series,
                 *, how: str, rtol: float = RTOL, atol: float = ATOL,
                 details: dict[str, Any] | None = None) -> Finding | None:
    """A `feature_skew` finding (severity error) when `serving` differs from `training` on any row
    (rows counted, up to EXAMPLES examples {row, training, serving}); None when they agree.
    `how` says where the serving values came from."""
    mask = differing(training, serving, rtol=rtol, atol=atol)
    count = int(mask.sum())
    if count == 0:
        return None
    positions = mask.nonzero()[0][:EXAMPLES]
    examples = [{"row": _json_value(training.index[i]), "training": _json_value(training.iloc[i]),
                 "serving": _json_value(serving.iloc[i])} for i in positions]
    name = definition.name if definition else column
    what = f"feature {name!r}" + (f" (column {column!r})" if column != name else "")
    shown = "; ".join(f"row {_json_value(training.index[i])}: {_shown(training.iloc[i])} vs {_shown(serving.iloc[i])}"
                      for i in positions[:3])
    return Finding(column=column, rule="feature_skew", severity="error",
                   message=f"{what}: {how} differs from the training computation on {count} of {len(mask)} rows "
                           f"({count / len(mask):.0%}); e.g. {shown}",
                   examples=examples,
                   details={"feature": name, "rows": count, "share": count / len(mask),
                            **({"version": definition.version} if definition else {}), **(details or {})})


def check_rows(df: Any, what: str) -> None:
    """Nothing when `df` is a DataFrame with at least one row.

    Raises:
        InvalidInput: not a DataFrame, or no rows (`what` names the features).
    """
    import pandas as pd

    if not isinstance(df, pd.DataFrame):
        raise InvalidInput(f"features {what} are computed on a pandas DataFrame, got {type(df).__name__}")
    if len(df) == 0:
        raise InvalidInput(f"features {what} got an empty frame (0 rows): there is nothing to compute")


class FeaturePipeline:
    """Definitions bound to functions of this process, applied in order by `compute`."""

    def __init__(self, steps: Sequence[tuple[FeatureDefinitionPublic, Callable[..., Any]]]) -> None:
        self.steps = list(steps)

    @property
    def refs(self) -> list[dict[str, Any]]:
        """The refs {"name", "version", "source_hash"} of the definitions, in order."""
        return [d.ref for d, _ in self.steps]

    def __len__(self) -> int:
        return len(self.steps)

    def columns(self, df: pd.DataFrame) -> dict[str, tuple[FeatureDefinitionPublic, pd.Series]]:
        """{column: (definition, values)} every definition computes on `df` (each from `df` itself).

        Raises:
            InvalidInput: as apply_one; two definitions produce the same column.
        """
        out: dict[str, tuple[FeatureDefinitionPublic, pd.Series]] = {}
        for definition, function in self.steps:
            # each function sees a shallow copy: one that assigns a column of its argument (df["x"] = ...)
            # changes neither the caller's frame nor what the scorer records as the batch's input
            for column, values in apply_one(definition, function, df.copy(deep=False)).items():
                if column in out:
                    raise InvalidInput(f"features {out[column][0].label} and {definition.label} both produce "
                                       f"column {column!r}")
                out[column] = (definition, values)
        return out

    def compute(self, df: pd.DataFrame, *, inputs: Collection[str] = ()) -> tuple[pd.DataFrame, list[Finding]]:
        """The model's input frame (`df` plus each feature's columns) and findings: where `df` already
        carries a column under a feature's output name, the definition recomputes it, and where the
        values differ a `feature_skew` finding (error) names the feature with examples. With no
        definitions, `df` itself and [] (no copy). `inputs`: raw input columns a feature replaces under
        their own name (e.g. log(credit_amount) kept as credit_amount): the batch carries them raw, so
        they are replaced, not compared.

        Raises:
            InvalidInput: `df` is not a DataFrame or has no rows, or a feature function breaks its
                contract or raises (apply_one: the failing rows named).
        """
        if not self.steps:
            return df, []
        check_rows(df, ", ".join(d.label for d, _ in self.steps))
        computed = self.columns(df)
        findings: list[Finding] = []
        for column, (definition, values) in computed.items():
            if column in df.columns and column not in inputs:
                finding = skew_finding(definition, column, values, df[column], how="the value the batch carries")
                if finding is not None:
                    findings.append(finding)
        return df.assign(**{c: v for c, (_, v) in computed.items()}), findings


def bind(definitions: Sequence[FeatureDefinitionPublic], *, run_stored_source: bool = False) -> FeaturePipeline:
    """A pipeline applying `definitions` with the functions of this process that have their source
    (find_function); the stored source only when `run_stored_source` (the caller's explicit choice).
    No definitions: a pipeline whose compute returns the frame unchanged.

    Raises:
        Conflict: a feature was edited since training (this process defines another source).
        NotFound: a feature is not defined in this process.
        InvalidInput: a stored source that does not run.
    """
    return FeaturePipeline([(d, find_function(d, run_stored_source=run_stored_source)) for d in definitions])
