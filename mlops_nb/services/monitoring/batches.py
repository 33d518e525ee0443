"""Reading recorded scoring batches: recent batches of a model for the console and notebooks, one
batch's row, and its sample file (the rows and predictions kept, services.monitoring.writer).

    table = recent_batches(session=s, project_id=1, model="credit-risk", limit=20)
    frame = read_sample(session=s, store=store, batch_id=table.rows[0]["id"])
"""
from __future__ import annotations

import io
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlmodel import Session, col

from mlops_nb.services.errors import NotFound
from mlops_nb.services.monitoring.results import BatchTable
from mlops_nb.services.registry.lookups import find_version_row, get_model
from mlops_nb.services.tracking.artifacts import read_verified
from mlops_nb.services.values import READ_LIMIT, check_limit
from mlops_nb.store.artifacts import ArtifactStore
from mlops_nb.store.models import Artifact, ModelVersion
from mlops_nb.store.models.monitoring import ScoringBatch

if TYPE_CHECKING:
    import pandas as pd

MAX_LIMIT = READ_LIMIT


def recent_batches(*, session: Session, project_id: int, model: str, version: int | None = None,
                   limit: int = 50) -> BatchTable:
    """The model's latest `limit` scoring batches (of one version when `version` is given), newest first.

    Raises:
        NotFound: no such model or version.
        InvalidInput: `limit` is not a whole number from 1 to MAX_LIMIT.
    """
    check_limit(limit, MAX_LIMIT)
    registered = get_model(session=session, project_id=project_id, name=model)
    query = (select(ScoringBatch, col(ModelVersion.version))
             .join(ModelVersion, col(ModelVersion.id) == col(ScoringBatch.model_version_id))
             .where(col(ModelVersion.model_id) == registered.id))
    if version is not None:
        row = find_version_row(session=session, model=registered, version=version)
        query = query.where(col(ScoringBatch.model_version_id) == row.id)
    query = query.order_by(col(ScoringBatch.created_at).desc(), col(ScoringBatch.id)).limit(limit)
    table = BatchTable(model=registered.name)
    for batch, number in session.execute(query).all():
        findings = list(batch.findings or [])
        table.rows.append({
            "id": batch.id, "version": number, "stage": batch.stage, "method": batch.method, "status": batch.status,
            "rows": batch.rows, "latency_ms": batch.latency_ms, "findings": len(findings),
            "errors": sum(1 for f in findings if f.get("severity") == "error"),
            "mean_prediction": (batch.prediction_profile or {}).get("mean"), "created_by": batch.created_by,
            "created_at": batch.created_at})
        table.details[batch.id] = findings
    return table


def get_batch(*, session: Session, batch_id: str) -> ScoringBatch:
    """The batch row `batch_id`.

    Raises:
        NotFound: no batch has that id (the message says where ids come from).
    """
    batch = session.get(ScoringBatch, batch_id) if isinstance(batch_id, str) else None
    if batch is None:
        raise NotFound(f"no scoring batch {batch_id!r}; a batch's id is the model's .last_batch_id after "
                       "predict/predict_proba, or a row of mlops.batches(name)")
    return batch


def read_sample(*, session: Session, store: ArtifactStore, batch_id: str) -> pd.DataFrame:
    """The batch's rows of its sample file as a DataFrame (`_row`, `_index`, predictions, `_sampled`,
    then its input columns), the file's sha256 checked.

    Raises:
        NotFound: no such batch, or it kept no sample (refused or failed: nothing was predicted).
        IntegrityFailure: the file changed after it was written.
    """
    import pandas as pd

    batch = get_batch(session=session, batch_id=batch_id)
    if batch.sample_artifact_id is None:
        raise NotFound(f"scoring batch {batch_id} was {batch.status}: it kept no predictions")
    artifact = session.get(Artifact, batch.sample_artifact_id)
    assert artifact is not None  # a foreign key
    frame = pd.read_parquet(io.BytesIO(read_verified(store=store, artifact=artifact)))
    if "_batch" in frame.columns:  # a file the writer shared between the batches of one group
        frame = frame[frame["_batch"] == batch_id].drop(columns="_batch").reset_index(drop=True)
        inputs = list(batch.input_profile or {})
        kept = [c for c in frame.columns if str(c).startswith("_") and frame[c].notna().any()]
        frame = frame[[c for c in kept if c not in inputs] + [c for c in inputs if c in frame.columns]]
    if "_row" in frame.columns:  # the writer puts a batch's sampled rows first
        frame = frame.sort_values("_row", kind="stable", ignore_index=True)
        if "_index" not in frame.columns:  # a default index (0..n-1): its labels are the positions
            frame.insert(list(frame.columns).index("_row") + 1, "_index", frame["_row"].astype(str))
    return frame
