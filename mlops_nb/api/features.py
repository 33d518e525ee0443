"""The feature verbs of the Python API: `@mlops.feature`, `mlops.features`, `mlops.skew_check`.

A decorated function stays a function of a frame. Its source (from the `def` line, decorators left
out) is hashed when it is decorated; the definition is registered in the store at decoration when
`mlops.init()` has run, else at its first call after it (a function defined before init() works).
Each call inside an active run records the application (once per run), which is what
register_model links a version to by default. Redefining a cell with the same source is the same
version; an edited body is the next version, and a model trained with the old one refuses to score
with the new one (services.data.feature_pipeline.bind).
"""
from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from typing import Any

from mlops_nb.api.boundary import store_errors
from mlops_nb.api.connect import get_context
from mlops_nb.api.context import Context, current
from mlops_nb.display import present
from mlops_nb.services.data.feature_results import FeatureDefinitionPublic, FeatureTable, SkewResult
from mlops_nb.services.errors import InvalidInput
from mlops_nb.store.db import session_scope


class FeatureFunction:
    """A feature definition of this process: call it on a DataFrame (it returns a Series named after
    the feature, or the DataFrame of feature columns the function returned); `.name`,
    `.source`, `.source_hash`, and `.version` / `.definition` once a store is open (None before)."""

    def __init__(self, function: Callable[..., Any], name: str | None = None) -> None:
        from mlops_nb.services.data import features
        from mlops_nb.services.values import check_name

        if not callable(function) or not hasattr(function, "__code__"):
            raise InvalidInput(f"a feature is a function defined with def, got {type(function).__name__} "
                               f"({function!r:.60}); wrap it: def my_feature(df): return ...")
        self.__wrapped__ = function
        functools.update_wrapper(self, function)
        self.name = check_name(name if name is not None else function.__name__, "feature name")
        self.source = features.source_of(function)
        self.source_hash = features.source_hash(self.source)
        self.function = features.function_label(function)
        features.remember(self.name, function, self.source_hash)
        self._lock = threading.Lock()
        self._definitions: dict[tuple[str, int], FeatureDefinitionPublic] = {}
        self._recorded: set[tuple[str, int]] = set()
        context = current()
        if context is not None:
            self._definition(context)

    def _definition(self, context: Context) -> FeatureDefinitionPublic:
        """This source's version in the context's store and project (registered on first need)."""
        key = (str(context.engine.url), context.project_id)
        found = self._definitions.get(key)
        if found is None:
            found = _register(context, self.name, self.source, self.function)
            with self._lock:
                self._definitions[key] = found
        return found

    @property
    def definition(self) -> FeatureDefinitionPublic | None:
        """The stored version of this source in the current store (registered now if need be), or
        None before mlops.init()."""
        context = current()
        return present(self._definition(context)) if context is not None else None

    @property
    def version(self) -> int | None:
        """The version number of this source in the current store, or None before mlops.init()."""
        definition = self.definition
        return definition.version if definition is not None else None

    def __call__(self, df: Any) -> Any:
        """The feature computed on `df`, the application recorded in the active run (once per run).

        Raises:
            InvalidInput: `df` is not a DataFrame with rows; the function raises (the failing rows
                named), or returns a result of another length or index than `df`.
        """
        from mlops_nb.services.data.feature_pipeline import apply_result, check_rows

        check_rows(df, repr(self.name))
        context = current()
        definition = self._definition(context) if context is not None else \
            FeatureDefinitionPublic(id=0, name=self.name, version=0, source=self.source, source_hash=self.source_hash,
                                    function=self.function)
        result, columns = apply_result(definition, self.__wrapped__, df)
        if context is not None and context.active_run is not None:
            run = context.require_run()
            if (run.id, definition.id) not in self._recorded:
                _record(context, run.id, definition.id, list(columns))
                with self._lock:
                    self._recorded.add((run.id, definition.id))
        return columns[self.name] if len(columns) == 1 and self.name in columns else result

    def __repr__(self) -> str:
        version = self.version
        return f"<feature {self.name!r} {'v' + str(version) if version else 'unregistered'} " \
               f"source {self.source_hash[:12]}>"


@store_errors
def _register(context: Context, name: str, source: str, function: str) -> FeatureDefinitionPublic:
    from mlops_nb.services.data import features

    with session_scope(context.engine) as session:
        return features.register_definition(session=session, project_id=context.project_id, name=name,
                                            source=source, function=function, user=context.user)


@store_errors
def _record(context: Context, run_id: str, definition_id: int, outputs: list[str]) -> None:
    from mlops_nb.services.data import features

    with session_scope(context.engine) as session:
        features.record_application(session=session, run_id=run_id, definition_id=definition_id, outputs=outputs)


def feature(name: Any = None) -> Any:
    """Register a function of a DataFrame as a versioned feature definition (SPEC §4).

    >>> @mlops.feature
    ... def avg_spend_7d(df):
    ...     return df["spend_7d"] / 7
    >>> @mlops.feature("income_ratio")
    ... def ratio(df):
    ...     return df["credit_amount"] / df["income"]
    >>> with mlops.start_run(experiment="credit"):
    ...     train["avg_spend_7d"] = avg_spend_7d(train)      # recorded as applied by the run
    >>> avg_spend_7d.version, avg_spend_7d.source_hash[:12]

    The function takes the frame and returns a Series (one column named after the feature) or a
    DataFrame (its columns). Used bare or with a name; the name defaults to the function's.

    Raises:
        InvalidInput: a bad name; the function is a lambda or its source cannot be read.
    """
    if callable(name):
        return FeatureFunction(name)
    if name is not None and not isinstance(name, str):
        raise InvalidInput(f"feature name must be a string, got {type(name).__name__}")

    def decorate(function: Callable[..., Any]) -> FeatureFunction:
        return FeatureFunction(function, name)

    return decorate


@store_errors
def features(name: str | None = None) -> FeatureTable:
    """The project's feature definition versions, or the versions of one feature.

    >>> mlops.features()                       # name, version, source_hash, function, outputs, by, when
    >>> mlops.features("avg_spend").to_frame()

    Raises:
        NotFound: `name` has no definition in the project.
    """
    from mlops_nb.services.data import features as service

    context = get_context()
    with session_scope(context.engine) as session:
        return present(service.list_definitions(session=session, project_id=context.project_id, name=name))


@store_errors
def skew_check(model: str, records: Any, *, served: Any = None, version: int | None = None,
               stage: str | None = None, run_stored_source: bool = False) -> SkewResult:
    """Compute the features model `model` was trained with on `records` the training way and the
    serving way, and name every feature that differs, with examples.

    >>> report = mlops.skew_check("credit-risk", applicants, served=production_features, stage="production")
    >>> report.ok, report.to_frame()[["feature", "rows", "share"]]

    The training way is the definition version the model version names; the serving way is
    `served` (the features as your serving pipeline computed them, row for row with `records`), else
    the definitions as this process defines them now. A version this process no longer defines is
    run from its stored source only with `run_stored_source=True` (your choice, in your process).

    Raises:
        InvalidInput: `records` is not a DataFrame with rows, `served` has another number of rows,
            both `version` and `stage`.
        NotFound: no such model or version.
    """
    from mlops_nb.services.data import skew
    from mlops_nb.services.registry.lookups import find_version_row, get_model

    context = get_context()
    with session_scope(context.engine) as session:  # a short read; the feature code runs after it
        registered = get_model(session=session, project_id=context.project_id, name=model)
        row = find_version_row(session=session, model=registered, version=version, stage=stage)
        plan = skew.plan(session=session, version_row=row, model_name=registered.name)
    return present(skew.skew_check(plan=plan, records=records, served=served, run_stored_source=run_stored_source))
