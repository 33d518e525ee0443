"""Drift from the notebook: a frame against a reference at evidently's default-preset verdicts, and a
model's stored drift reports (SPEC §4: drift_report, DriftReport).

    report = mlops.drift_report(reference=train, current=applicants)
    report.drifted_columns, report.share, report.dataset_drift, report.to_frame()
    mlops.drift_report(reference="german", current=applicants, model="credit-risk")   # stored
    mlops.drift_history("credit-risk")
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from mlops_nb.api.boundary import store_errors
from mlops_nb.api.connect import get_context
from mlops_nb.display import present
from mlops_nb.services.data.results import DatasetVersionPublic
from mlops_nb.services.monitoring.drift_results import DriftReport
from mlops_nb.store.db import session_scope


def _user() -> str:
    from mlops_nb.api.context import current

    context = current()
    return context.user if context is not None else ""


@store_errors
def drift_report(*, reference: Any = None, current: Any, model: str | None = None,
                 exclude: Sequence[str] | None = None) -> DriftReport:
    """Drift of `current` against `reference`, column by column, at evidently's default-preset verdicts:
    per column the test (K-S, chi-square or Z with 1,000 reference rows or fewer; Wasserstein or
    Jensen-Shannon above), its statistic (p-value or distance), threshold and verdict; the share of
    drifted columns; dataset drift when it is at least 0.5. Columns that cannot be tested (all null,
    too few rows, another type) are named with why in `.findings`; the others are still reported.

    `reference`: a DataFrame, a dataset name (its newest version's reference, computed when it was
    logged), or a DatasetVersion (from log_dataset or get_dataset). `current`: a DataFrame.
    `model`: store the report against that model's production version, its training target left
    out; `reference` may then be left out (the version's training dataset). Without `model` nothing
    is stored, and two frames need no store at all. `exclude`: columns left out (ids, a target).

    >>> report = mlops.drift_report(reference=train, current=applicants)
    >>> report.drifted_columns, round(report.share, 2), report.dataset_drift
    >>> report.to_frame()            # column, type, test, statistic, threshold, drift, ...
    >>> mlops.drift_report(current=applicants, model="credit-risk").id     # stored

    Raises:
        InvalidInput: `current` (or a frame `reference`) is not a non-empty DataFrame with unique
            column names; `reference` is of another type, or missing without `model`; `exclude`
            names a column neither side holds. Nothing is stored.
        NotFound: no such dataset, model, or production version of the model.
    """
    import pandas as pd

    from mlops_nb.services.data.datasets import check_frame, get_dataset
    from mlops_nb.services.errors import InvalidInput
    from mlops_nb.services.monitoring import drift
    from mlops_nb.services.monitoring.drift import NO_ROWS
    from mlops_nb.services.monitoring.drift_reference import reference_profile

    if reference is None and model is None:
        raise InvalidInput("give reference= (a DataFrame, a dataset name or a DatasetVersion), "
                           "or model= to compare against its production version's training dataset")
    if model is None and isinstance(reference, pd.DataFrame):  # two frames: nothing to read or store
        return present(drift.drift_report(session=None, store=None, project_id=None, user=_user(),
                                          reference=reference, current=current, exclude=exclude))
    frame = check_frame(current, "current", no_rows=NO_ROWS)
    if isinstance(reference, pd.DataFrame):  # profiled before the store is opened, like the computation below
        reference = reference_profile(check_frame(reference, "reference", no_rows=NO_ROWS), source="frame")
    elif reference is not None and not isinstance(reference, (str, DatasetVersionPublic)):
        raise InvalidInput(f"reference must be a DataFrame, a dataset name or a DatasetVersion, "
                           f"got {type(reference).__name__}")
    context = get_context()
    # three steps, the computation between two transactions: on SQLite a transaction holds the
    # store's write lock, and a large frame's verdicts take seconds
    with session_scope(context.engine) as session:
        if isinstance(reference, str):
            reference = get_dataset(session=session, project_id=context.project_id, name=reference).id
        elif isinstance(reference, DatasetVersionPublic):
            reference = reference.id
        plan = drift.plan_report(session=session, store=context.artifacts, project_id=context.project_id,
                                 reference=reference, model=model, exclude=exclude, columns=list(frame.columns))
    computation = drift.compute_report(plan, frame)
    with session_scope(context.engine) as session:
        return present(drift.record_report(session=session, store=context.artifacts, project_id=context.project_id,
                                           user=context.user, plan=plan, computation=computation, current=frame))


@store_errors
def drift_history(model: str, *, limit: int = 20) -> list[DriftReport]:
    """The model's stored drift reports (all versions), newest first, at most `limit` (up to 1,000).

    >>> [(r.id, r.version, round(r.share, 2), r.dataset_drift) for r in mlops.drift_history("credit-risk")]

    Raises:
        NotFound: no such model.
        InvalidInput: `limit` is not a whole number from 1 to 1,000.
    """
    from mlops_nb.services.monitoring import drift

    context = get_context()
    with session_scope(context.engine) as session:
        return [present(r) for r in drift.drift_history(session=session, project_id=context.project_id,
                                                         model=model, limit=limit)]


@store_errors
def drift_html(report_id: int) -> bytes:
    """evidently's own HTML report for stored drift report `report_id`, built once on a sample of at most
    5,000 rows per side (the page says so; the verdicts are those of the report), UTF-8 bytes.

    >>> report = mlops.drift_report(current=applicants, model="credit-risk")
    >>> open("drift.html", "wb").write(mlops.drift_html(report.id))

    Raises:
        NotFound: no such report, or its reference was a frame (nothing stored to build on).
        InvalidInput: evidently could not build a report on this data.
    """
    from mlops_nb.services.monitoring import drift

    context = get_context()
    return drift.evidently_html_in_steps(engine=context.engine, store=context.artifacts,
                                         project_id=context.project_id, report_id=report_id)
