"""Data validation from the notebook: a frame checked against a logged dataset version (its contract).

    report = mlops.validate(batch, against="german")      # the newest version of dataset "german"
    report.ok, report.errors, report.to_frame()
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from mlops_nb.api.boundary import store_errors
from mlops_nb.api.connect import get_context
from mlops_nb.api.context import current
from mlops_nb.display import present
from mlops_nb.display.data import ValidationReport
from mlops_nb.services.data.results import DatasetVersionPublic
from mlops_nb.store.db import session_scope


@store_errors
def validate(df: Any, *, against: Any, exclude: Sequence[str] = ()) -> ValidationReport:
    """Check `df` against a dataset version's schema and profile (SPEC §4's rules: missing_column,
    extra_column, dtype_changed, new_categories, vanished_categories, out_of_range, null_rate; a
    re-encoded categorical named with its mapping). Recorded in the store's validation reports when
    a store is open; a DatasetVersion passed before any `init` is checked without a store.

    `against`: a dataset name (its newest version), "name:N" (version N, when no dataset has that
    exact name), a (name, version) pair, or a DatasetVersion that log_dataset or get_dataset returned.
    `exclude`: contract columns the frame need not hold (a scoring batch has no target column); a
    frame that still holds one is not checked on it either.

    >>> report = mlops.validate(batch, against="german")
    >>> report.ok, [(f.column, f.rule) for f in report.errors]
    >>> mlops.validate(applicants, against="german", exclude=["creditability"]).ok

    Raises:
        InvalidInput: `df` is not a DataFrame, has no rows or no columns, or repeats a column name;
            `against` is none of the above; `exclude` names a column the contract does not hold.
            Nothing is recorded.
        NotFound: no such dataset or version in the project (the message lists the versions).
    """
    from mlops_nb.services import data

    if isinstance(against, DatasetVersionPublic) and current() is None:
        result = data.validate_frame(data.without(df, exclude), schema=against.schema, profile=against.profile,
                                     contract=data.contract_label(against),
                                     columns=data.contract_columns(against.schema, exclude))
        return present(result)  # type: ignore[return-value]  # present gives the ValidationReport view
    context = get_context()
    with session_scope(context.engine) as session:
        result = data.validate_against(session=session, project_id=context.project_id, df=df, against=against,
                                       user=context.user, exclude=exclude)
    return present(result)  # type: ignore[return-value]  # present gives the ValidationReport view
