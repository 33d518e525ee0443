"""Drift in the store: a dataset version's drift reference, and drift reports as rows.

A drift test needs of the reference only its sorted values (numeric columns) or category counts
(services.monitoring.drift_reference). That profile is computed once, when a training dataset is
logged (api.tracking.log_dataset stages it before the store's write lock, like the dataset's
sample, and `store_reference` places it in the same transaction), so a drift run reads the current
data only. A version logged before drift existed has none: `reference_for` builds it from the
version's stored sample (at most 10,000 rows), stores it, and says so (`source` "sample").

A report is one drift_report row (the dataset verdict, the findings) and one drift_column row per
tested column (test, statistic, threshold, verdict, a small distribution for the console's
drill-down), plus a bounded sample of the current data for evidently's own report, built later on
demand (services.monitoring.drift_evidently).

    with staged_reference(store, train) as ref:          # before the transaction
        store_reference(session=s, store=store, dataset_version_id=v.id, profile=ref.profile, staged_file=ref.file)
    profile = reference_for(session=s, store=store, dataset_version_id=v.id)
"""
from __future__ import annotations

import io
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col

from mlops_nb.services.data.datasets import load_sample
from mlops_nb.services.data.results import Finding
from mlops_nb.services.errors import InvalidInput, NotFound
from mlops_nb.services.monitoring.drift_reference import ReferenceProfile, reference_profile
from mlops_nb.services.monitoring.drift_results import DriftReport
from mlops_nb.services.registry.lookups import get_model
from mlops_nb.services.tracking.artifacts import StagedFile, place, read_verified, staged, store_bytes
from mlops_nb.services.values import READ_LIMIT, check_limit
from mlops_nb.store.artifacts import ArtifactStore
from mlops_nb.store.models import (
    Artifact,
    DatasetVersion,
    DriftColumn,
    DriftRecord,
    DriftReference,
    ModelVersion,
    RegisteredModel,
)

if TYPE_CHECKING:
    import pandas as pd

    from mlops_nb.services.monitoring.drift_rules import DriftComputation

CURRENT_SAMPLE_ROWS = 5_000  # current rows kept with a stored report: what evidently's report is built on
MAX_HISTORY = READ_LIMIT


@dataclass
class StagedReference:
    """A reference profile computed from a frame and written to a staging file, ready to be placed."""

    profile: ReferenceProfile
    file: StagedFile


@contextmanager
def staged_reference(store: ArtifactStore, df: pd.DataFrame) -> Iterator[StagedReference]:
    """The drift reference of `df` (every row, source "dataset"), computed and written under a staging
    name before any transaction; removed on leaving the block unless `store_reference` placed it.

    Raises:
        InvalidInput: the store cannot be written.
    """
    profile = reference_profile(df, source="dataset")
    with staged(store, data=profile.to_bytes(), label="the drift reference") as file:
        yield StagedReference(profile=profile, file=file)


def store_reference(*, session: Session, store: ArtifactStore, dataset_version_id: int, profile: ReferenceProfile,
                    staged_file: StagedFile | None = None) -> DriftReference:
    """Record `profile` as the drift reference of dataset version `dataset_version_id`: its file
    (`datasets/{id}/drift_reference*.npz`, the staged file moved into place, else written now) and
    its row, in the session's transaction. A version that has a reference keeps it (returned, nothing
    written): the same content logged again, or two readers building one from the sample at once.

    Raises:
        NotFound: no such dataset version.
        InvalidInput: the artifact store cannot be written.
    """
    existing = session.get(DriftReference, dataset_version_id)
    if existing is not None:
        return existing
    if session.get(DatasetVersion, dataset_version_id) is None:
        raise NotFound(f"dataset version {dataset_version_id} does not exist")
    # a name of its own per write: two processes building the same reference at once never write
    # one file (the loser's row rolls back; its file is left unreferenced, never a changed file)
    name = f"datasets/{dataset_version_id}/drift_reference-{uuid.uuid4().hex[:12]}.npz"
    try:
        with session.begin_nested():
            if staged_file is not None:
                artifact = place(session=session, staged_file=staged_file, name=name)
            else:
                artifact = store_bytes(session=session, store=store, data=profile.to_bytes(), name=name)
            assert artifact.id is not None  # a recorded artifact
            row = DriftReference(dataset_version_id=dataset_version_id, artifact_id=artifact.id, source=profile.source,
                                 rows=profile.rows, columns=profile.summary(), created_at=time.time())
            session.add(row)
            session.flush()
    except IntegrityError:
        session.expire_all()
        winner = session.get(DriftReference, dataset_version_id)
        if winner is None:
            raise
        return winner
    return row


def reference_for(*, session: Session, store: ArtifactStore, dataset_version_id: int) -> ReferenceProfile:
    """The drift reference of dataset version `dataset_version_id`, its file's sha256 checked. A version
    logged before drift references existed gets one now, from its stored sample (source "sample"),
    stored for next time.

    Raises:
        NotFound: no such version, or it has neither a reference nor a stored sample.
        IntegrityFailure: the reference's (or sample's) bytes changed after they were recorded.
    """
    row = session.get(DriftReference, dataset_version_id)
    if row is None:
        sample = load_sample(session=session, store=store, dataset_version_id=dataset_version_id)
        profile = reference_profile(sample, source="sample")
        row = store_reference(session=session, store=store, dataset_version_id=dataset_version_id, profile=profile)
        if row.source == profile.source and row.rows == profile.rows:
            return profile
    artifact = session.get(Artifact, row.artifact_id)
    assert artifact is not None  # a foreign key
    return ReferenceProfile.from_bytes(read_verified(store=store, artifact=artifact))


def dataset_label(session: Session, dataset_version_id: int, source: str) -> str:
    """'dataset german v2', with ' (its stored sample)' when the reference was built from the sample."""
    version = session.get(DatasetVersion, dataset_version_id)
    name = f"dataset {version.name} v{version.version}" if version else f"dataset version {dataset_version_id}"
    return name + (" (its stored sample)" if source == "sample" else "")


def sample_bytes(frame: pd.DataFrame, rows: int = CURRENT_SAMPLE_ROWS) -> bytes:
    """At most `rows` rows of `frame` (a seeded random sample of larger ones) as Parquet; object columns
    mixing types (1 and "x") kept as text, which pyarrow would refuse."""
    sample = (frame if len(frame) <= rows else frame.sample(rows, random_state=0)).reset_index(drop=True)
    buffer = io.BytesIO()
    try:
        sample.to_parquet(buffer, index=False)
    except (ValueError, TypeError):
        texts = {c: sample[c].where(sample[c].isna(), sample[c].astype(str))
                 for c in sample.columns if sample[c].dtype == object}
        buffer = io.BytesIO()
        sample.assign(**texts).to_parquet(buffer, index=False)
    return buffer.getvalue()


@dataclass
class ReportSource:
    """What a report compared, for its row: the reference in words and its dataset version (None for a
    frame), the current data in words, its batches and their time window."""

    reference: str
    current: str
    reference_dataset_version_id: int | None = None
    window_start: float | None = None
    window_end: float | None = None
    batches: int = 0


def save_report(*, session: Session, store: ArtifactStore, project_id: int, model_version_id: int, user: str,
                computation: DriftComputation, source: ReportSource, current: pd.DataFrame, trigger: str) -> int:
    """Write the report's row, one drift_column row per tested column and the current data's bounded
    sample (the tested columns only) in the session's transaction; the report's id.

    Raises:
        InvalidInput: the artifact store cannot be written (nothing is recorded).
    """
    tested = [c.column for c in computation.columns]
    record = DriftRecord(project_id=project_id, model_version_id=model_version_id,
                         reference_dataset_version_id=source.reference_dataset_version_id,
                         reference=source.reference[:250], current=source.current[:250],
                         window_start=source.window_start, window_end=source.window_end, batches=source.batches,
                         reference_rows=max((c.reference_rows for c in computation.columns), default=0),
                         current_rows=len(current), tested=computation.tested, drifted=computation.drifted,
                         share=computation.share, drift_share=computation.drift_share,
                         dataset_drift=computation.dataset_drift, prediction_drift=computation.prediction_drift,
                         findings=[f.to_dict() for f in computation.findings], trigger=trigger, created_by=user,
                         created_at=time.time())
    session.add(record)
    session.flush()
    assert record.id is not None  # flushed
    ordered = [c for c in computation.columns if c.role != "prediction"] + [
        c for c in computation.columns if c.role == "prediction"]
    for position, c in enumerate(ordered):
        session.add(DriftColumn(report_id=record.id, column=c.column[:250], role=c.role, type=c.type, test=c.test,
                                statistic=float(c.statistic), threshold=float(c.threshold), drift=bool(c.drift),
                                reference_rows=c.reference_rows, current_rows=c.current_rows, position=position,
                                distribution=c.distribution))
    kept = [c for c in tested if c in current.columns]
    if kept:
        artifact = store_bytes(session=session, store=store, data=sample_bytes(current[kept]),
                               name=f"drift/{record.id}/current_sample.parquet")
        record.current_sample_artifact_id = artifact.id
    session.add(record)
    session.flush()
    return record.id


def _column_row(c: DriftColumn) -> dict[str, Any]:
    return {"column": c.column, "role": c.role, "type": c.type, "test": c.test, "statistic": c.statistic,
            "threshold": c.threshold, "drift": c.drift, "reference_rows": c.reference_rows,
            "current_rows": c.current_rows, "distribution": dict(c.distribution or {})}


def _public(record: DriftRecord, columns: Sequence[DriftColumn], model: str | None, version: int | None) -> DriftReport:
    ranked = sorted(columns, key=lambda c: c.position)
    assert record.id is not None  # a stored row
    return DriftReport(id=record.id, model=model, version=version, reference=record.reference, current=record.current,
                       reference_rows=record.reference_rows, current_rows=record.current_rows, tested=record.tested,
                       drifted_columns=[c.column for c in ranked if c.drift and c.role != "prediction"],
                       share=record.share, drift_share=record.drift_share, dataset_drift=record.dataset_drift,
                       prediction_drift=record.prediction_drift,
                       findings=[Finding.from_dict(f) for f in record.findings or []],
                       rows=[_column_row(c) for c in ranked], window_start=record.window_start,
                       window_end=record.window_end, batches=record.batches, trigger=record.trigger,
                       created_by=record.created_by, created_at=record.created_at,
                       html_artifact_id=record.html_artifact_id)


def _model_of(session: Session, model_version_id: int | None) -> tuple[str | None, int | None]:
    if model_version_id is None:
        return None, None
    row = session.execute(select(col(RegisteredModel.name), col(ModelVersion.version))
                          .join(ModelVersion, col(ModelVersion.model_id) == col(RegisteredModel.id))
                          .where(col(ModelVersion.id) == model_version_id)).first()
    return (row[0], row[1]) if row is not None else (None, None)


def get_drift_report(*, session: Session, project_id: int, report_id: int) -> DriftReport:
    """Stored drift report `report_id` of the project, with its per-column rows.

    Raises:
        NotFound: no such report in the project.
    """
    record = session.get(DriftRecord, report_id) if isinstance(report_id, int) and not isinstance(report_id, bool) \
        else None
    if record is None or record.project_id != project_id:
        raise NotFound(f"drift report {report_id!r} does not exist in this project; "
                       "mlops.drift_history(model) lists a model's reports")
    columns = session.execute(select(DriftColumn).where(col(DriftColumn.report_id) == report_id)).scalars().all()
    model, version = _model_of(session, record.model_version_id)
    return _public(record, columns, model, version)


def drift_history(*, session: Session, project_id: int, model: str, limit: int = 100) -> list[DriftReport]:
    """The stored drift reports of model `model` (all its versions), newest first, at most `limit`.

    Raises:
        NotFound: no such model in the project.
        InvalidInput: `limit` is not a whole number from 1 to MAX_HISTORY.
    """
    check_limit(limit, MAX_HISTORY)
    registered = get_model(session=session, project_id=project_id, name=model)
    rows = session.execute(
        select(DriftRecord, col(ModelVersion.version))
        .join(ModelVersion, col(ModelVersion.id) == col(DriftRecord.model_version_id))
        .where(col(ModelVersion.model_id) == registered.id, col(DriftRecord.project_id) == project_id)
        .order_by(col(DriftRecord.created_at).desc(), col(DriftRecord.id).desc()).limit(limit)).all()
    ids = [record.id for record, _ in rows]
    by_report: dict[int, list[DriftColumn]] = {i: [] for i in ids if i is not None}
    if ids:
        for c in session.execute(select(DriftColumn).where(col(DriftColumn.report_id).in_(ids))).scalars():
            by_report[c.report_id].append(c)
    return [_public(record, by_report.get(record.id or 0, []), registered.name, number) for record, number in rows]


def check_exclude(exclude: Any) -> list[str]:
    """`exclude` as a list of column names (None or empty: none).

    Raises:
        InvalidInput: not a list of strings (a single string is taken as one name).
    """
    if exclude is None:
        return []
    if isinstance(exclude, str):
        return [exclude]
    try:
        names = list(exclude)
    except TypeError as err:
        raise InvalidInput(f"exclude must be a list of column names, got {type(exclude).__name__}") from err
    bad = [n for n in names if not isinstance(n, str)]
    if bad:
        raise InvalidInput(f"exclude must hold column names (strings); got {bad[0]!r}")
    return names
