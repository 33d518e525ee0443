"""True outcomes and business metrics, logged after scoring and joined to the recorded predictions.

With a batch id, the outcomes are joined row by row to the predictions the batch kept (its sample
file: every row's predictions up to writer.PREDICTION_ROWS) and the realised metrics are computed:
for two-class probabilities `roc_auc` (when both classes occur), `brier`, `accuracy`,
`positive_rate` (the realised share of the positive class) beside `mean_predicted` (the mean
predicted probability of it); for class predictions `accuracy` (and the two rates when binary); for a
regressor `mae` and `rmse`. Outcomes not yet known may be None/NaN: those rows are left out and
`rows` counts the rows joined. Outcomes are aligned by position (a list, an array, or a Series with
the default 0..n-1 index), or by the input's index labels when a Series has another index (the
batch kept each row's label as text).

Without a batch id, only the business metrics are recorded, against a version (the production one by
default). Outcomes are data, not governance: like a logged metric, they are not audited.

    log_outcomes(session=s, store=store, project_id=1, user="dana", model="credit-risk",
                 predictions_id=batch_id, outcomes=y_true, metrics={"default_rate": 0.07})
"""
from __future__ import annotations

import math
import time
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlmodel import Session, col

from mlops_nb.services.errors import Conflict, InvalidInput, NotFound
from mlops_nb.services.monitoring.batches import get_batch, read_sample
from mlops_nb.services.monitoring.results import OUTCOME_COLUMNS, OutcomePublic, OutcomeTable
from mlops_nb.services.registry.lookups import find_version_row, get_model
from mlops_nb.services.values import check_limit, epoch_seconds
from mlops_nb.store.artifacts import ArtifactStore
from mlops_nb.store.models import ModelVersion
from mlops_nb.store.models.monitoring import Outcome

if TYPE_CHECKING:
    import pandas as pd


def check_business(metrics: Any) -> dict[str, float]:
    """`metrics` as {name: float}: names non-empty text, values finite numbers.

    Raises:
        InvalidInput: not a dict, a bad name, or a value that is not a finite number (named).
    """
    if metrics is None:
        return {}
    if not isinstance(metrics, dict):
        raise InvalidInput(f"metrics must be a dict of names to numbers, e.g. {{'default_rate': 0.07}}; "
                           f"got {type(metrics).__name__}")
    out: dict[str, float] = {}
    for name, value in metrics.items():
        if not isinstance(name, str) or not name.strip() or len(name) > 250:
            raise InvalidInput(f"a business metric needs a name (text, up to 250 characters), got {name!r}")
        number = value.item() if hasattr(value, "item") else value
        try:
            finite = not isinstance(number, bool) and isinstance(number, (int, float)) and math.isfinite(number)
        except OverflowError:  # an int too large for a float
            finite = False
        if not finite:
            shown = repr(value)
            raise InvalidInput(f"business metric {name!r} must be a finite number, got "
                               f"{shown if len(shown) <= 40 else shown[:37] + '...'}")
        out[name] = float(number)
    return out


def _aligned(outcomes: Any, sample: pd.DataFrame, batch_rows: int, batch_id: str) -> pd.Series:
    """The outcomes in the order of the batch's kept rows (by position, or by index label)."""
    import numpy as np
    import pandas as pd

    if isinstance(outcomes, pd.DataFrame):
        if outcomes.shape[1] != 1:
            raise InvalidInput(f"outcomes must be one column (a Series, array or list), got a frame of "
                               f"{outcomes.shape[1]} columns")
        outcomes = outcomes.iloc[:, 0]
    if isinstance(outcomes, pd.Series) and not outcomes.index.equals(pd.RangeIndex(len(outcomes))):
        labels = outcomes.index.map(str)
        if labels.has_duplicates:
            raise InvalidInput("outcomes are joined on their index labels, and some repeat; pass them in the "
                               "batch's row order instead (a list or array)")
        by_label = pd.Series(outcomes.to_numpy(), index=labels)
        missing = ~sample["_index"].isin(by_label.index)
        if missing.any():
            raise InvalidInput(f"outcomes lack {int(missing.sum())} of batch {batch_id}'s row labels, e.g. "
                               f"{', '.join(sample['_index'][missing].head(3))}")
        return by_label.reindex(sample["_index"]).reset_index(drop=True)
    values = outcomes.to_numpy() if isinstance(outcomes, pd.Series) else np.asarray(outcomes, dtype=object)
    if values.ndim != 1:
        raise InvalidInput(f"outcomes must be one value per row, got an array of shape {values.shape}")
    if len(values) != batch_rows:
        raise InvalidInput(f"batch {batch_id} scored {batch_rows} rows; got {len(values)} outcomes "
                           "(one per row, in the batch's order)")
    return pd.Series(values[: len(sample)])


def _label_keys(values: pd.Series, classes: list[Any]) -> pd.Series:
    """Outcomes as the model's classes: each value replaced by the class equal to it (so 0 and 1 are
    the classes False and True of a model fitted on booleans, as in Python), else by the class
    whose text it is."""
    by_text = {str(c): c for c in classes}

    def key(value: Any) -> Any:
        return next((c for c in classes if value == c), by_text.get(str(value), _UNKNOWN))

    keyed = values.map(key)
    unknown = sorted({str(v) for v, k in zip(values, keyed) if k is _UNKNOWN})
    if unknown:
        raise InvalidInput(f"outcomes hold {', '.join(unknown[:5])}, not among the model's classes "
                           f"{', '.join(map(str, classes))}")
    return keyed


_UNKNOWN = object()


def realised_metrics(sample: pd.DataFrame, truth: pd.Series, classes: list[Any] | None) -> dict[str, float]:
    """Realised metrics of the predictions in `sample` against `truth` (aligned, nulls dropped)."""
    import numpy as np

    known = truth.notna().to_numpy()
    proba_columns = [c for c in sample.columns if str(c).startswith("_proba_")]
    out: dict[str, float] = {}
    if proba_columns and classes:
        proba = sample[proba_columns].to_numpy(dtype="float64")
        keep = known & np.isfinite(proba).all(axis=1)
        if not keep.any():
            raise InvalidInput("no row has both an outcome and a finite prediction to compare")
        labels = _label_keys(truth[keep].reset_index(drop=True), classes)
        proba = proba[keep]
        index = {c: i for i, c in enumerate(classes)}
        codes = np.fromiter((index[label] for label in labels), dtype=int, count=len(labels))
        out["accuracy"] = float((proba.argmax(axis=1) == codes).mean())
        if len(classes) == 2:
            from sklearn.metrics import roc_auc_score

            y, p = (codes == 1).astype(float), proba[:, 1]
            out.update(brier=float(np.mean((p - y) ** 2)), positive_rate=float(y.mean()),
                       mean_predicted=float(p.mean()))
            if 0 < y.sum() < len(y):
                out["roc_auc"] = float(roc_auc_score(y, p))
        out["rows"] = float(keep.sum())
        return out
    predicted = sample["_prediction"]
    keep = known & predicted.notna().to_numpy()
    if not keep.any():
        raise InvalidInput("no row has both an outcome and a prediction to compare")
    if classes:
        labels = _label_keys(truth[keep].reset_index(drop=True), classes)
        # the kept predictions as classes too: a sample file shared with predict_proba batches holds
        # them as floats (1.0 for the class 1), which text would not match
        guesses = _label_keys(predicted[keep].reset_index(drop=True), classes)
        hits = [guess == label for guess, label in zip(guesses, labels)]
        out["accuracy"] = float(np.mean(hits))
        if len(classes) == 2:
            positive = classes[1]
            out.update(positive_rate=float(np.mean([label == positive for label in labels])),
                       predicted_positive_rate=float(np.mean([guess == positive for guess in guesses])))
    else:
        try:
            y = truth[keep].astype("float64").to_numpy()
        except (TypeError, ValueError) as err:
            raise InvalidInput(f"outcomes of a regressor must be numbers ({err})") from err
        error = predicted[keep].to_numpy(dtype="float64") - y
        out.update(mae=float(np.abs(error).mean()), rmse=float(np.sqrt((error ** 2).mean())))
    out["rows"] = float(keep.sum())
    return out


def log_outcomes(*, session: Session, store: ArtifactStore, project_id: int, user: str, model: str,
                 predictions_id: str | None = None, outcomes: Any = None, metrics: Any = None,
                 version: int | None = None, recorded_at: Any = None) -> OutcomePublic:
    """Record the outcomes of batch `predictions_id` joined to its predictions (realised metrics) and the
    business `metrics`; with no batch, the business metrics of `version` (default: the production one).
    `recorded_at` (a date, datetime, ISO text or epoch seconds; default now) dates a backfilled outcome.

    Raises:
        NotFound: no such model, version, production version, or batch (or the batch is another model's).
        Conflict: the batch's outcomes were already logged.
        InvalidInput: outcomes of another length than the batch, or with labels the model does not
            know; a refused or failed batch (no predictions to join); metrics that are not finite
            numbers; outcomes without a batch; nothing to record; a `recorded_at` that is not a
            time or lies in the future.
    """
    business = check_business(metrics)
    at = epoch_seconds(recorded_at, "recorded_at") if recorded_at is not None else time.time()
    registered = get_model(session=session, project_id=project_id, name=model)
    if predictions_id is None:
        if outcomes is not None:
            raise InvalidInput("outcomes are joined to a scoring batch: pass predictions_id= (the model's "
                               ".last_batch_id after predict); without it only business metrics are recorded")
        if not business:
            raise InvalidInput("nothing to record: pass outcomes with predictions_id=, or business metrics=")
        row = find_version_row(session=session, model=registered, version=version,
                               stage=None if version is not None else "production")
        return _insert(session, registered.name, row, None, 0, {}, business, user, at)
    batch = get_batch(session=session, batch_id=predictions_id)
    scored_by = session.get(ModelVersion, batch.model_version_id)
    assert scored_by is not None  # a foreign key
    row = scored_by
    if row.model_id != registered.id:
        raise NotFound(f"scoring batch {predictions_id} is not model {registered.name!r}'s")
    if version is not None and row.version != version:
        raise InvalidInput(f"scoring batch {predictions_id} was scored by version {row.version}, not {version}")
    if batch.status in ("refused", "failed"):
        raise InvalidInput(f"scoring batch {predictions_id} was {batch.status}: it has no predictions to join "
                           "outcomes to")
    if outcomes is None:
        raise InvalidInput(f"log_outcomes for batch {predictions_id} needs outcomes= (one per scored row)")
    earlier = session.execute(select(Outcome).where(col(Outcome.scoring_batch_id) == predictions_id)
                              .limit(1)).scalars().first()
    if earlier is not None:  # a second copy would count the batch's outcomes twice
        raise Conflict(f"outcomes of scoring batch {predictions_id} were already logged (outcome {earlier.id}, "
                       f"by {earlier.created_by}); a batch's outcomes are logged once")
    sample = read_sample(session=session, store=store, batch_id=predictions_id)
    truth = _aligned(outcomes, sample, batch.rows, predictions_id)
    classes = (batch.prediction_profile or {}).get("classes")
    realised = realised_metrics(sample, truth, classes)
    rows = int(realised.pop("rows"))
    return _insert(session, registered.name, row, predictions_id, rows, realised, business, user, at)


def _insert(session: Session, model: str, row: ModelVersion, batch_id: str | None, rows: int,
            realised: dict[str, float], business: dict[str, float], user: str, at: float) -> OutcomePublic:
    assert row.id is not None
    outcome = Outcome(model_version_id=row.id, scoring_batch_id=batch_id, rows=rows, metrics=realised,
                      business=business, created_by=user, created_at=at)
    session.add(outcome)
    session.flush()
    assert outcome.id is not None
    return OutcomePublic(id=outcome.id, model=model, version=row.version, batch=batch_id, rows=rows,
                         metrics=realised, business=business, created_by=user, created_at=outcome.created_at)


def list_outcomes(*, session: Session, project_id: int, model: str, version: int | None = None,
                  limit: int = 50) -> OutcomeTable:
    """The model's latest `limit` outcomes (of one version when given), newest first.

    Raises:
        NotFound: no such model or version.
        InvalidInput: `limit` is not a whole number from 1 to 1,000.
    """
    check_limit(limit)
    registered = get_model(session=session, project_id=project_id, name=model)
    query = (select(Outcome, col(ModelVersion.version))
             .join(ModelVersion, col(ModelVersion.id) == col(Outcome.model_version_id))
             .where(col(ModelVersion.model_id) == registered.id))
    if version is not None:
        query = query.where(col(Outcome.model_version_id) == find_version_row(
            session=session, model=registered, version=version).id)
    query = query.order_by(col(Outcome.created_at).desc(), col(Outcome.id).desc()).limit(limit)
    table = OutcomeTable(model=registered.name)
    for outcome, number in session.execute(query).all():
        values = {"id": outcome.id, "version": number, "batch": outcome.scoring_batch_id, "rows": outcome.rows,
                  "metrics": dict(outcome.metrics or {}), "business": dict(outcome.business or {}),
                  "created_by": outcome.created_by, "created_at": outcome.created_at}
        table.rows.append({k: values[k] for k in OUTCOME_COLUMNS})
    return table
