"""Drift windows: the sampled input rows of a model version's scoring batches against its training
reference, with the prediction drift's reference (the version's predictions on its training sample).

SPEC §4 (`mlops monitor run`): a window is the union of the accepted (and warned) batches; a refused
batch is recorded with its findings and left out of drift, a failed one predicted nothing. Each
batch keeps at most 1,000 sampled input rows in its sample file (services.monitoring.writer; the
file may be shared by the batches written in one group), so a month of batches is read file by
file, each once, and only the `_sampled` rows are kept.

The prediction column is the positive-class probability (`_proba_<class>`) when the window's
batches called predict_proba on a two-class model, else `_prediction`; its reference is the same
version's prediction on the training dataset's stored sample, loaded with the registry's trusted
loader (no type nobody trusted runs) and kept per process, since it never changes for a version.

Three steps, so that a caller who can may hold no transaction while files are read, the model
scores and the verdicts are computed (on SQLite a transaction holds the store's write lock):
`plan_window` reads (one short transaction), `compute_window` needs none, `record_window` writes.
`window_drift` runs them in the caller's transaction; `window_drift_in_steps` in two of its own.

    report = window_drift(session=s, store=store, project_id=1, model_version_id=7, since=t0, user="monitor")
    report = window_drift_in_steps(engine=engine, store=store, project_id=1, model_version_id=7, user="monitor")
"""
from __future__ import annotations

import io
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlmodel import Session, col

from mlops_nb.services.data.results import Finding
from mlops_nb.services.errors import InvalidInput, MlopsError, NotFound
from mlops_nb.services.monitoring.drift_reference import ReferenceProfile
from mlops_nb.services.monitoring.drift_results import DRIFT_SHARE, TRIGGERS, DriftReport
from mlops_nb.services.monitoring.drift_store import (
    ReportSource,
    dataset_label,
    get_drift_report,
    reference_for,
    save_report,
)
from mlops_nb.services.tracking.artifacts import read_verified
from mlops_nb.store.artifacts import ArtifactStore
from mlops_nb.store.db import session_scope
from mlops_nb.store.models import Artifact, DatasetVersion, ModelVersion, RegisteredModel
from mlops_nb.store.models.monitoring import ScoringBatch

if TYPE_CHECKING:
    import pandas as pd

    from mlops_nb.services.monitoring.drift_reference import ColumnReference
    from mlops_nb.services.monitoring.drift_rules import DriftComputation
    from mlops_nb.services.monitoring.scoring import MonitorPlan

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


def sample_files(session: Session, batches: Sequence[ScoringBatch]) -> dict[int, Artifact]:
    """The artifact rows of the batches' sample files, by id (one query)."""
    ids = sorted({b.sample_artifact_id for b in batches if b.sample_artifact_id is not None})
    return {a.id: a for a in session.execute(select(Artifact).where(col(Artifact.id).in_(ids))).scalars()
            if a.id is not None} if ids else {}


def window_frame(*, files: dict[int, Artifact], store: ArtifactStore, batches: Sequence[ScoringBatch],
                 columns: Sequence[str], dtypes: dict[str, str] | None = None) -> pd.DataFrame:
    """The union of the batches' sampled rows: `columns` (those the files hold) in that order, each
    file (`files`: sample_files' rows) read once and its sha256 checked; no transaction needed. `dtypes` (column -> the reference's dtype name) restores
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
        artifact = files[artifact_id]
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


@dataclass
class PredictionPlan:
    """What the prediction drift's reference needs from the store: the version's monitored-load plan
    and its training dataset's stored sample (artifact row), the target to leave out."""

    load: MonitorPlan
    sample: Artifact
    target: str | None

    @property
    def key(self) -> tuple[Any, ...]:
        """What the reference predictions depend on: the version, its file's hash, the sample's hash."""
        return self.load.load.version.id, self.load.load.artifact.sha256, self.sample.sha256


def plan_predictions(*, session: Session, project_id: int, model: str, version: int, dataset_version_id: int,
                     target: str | None) -> PredictionPlan:
    """The reads `reference_predictions` needs (no file is read).

    Raises:
        NotFound: no such model version; a feature definition it names is gone; the dataset version
            has no stored sample.
        InvalidInput: a stored policy that is not valid.
    """
    from mlops_nb.services.monitoring.scoring import plan_monitored

    load = plan_monitored(session=session, project_id=project_id, name=model, version=version)
    dataset = session.get(DatasetVersion, dataset_version_id)
    sample = session.get(Artifact, dataset.sample_artifact_id) if dataset and dataset.sample_artifact_id else None
    if sample is None:
        raise NotFound(f"dataset version {dataset_version_id} has no stored sample to predict on")
    return PredictionPlan(load=load, sample=sample, target=target)


def reference_predictions(plan: PredictionPlan, *, engine: Engine, store: ArtifactStore, column: str) -> ColumnReference:
    """The reference of prediction column `column`: the version's predictions on its training
    dataset's stored sample (the target left out; the positive-class probability for a `_proba_`
    column), loaded with the registry's trusted loader and the version's feature definitions,
    profiled as a drift reference column. Kept per process by `plan.key` (none of it changes).
    No transaction needed (`engine` is only named to the loader, which records nothing here).

    Raises:
        as services.monitoring.load_monitored (IntegrityFailure, PermissionDenied, NotFound, Conflict);
        InvalidInput: the model cannot score the sample.
    """
    import pandas as pd

    from mlops_nb.services.monitoring.drift_reference import reference_profile
    from mlops_nb.services.monitoring.scoring import load_monitored

    key = (*plan.key, column)
    cached = _CACHE.get(key)
    if cached is not None:
        return cached
    sample = pd.read_parquet(io.BytesIO(read_verified(store=store, artifact=plan.sample)))
    if plan.target is not None and plan.target in sample.columns:
        sample = sample.drop(columns=plan.target)
    info = plan.load.load.version
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # environment differences are named when the model is loaded to score
        live = load_monitored(plan.load, engine=engine, store=store, user="", monitor=False)
        try:
            values = live.predict(sample) if column == "_prediction" else live.predict_proba(sample)[:, 1]
        except InvalidInput:
            raise
        except Exception as err:  # the estimator's own failure on its training sample
            raise InvalidInput(f"model {info.name!r} v{info.version} could not score its training sample: "
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


@dataclass
class WindowPlan:
    """What a drift window needs from the store, read in one short transaction: the version, its
    batches and their sample files, the training reference, what the prediction reference needs
    (None: no prediction column, or `findings` say why it is not measured), and the report's source."""

    model_version_id: int
    batches: list[ScoringBatch]
    files: dict[int, Artifact]
    profile: ReferenceProfile
    target: str | None
    prediction: str | None
    predictions: PredictionPlan | None
    source: ReportSource
    findings: list[Finding] = field(default_factory=list)


def plan_window(*, session: Session, store: ArtifactStore, project_id: int, model_version_id: int,
                since: float | None = None, until: float | None = None,
                batch_ids: Sequence[str] | None = None) -> WindowPlan:
    """The reads of `window_drift` (the stored reference's file too, or its first build from the
    training sample for a version logged before drift existed).

    Raises:
        as window_drift.
    """
    row = session.get(ModelVersion, model_version_id) if isinstance(model_version_id, int) else None
    registered = session.get(RegisteredModel, row.model_id) if row is not None else None
    if row is None or registered is None or registered.project_id != project_id or row.id is None:
        raise NotFound(f"model version id {model_version_id!r} does not exist in this project")
    label = f"model {registered.name!r} v{row.version}"
    if row.dataset_version_id is None:
        raise InvalidInput(f"{label} names no training dataset, so its batches have no reference to drift from")
    batches = window_batches(session=session, model_version_id=row.id, since=since, until=until, batch_ids=batch_ids)
    if not batches:
        window = f"batches {', '.join(batch_ids)}" if batch_ids is not None else _window_words(since, until)
        raise InvalidInput(f"{label} has no accepted or warned scoring batch in {window}; nothing to measure "
                           "drift on (refused and failed batches are left out)")
    profile = reference_for(session=session, store=store, dataset_version_id=row.dataset_version_id)
    prediction, predictions, findings = prediction_column(batches), None, []
    if prediction is not None:
        try:
            predictions = plan_predictions(session=session, project_id=project_id, model=registered.name,
                                           version=row.version, dataset_version_id=row.dataset_version_id,
                                           target=row.target)
        except MlopsError as err:
            findings.append(_unmeasured(prediction, err))
            prediction = None
    times = [b.created_at for b in batches]
    source = ReportSource(dataset_label(session, row.dataset_version_id, profile.source),
                          f"{len(batches)} batch{'es' if len(batches) != 1 else ''}",
                          reference_dataset_version_id=row.dataset_version_id,
                          window_start=since if since is not None else min(times),
                          window_end=until if until is not None else max(times), batches=len(batches),
                          reference_rows=profile.rows)
    return WindowPlan(model_version_id=row.id, batches=batches, files=sample_files(session, batches), profile=profile,
                      target=row.target, prediction=prediction, predictions=predictions, source=source,
                      findings=findings)


def _unmeasured(column: str, err: Exception) -> Finding:
    return Finding(column, "prediction_reference", "warning", f"prediction drift not measured: {err}")


def compute_window(plan: WindowPlan, *, engine: Engine, store: ArtifactStore) -> tuple[pd.DataFrame, DriftComputation]:
    """The window's current data (its files read) and its verdicts, prediction drift included; no
    transaction (the model is loaded and scored here, outside any).

    Raises:
        IntegrityFailure, NotFound: a sample file changed or is missing.
        InvalidInput: as compute_drift.
    """
    from mlops_nb.services.monitoring.drift_rules import compute_drift

    profile, prediction, findings = plan.profile, plan.prediction, list(plan.findings)
    if prediction is not None and plan.predictions is not None:
        try:
            column = reference_predictions(plan.predictions, engine=engine, store=store, column=prediction)
            profile = ReferenceProfile(rows=profile.rows, source=profile.source,
                                       columns={**profile.columns, prediction: column})
        except MlopsError as err:
            findings.append(_unmeasured(prediction, err))
            prediction = None
    inputs = [n for n in profile.columns if n != plan.target and n != prediction]
    current = window_frame(files=plan.files, store=store, batches=plan.batches,
                           columns=inputs + ([prediction] if prediction else []),
                           dtypes={name: ref.dtype for name, ref in profile.columns.items()})
    computation = compute_drift(profile, current, exclude=[plan.target] if plan.target else [], prediction=prediction,
                                drift_share=DRIFT_SHARE)
    computation.findings = findings + computation.findings
    return current, computation


def record_window(*, session: Session, store: ArtifactStore, project_id: int, user: str, plan: WindowPlan,
                  current: pd.DataFrame, computation: DriftComputation, trigger: str = "monitor") -> DriftReport:
    """Store the window's report (rows, the current data's bounded sample) and read it back.

    Raises:
        InvalidInput: a bad trigger, or the artifact store cannot be written (nothing is stored).
    """
    check_trigger(trigger)
    report_id = save_report(session=session, store=store, project_id=project_id, model_version_id=plan.model_version_id,
                            user=user, computation=computation, source=plan.source, current=current, trigger=trigger)
    return get_drift_report(session=session, project_id=project_id, report_id=report_id)


def window_drift(*, session: Session, store: ArtifactStore, project_id: int, model_version_id: int,
                 since: float | None = None, until: float | None = None, batch_ids: Sequence[str] | None = None,
                 user: str, trigger: str = "monitor") -> DriftReport:
    """Drift of a model version's scoring batches against its training dataset, stored with the window.

    The current data is the union of the sampled input rows (at most 1,000 per batch) of the
    version's accepted and warned batches recorded in [since, until) (epoch seconds; None: open),
    or of those in `batch_ids`; refused and failed batches are left out. The reference is the
    training dataset's stored reference, the training target left out. Prediction drift: the
    positive-class probability (two-class predict_proba) or the prediction, against the version's
    predictions on the training dataset's stored sample; a model that cannot be loaded here (a
    feature definition not defined in this process, a refused environment) is named in a finding
    instead. In the caller's one transaction (on SQLite it holds the write lock while files are read
    and the model scores): `window_drift_in_steps` reads and writes in two short ones.

    Raises:
        NotFound: no such model version in the project, or a batch of `batch_ids` is not one of its.
        InvalidInput: the window holds no accepted or warned batch (the message names the model,
            version and window); bad `since`/`until`/`batch_ids`/`trigger`; the version names no
            training dataset.
    """
    check_trigger(trigger)
    plan = plan_window(session=session, store=store, project_id=project_id, model_version_id=model_version_id,
                       since=since, until=until, batch_ids=batch_ids)
    current, computation = compute_window(plan, engine=cast(Engine, session.get_bind()), store=store)
    return record_window(session=session, store=store, project_id=project_id, user=user, plan=plan, current=current,
                         computation=computation, trigger=trigger)


def window_drift_in_steps(*, engine: Engine, store: ArtifactStore, project_id: int, model_version_id: int,
                          since: float | None = None, until: float | None = None,
                          batch_ids: Sequence[str] | None = None, user: str, trigger: str = "monitor") -> DriftReport:
    """`window_drift` in two short transactions of its own (the reads, then the report's rows), the
    files read, the model scored and the verdicts computed between them.

    Raises:
        as window_drift.
    """
    check_trigger(trigger)
    with session_scope(engine) as session:
        plan = plan_window(session=session, store=store, project_id=project_id, model_version_id=model_version_id,
                           since=since, until=until, batch_ids=batch_ids)
    current, computation = compute_window(plan, engine=engine, store=store)
    with session_scope(engine) as session:
        return record_window(session=session, store=store, project_id=project_id, user=user, plan=plan,
                             current=current, computation=computation, trigger=trigger)


def check_trigger(trigger: str) -> None:
    """Raises InvalidInput unless `trigger` is one of TRIGGERS."""
    if trigger not in TRIGGERS:
        raise InvalidInput(f"trigger {trigger!r} is not one of {', '.join(TRIGGERS)}")


def _window_words(since: float | None, until: float | None) -> str:
    from datetime import UTC, datetime

    def at(ts: float) -> str:
        return datetime.fromtimestamp(ts, tz=UTC).strftime("%Y-%m-%d %H:%M:%S UTC")

    if since is None and until is None:
        return "any window (it has none)"
    if until is None:
        return f"the window since {at(since or 0)}"
    if since is None:
        return f"the window before {at(until)}"
    return f"the window {at(since)} to {at(until)}"
