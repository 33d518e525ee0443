"""The current data of a drift window: the sampled input rows of a model version's scoring batches,
and the prediction drift's reference (the version's predictions on its training sample).

SPEC §4 (`mlops monitor run`): a window is the union of the accepted (and warned) batches; a refused
batch is recorded with its findings and left out of drift, a failed one predicted nothing. Each
batch keeps at most 1,000 sampled input rows in its sample file (services.monitoring.writer; the
file may be shared by the batches written in one group), so a month of batches is read file by
file, each once, and only the `_sampled` rows are kept.

The prediction column is the positive-class probability (`_proba_<class>`) when the window's
batches called predict_proba on a two-class model, else `_prediction`; its reference is the same
version's prediction on the training dataset's stored sample, loaded with the registry's trusted
loader (no type nobody trusted runs) and kept per process, since it never changes for a version.

    batches = window_batches(session=s, model_version_id=7, since=t0, until=t1)
    current = window_frame(session=s, store=store, batches=batches, columns=["age", "credit_amount"])
"""
from __future__ import annotations

import io
import warnings
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlmodel import Session, col

from mlops_nb.services.errors import InvalidInput, NotFound
from mlops_nb.services.tracking.artifacts import read_verified
from mlops_nb.store.artifacts import ArtifactStore
from mlops_nb.store.models import Artifact
from mlops_nb.store.models.monitoring import ScoringBatch

if TYPE_CHECKING:
    import pandas as pd

    from mlops_nb.services.monitoring.drift_reference import ColumnReference

USABLE = ("accepted", "warned")  # batch statuses whose inputs were scored and kept
MAX_BATCHES = 10_000  # batches in one window (each keeps at most 1,000 sampled rows)


def window_batches(*, session: Session, model_version_id: int, since: float | None = None,
                   until: float | None = None, batch_ids: Sequence[str] | None = None) -> list[ScoringBatch]:
    """The version's accepted and warned batches with a sample file, oldest first: those named in
    `batch_ids`, else those recorded at or after `since` and before `until` (epoch seconds; None: open).

    Raises:
        InvalidInput: `since`/`until` not numbers, `since` not before `until`, `batch_ids` not a list
            of ids, or more than MAX_BATCHES batches in the window.
        NotFound: a batch in `batch_ids` does not exist or belongs to another model version.
    """
    for name, value in (("since", since), ("until", until)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))):
            raise InvalidInput(f"{name} must be epoch seconds (a number), got {type(value).__name__}")
    if since is not None and until is not None and since >= until:
        raise InvalidInput(f"the window is empty: since ({since}) must be before until ({until})")
    query = select(ScoringBatch).where(col(ScoringBatch.model_version_id) == model_version_id)
    if batch_ids is not None:
        if isinstance(batch_ids, str) or not all(isinstance(b, str) for b in batch_ids):
            raise InvalidInput("batch_ids must be a list of scoring batch ids (strings)")
        wanted = list(dict.fromkeys(batch_ids))
        found = {b.id: b for b in session.execute(select(ScoringBatch).where(
            col(ScoringBatch.id).in_(wanted))).scalars()} if wanted else {}
        stray = [b for b in wanted if b not in found or found[b].model_version_id != model_version_id]
        if stray:
            raise NotFound(f"scoring batch {stray[0]!r} is not a batch of this model version")
        query = query.where(col(ScoringBatch.id).in_(wanted))
    if since is not None:
        query = query.where(col(ScoringBatch.created_at) >= since)
    if until is not None:
        query = query.where(col(ScoringBatch.created_at) < until)
    query = query.where(col(ScoringBatch.status).in_(USABLE), col(ScoringBatch.sample_artifact_id).is_not(None))
    batches = list(session.execute(query.order_by(col(ScoringBatch.created_at), col(ScoringBatch.id))
                                   .limit(MAX_BATCHES + 1)).scalars())
    if len(batches) > MAX_BATCHES:
        raise InvalidInput(f"the window holds more than {MAX_BATCHES:,} scoring batches; give a shorter window")
    return batches


def window_frame(*, session: Session, store: ArtifactStore, batches: Sequence[ScoringBatch],
                 columns: Sequence[str], dtypes: dict[str, str] | None = None) -> pd.DataFrame:
    """The union of the batches' sampled rows: `columns` (those the files hold) in that order, each
    file read once and its sha256 checked. `dtypes` (column -> the reference's dtype name) restores
    what the file's nulls changed: an integer column comes back as float (its unsampled rows are null)
    and a repeated text column as a pandas category; evidently's types follow the dtype, so each
    goes back to the reference's when its values allow.

    Raises:
        IntegrityFailure: a sample file changed after it was written.
        NotFound: a sample file is missing from the artifact store.
    """
    import pandas as pd

    by_file: dict[int, set[str]] = {}
    for batch in batches:
        assert batch.sample_artifact_id is not None  # window_batches keeps only those
        by_file.setdefault(batch.sample_artifact_id, set()).add(batch.id)
    wanted = list(columns)
    parts = []
    for artifact_id, ids in by_file.items():
        artifact = session.get(Artifact, artifact_id)
        assert artifact is not None  # a foreign key
        frame = pd.read_parquet(io.BytesIO(read_verified(store=store, artifact=artifact)))
        keep = frame["_sampled"].fillna(False).astype(bool) if "_sampled" in frame.columns else None
        if "_batch" in frame.columns:
            mine = frame["_batch"].isin(ids)
            keep = mine if keep is None else keep & mine
        if keep is not None:
            frame = frame[keep.to_numpy()]
        parts.append(frame[[c for c in wanted if c in frame.columns]])
    if not parts:
        return pd.DataFrame(columns=wanted)
    union = pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0].reset_index(drop=True)
    union = union[[c for c in wanted if c in union.columns]]
    return _like_reference(union, dtypes or {})


def _like_reference(frame: pd.DataFrame, dtypes: dict[str, str]) -> pd.DataFrame:
    """`frame` with each column back in its reference dtype where the file changed it and the values allow."""
    import numpy as np
    import pandas as pd
    from pandas.api import types

    changed: dict[str, Any] = {}
    for name in frame.columns:
        series, want = frame[name], dtypes.get(str(name), "")
        if isinstance(series.dtype, pd.CategoricalDtype):
            series = series.astype(object)
            changed[name] = series
        if want.startswith(("int", "uint")) and types.is_float_dtype(series) and series.notna().all():
            values = series.to_numpy()
            if np.all(np.isfinite(values)) and np.all(values == np.round(values)):
                changed[name] = series.astype(np.dtype(want))
        elif want == "bool" and series.dtype == object and series.notna().all():
            changed[name] = series.astype(bool)
    return frame.assign(**changed) if changed else frame


def prediction_column(batches: Sequence[ScoringBatch]) -> str | None:
    """The column prediction drift is measured on: `_proba_<positive class>` when a batch called
    predict_proba on two classes, else `_prediction` when one called predict; None otherwise."""
    for batch in batches:
        profile = batch.prediction_profile or {}
        classes = profile.get("classes")
        if batch.method == "predict_proba" and isinstance(classes, list) and len(classes) == 2:
            return f"_proba_{classes[1]}"
    if any(b.method == "predict" for b in batches):
        return "_prediction"
    return None


def reference_predictions(*, session: Session, store: ArtifactStore, project_id: int, model: str, version: int,
                          column: str, dataset_version_id: int, target: str | None) -> ColumnReference:
    """The reference of prediction column `column`: model `model` v`version`'s predictions on the stored
    sample of its training dataset version `dataset_version_id` (the `target` column left out), loaded
    with the registry's trusted loader and the version's feature definitions, profiled as a drift
    reference column. Kept per process by version, file hash and dataset (none of them changes).

    Raises:
        as services.monitoring.load_monitored (IntegrityFailure, PermissionDenied, NotFound, Conflict);
        NotFound: the dataset version has no stored sample.
        InvalidInput: the model cannot score the sample.
    """
    import pandas as pd

    from mlops_nb.services.data.datasets import load_sample
    from mlops_nb.services.monitoring.drift_reference import reference_profile
    from mlops_nb.services.monitoring.scoring import load_monitored, plan_monitored

    plan = plan_monitored(session=session, project_id=project_id, name=model, version=version)
    key = (plan.load.version.id, plan.load.artifact.sha256, column, dataset_version_id)
    cached = _CACHE.get(key)
    if cached is not None:
        return cached
    sample = load_sample(session=session, store=store, dataset_version_id=dataset_version_id)
    if target is not None and target in sample.columns:
        sample = sample.drop(columns=target)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # environment differences are named when the model is loaded to score
        live = load_monitored(plan, engine=cast(Engine, session.get_bind()), store=store, user="", monitor=False)
        try:
            values = live.predict(sample) if column == "_prediction" else live.predict_proba(sample)[:, 1]
        except InvalidInput:
            raise
        except Exception as err:  # the estimator's own failure on its training sample
            raise InvalidInput(f"model {model!r} v{version} could not score its training sample: "
                               f"{type(err).__name__}: {err}") from err
    reference = reference_profile(pd.DataFrame({column: values}), source="sample").columns[column]
    _remember(key, reference)
    return reference


_CACHE: dict[tuple[Any, ...], ColumnReference] = {}
_CACHE_SIZE = 64


def _remember(key: tuple[Any, ...], value: ColumnReference) -> None:
    if len(_CACHE) >= _CACHE_SIZE:
        _CACHE.pop(next(iter(_CACHE)))
    _CACHE[key] = value

