"""Drift reports: current data against a training reference, at evidently's default-preset verdicts,
stored against a model's version so drift can be followed over time.

SPEC §3-§4 (Drift; `drift_report`, `DriftReport`, `mlops monitor run`). The verdicts come from
services.monitoring.drift_rules (evidently 0.7.23's rules, ../shared/anchors/drift/RULES.md, on
the reference profile stored when the training dataset was logged), never from evidently's own run:
that is built on a bounded sample only when someone asks to see it (`evidently_html`).

- `drift_report`: a frame against a frame or a dataset version. With `model`, the report is stored
  against the model's production version (the reference defaults to that version's training
  dataset, and its training target is left out); without, nothing is stored (`id` None).
- `window_drift`: a model version's scoring batches (accepted and warned; refused and failed ones
  are left out) against its training dataset, with prediction drift, stored with the window.
- `get_drift_report`, `drift_history`, `evidently_html` read them back.

    report = drift_report(session=s, store=store, project_id=1, user="dana", reference=train, current=batch)
    report.drifted_columns, report.share, report.dataset_drift
    report = window_drift(session=s, store=store, project_id=1, model_version_id=7, since=t0, user="monitor")
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from sqlmodel import Session

from mlops_nb.services.data.datasets import check_frame
from mlops_nb.services.errors import InvalidInput, NotFound
from mlops_nb.services.monitoring.drift_evidently import EVIDENTLY_ROWS, evidently_html
from mlops_nb.services.monitoring.drift_reference import ReferenceProfile, reference_profile
from mlops_nb.services.monitoring.drift_results import DriftReport
from mlops_nb.services.monitoring.drift_rules import DriftComputation, compute_drift
from mlops_nb.services.monitoring.drift_store import (
    ReportSource,
    check_exclude,
    dataset_label,
    drift_history,
    get_drift_report,
    reference_for,
    staged_reference,
    store_reference,
)
from mlops_nb.services.monitoring.drift_window import (
    prediction_column,
    reference_predictions,
    window_batches,
    window_frame,
)
from mlops_nb.services.registry.lookups import get_model, production_version_row
from mlops_nb.store.artifacts import ArtifactStore
from mlops_nb.store.models import DatasetVersion, ModelVersion, RegisteredModel

if TYPE_CHECKING:
    pass

TRIGGERS = ("manual", "monitor")
DRIFT_SHARE = 0.5  # evidently's preset: dataset drift when at least half the tested columns drifted


def _unstored(computation: DriftComputation, source: ReportSource, current_rows: int, user: str) -> DriftReport:
    """The report of a computation that is not stored (no model): the same record, `id` None."""
    import time

    rows = [c.to_dict() for c in computation.columns]
    return DriftReport(id=None, model=None, version=None, reference=source.reference, current=source.current,
                       reference_rows=max((c.reference_rows for c in computation.columns), default=0),
                       current_rows=current_rows, tested=computation.tested,
                       drifted_columns=[c.column for c in computation.columns if c.drift and c.role == "feature"],
                       share=computation.share, drift_share=computation.drift_share,
                       dataset_drift=computation.dataset_drift, prediction_drift=computation.prediction_drift,
                       findings=list(computation.findings), rows=rows, trigger="manual", created_by=user,
                       created_at=time.time())


def _check_trigger(trigger: str) -> None:
    if trigger not in TRIGGERS:
        raise InvalidInput(f"trigger {trigger!r} is not one of {', '.join(TRIGGERS)}")


def drift_report(*, session: Session | None, store: ArtifactStore | None, project_id: int | None, user: str,
                 reference: Any, current: Any, model: str | None = None, exclude: Sequence[str] | None = (),
                 trigger: str = "manual") -> DriftReport:
    """Drift of `current` (a DataFrame) against `reference`: per column evidently's default-preset
    test, statistic (p-value or distance), threshold and verdict, and the share of drifted columns
    (dataset drift when it is at least 0.5).

    `reference`: a DataFrame, a ReferenceProfile, or a dataset version id (its stored reference); None
    with `model`: the training dataset of the model's production version. With `model` (a model
    name), the report is stored against its production version, that version's training target left
    out; without, nothing is stored and `session`/`store` may be None for a frame reference.
    `exclude`: columns left out (ids, a target the current data still holds).

    Raises:
        InvalidInput: `current` is not a non-empty DataFrame with unique column names; `reference` is
            none of the above; `exclude` is not a list of names or names a column neither side holds.
        NotFound: no such model, it has no production version, or no such dataset version.
    """
    _check_trigger(trigger)
    frame = check_frame(current, "current")
    excluded = check_exclude(exclude)
    row: ModelVersion | None = None
    if model is not None:
        if session is None or project_id is None:
            raise InvalidInput("a report stored against a model needs an open store; call mlops.init() first")
        registered = get_model(session=session, project_id=project_id, name=model)
        assert registered.id is not None  # a stored row
        row = production_version_row(session=session, model_id=registered.id)
        if row is None:
            raise NotFound(f"model {model!r} has no version in production; a drift report is stored against the "
                           "production version (promote one, or leave out model= for a report not stored)")
        if reference is None:
            if row.dataset_version_id is None:
                raise InvalidInput(f"model {model!r} v{row.version} names no training dataset; give reference=")
            reference = row.dataset_version_id
    profile, source = _reference(session, store, project_id, reference)
    unknown = [n for n in excluded if n not in frame.columns and n not in profile.columns]
    if unknown:
        raise InvalidInput(f"exclude names columns neither the reference nor the current data holds: "
                           f"{', '.join(unknown)}")
    if row is not None and row.target:
        excluded.append(row.target)
    computation = compute_drift(profile, frame, exclude=excluded, drift_share=DRIFT_SHARE)
    if row is None:
        return _unstored(computation, source, len(frame), user)
    assert session is not None and store is not None and project_id is not None and row.id is not None
    from mlops_nb.services.monitoring.drift_store import save_report

    report_id = save_report(session=session, store=store, project_id=project_id, model_version_id=row.id, user=user,
                            computation=computation, source=source, current=frame, trigger=trigger)
    return get_drift_report(session=session, project_id=project_id, report_id=report_id)


def _reference(session: Session | None, store: ArtifactStore | None, project_id: int | None,
               reference: Any) -> tuple[ReferenceProfile, ReportSource]:
    """The reference's profile and how the report names it.

    Raises:
        InvalidInput: not a DataFrame, ReferenceProfile or dataset version id.
        NotFound: no such dataset version.
    """
    import pandas as pd

    if isinstance(reference, pd.DataFrame):
        return reference_profile(check_frame(reference, "reference"), source="frame"), ReportSource("frame", "frame")
    if isinstance(reference, ReferenceProfile):
        return reference, ReportSource(reference.source, "frame")
    if isinstance(reference, int) and not isinstance(reference, bool):
        if session is None or store is None:
            raise InvalidInput("a dataset reference needs an open store; call mlops.init() first")
        version = session.get(DatasetVersion, reference)
        if version is None or (project_id is not None and version.project_id != project_id):
            raise NotFound(f"dataset version {reference} does not exist in this project")
        profile = reference_for(session=session, store=store, dataset_version_id=reference)
        return profile, ReportSource(dataset_label(session, reference, profile.source), "frame",
                                     reference_dataset_version_id=reference)
    raise InvalidInput(f"reference must be a DataFrame, a dataset name or a DatasetVersion, "
                       f"got {type(reference).__name__}")


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
    instead.

    Raises:
        NotFound: no such model version in the project, or a batch of `batch_ids` is not one of its.
        InvalidInput: the window holds no accepted or warned batch (the message names the model,
            version and window); bad `since`/`until`/`batch_ids`; the version names no training dataset.
    """
    from mlops_nb.services.data.results import Finding
    from mlops_nb.services.errors import MlopsError
    from mlops_nb.services.monitoring.drift_store import save_report

    _check_trigger(trigger)
    row = session.get(ModelVersion, model_version_id) if isinstance(model_version_id, int) else None
    registered = session.get(RegisteredModel, row.model_id) if row is not None else None
    if row is None or registered is None or registered.project_id != project_id:
        raise NotFound(f"model version id {model_version_id!r} does not exist in this project")
    assert row.id is not None
    label = f"model {registered.name!r} v{row.version}"
    if row.dataset_version_id is None:
        raise InvalidInput(f"{label} names no training dataset, so its batches have no reference to drift from")
    batches = window_batches(session=session, model_version_id=row.id, since=since, until=until, batch_ids=batch_ids)
    if not batches:
        window = f"batches {', '.join(batch_ids)}" if batch_ids is not None else _window_words(since, until)
        raise InvalidInput(f"{label} has no accepted or warned scoring batch in {window}; nothing to measure "
                           "drift on (refused and failed batches are left out)")
    profile = reference_for(session=session, store=store, dataset_version_id=row.dataset_version_id)
    target = row.target
    inputs = [n for n in profile.columns if n != target]
    predicted = prediction_column(batches)
    findings: list[Finding] = []
    if predicted is not None:
        try:
            column = reference_predictions(session=session, store=store, project_id=project_id, model=registered.name,
                                           version=row.version, column=predicted,
                                           dataset_version_id=row.dataset_version_id, target=target)
            profile = ReferenceProfile(rows=profile.rows, source=profile.source,
                                       columns={**profile.columns, predicted: column})
        except MlopsError as err:
            findings.append(Finding(predicted, "prediction_reference", "warning",
                                    f"prediction drift not measured: {err}"))
            predicted = None
    dtypes = {name: ref.dtype for name, ref in profile.columns.items()}
    current = window_frame(session=session, store=store, batches=batches,
                           columns=inputs + ([predicted] if predicted else []), dtypes=dtypes)
    computation = compute_drift(profile, current, exclude=[target] if target else [], prediction=predicted,
                                drift_share=DRIFT_SHARE)
    computation.findings = findings + computation.findings
    times = [b.created_at for b in batches]
    source = ReportSource(dataset_label(session, row.dataset_version_id, profile.source),
                          f"{len(batches)} batch{'es' if len(batches) != 1 else ''}",
                          reference_dataset_version_id=row.dataset_version_id,
                          window_start=since if since is not None else min(times),
                          window_end=until if until is not None else max(times), batches=len(batches))
    report_id = save_report(session=session, store=store, project_id=project_id, model_version_id=row.id, user=user,
                            computation=computation, source=source, current=current, trigger=trigger)
    return get_drift_report(session=session, project_id=project_id, report_id=report_id)


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


__all__ = ["DRIFT_SHARE", "EVIDENTLY_ROWS", "TRIGGERS", "DriftReport", "drift_history", "drift_report",
           "evidently_html", "get_drift_report", "reference_for", "staged_reference", "store_reference",
           "window_drift"]
