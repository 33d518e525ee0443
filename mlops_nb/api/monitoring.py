"""The monitoring verbs of the Python API: outcomes logged for scored batches, and the recorded
batches and outcomes of a model (SPEC §4: log_outcomes).

Each opens one transaction on the context's store and calls services.monitoring; the monitored
model itself comes from `mlops.load_model` (api.registry).
"""
from __future__ import annotations

from typing import Any

from mlops_nb.api.boundary import store_errors
from mlops_nb.api.connect import get_context
from mlops_nb.display import present
from mlops_nb.services.monitoring.results import BatchTable, OutcomePublic, OutcomeTable
from mlops_nb.store.db import session_scope


@store_errors
def log_outcomes(name: str, *, predictions_id: str | None = None, outcomes: Any = None,
                 metrics: dict[str, float] | None = None, version: int | None = None,
                 recorded_at: Any = None) -> OutcomePublic:
    """Record the true outcomes of a scored batch, joined to its predictions, and business metrics.

    >>> live = mlops.load_model("credit-risk", stage="production")
    >>> proba = live.predict_proba(applicants)
    >>> batch = live.last_batch_id
    >>> # ... months later, when the loans have run their course:
    >>> mlops.log_outcomes("credit-risk", predictions_id=batch, outcomes=defaulted,
    ...                    metrics={"default_rate": 0.07})          # .metrics["roc_auc"], ["brier"], ...
    >>> mlops.log_outcomes("credit-risk", metrics={"default_rate": 0.065})   # the production version's

    `outcomes` has one value per row of the batch, in its order (a list, an array, or a Series with
    the default index), or a Series indexed like the scored frame (joined on its index labels); None
    or NaN for outcomes not known yet (those rows are left out). The realised metrics: roc_auc,
    brier, accuracy, positive_rate and mean_predicted for two-class probabilities; accuracy for
    class predictions; mae and rmse for a regressor. Without `predictions_id`, only `metrics` is
    recorded, against `version` (default: the production version). `recorded_at` (a date, datetime,
    ISO text or epoch seconds) dates an outcome backfilled from history; default now.

    Raises:
        NotFound: no such model, version, production version or batch (or the batch is another model's).
        InvalidInput: outcomes of another length than the batch or with unknown labels; a refused
            or failed batch (no predictions to join); metrics that are not finite numbers.
    """
    from mlops_nb.services import monitoring

    context = get_context()
    if predictions_id is not None:
        monitoring.flush_store(context.engine)  # the batch may still be queued (by any init of this store)
    with session_scope(context.engine) as session:
        return present(monitoring.log_outcomes(session=session, store=context.artifacts, project_id=context.project_id,
                                               user=context.user, model=name, predictions_id=predictions_id,
                                               outcomes=outcomes, metrics=metrics, version=version,
                                               recorded_at=recorded_at))


@store_errors
def batches(name: str, *, version: int | None = None, limit: int = 50) -> BatchTable:
    """The model's recent scoring batches, newest first: status, rows, latency, findings.

    >>> mlops.batches("credit-risk").to_frame()
    >>> mlops.batches("credit-risk", version=3, limit=10)

    Batches still being written in the background are waited for first.

    Raises:
        NotFound: no such model or version.
        InvalidInput: `limit` is not a whole number from 1 to 1,000.
    """
    from mlops_nb.services import monitoring

    context = get_context()
    monitoring.flush_store(context.engine)
    with session_scope(context.engine) as session:
        return present(monitoring.recent_batches(session=session, project_id=context.project_id, model=name,
                                                 version=version, limit=limit))


@store_errors
def outcomes(name: str, *, version: int | None = None, limit: int = 50) -> OutcomeTable:
    """The outcomes logged for the model, newest first: realised and business metrics per batch or version.

    >>> mlops.outcomes("credit-risk").to_frame()

    Raises:
        NotFound: no such model or version.
        InvalidInput: `limit` is not a whole number from 1 to 1,000.
    """
    from mlops_nb.services import monitoring

    context = get_context()
    with session_scope(context.engine) as session:
        return present(monitoring.list_outcomes(session=session, project_id=context.project_id, model=name,
                                                version=version, limit=limit))
