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

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlmodel import Session

from mlops_nb.services.data.datasets import check_frame
from mlops_nb.services.errors import InvalidInput, NotFound
from mlops_nb.services.monitoring.drift_evidently import EVIDENTLY_ROWS, evidently_html, evidently_html_in_steps
from mlops_nb.services.monitoring.drift_reference import ReferenceProfile, reference_profile
from mlops_nb.services.monitoring.drift_results import DRIFT_SHARE, TRIGGERS, DriftReport
from mlops_nb.services.monitoring.drift_rules import DriftComputation, compute_drift
from mlops_nb.services.monitoring.drift_store import (
    ReportSource,
    check_exclude,
    dataset_label,
    drift_history,
    get_drift_report,
    reference_for,
    reference_rows,
    save_report,
    staged_reference,
    store_reference,
)
from mlops_nb.services.monitoring.drift_window import check_trigger, window_drift, window_drift_in_steps
from mlops_nb.services.registry.lookups import get_model, production_version_row
from mlops_nb.store.artifacts import ArtifactStore
from mlops_nb.store.models import DatasetVersion, ModelVersion

if TYPE_CHECKING:
    import pandas as pd

NO_ROWS = "drift needs at least one row"  # the advice after "current has no rows; " (check_frame)


def _unstored(computation: DriftComputation, source: ReportSource, current_rows: int, user: str) -> DriftReport:
    """The report of a computation that is not stored (no model): the same record, `id` None."""
    rows = [c.to_dict() for c in computation.columns]
    return DriftReport(id=None, model=None, version=None, reference=source.reference, current=source.current,
                       reference_rows=reference_rows(computation, source), current_rows=current_rows, tested=computation.tested,
                       drifted_columns=[c.column for c in computation.columns if c.drift and c.role == "feature"],
                       share=computation.share, drift_share=computation.drift_share,
                       dataset_drift=computation.dataset_drift, prediction_drift=computation.prediction_drift,
                       findings=list(computation.findings), rows=rows, trigger="manual", created_by=user,
                       created_at=time.time())


@dataclass
class ReportPlan:
    """What a drift report needs from the store, read before the (possibly long) computation: the
    reference's profile and how to name it, the columns left out (the user's and the model's
    target), and the model version the report is stored against (None: not stored)."""

    profile: ReferenceProfile
    source: ReportSource
    exclude: list[str]
    model_version_id: int | None = None


def plan_report(*, session: Session | None, store: ArtifactStore | None, project_id: int | None, reference: Any,
                model: str | None = None, exclude: Sequence[str] | None = (), columns: Sequence[str] = ()) -> ReportPlan:
    """The reads of `drift_report`: the production version of `model` (when given), the reference's
    profile (a dataset's stored reference, or a frame profiled now), and the columns left out;
    `columns` (the current data's) lets a bad `exclude` be named.

    Raises:
        InvalidInput, NotFound: as drift_report.
    """
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
    unknown = [n for n in excluded if n not in columns and n not in profile.columns]
    if unknown:
        raise InvalidInput(f"exclude names columns neither the reference nor the current data holds: "
                           f"{', '.join(unknown)}")
    if row is not None and row.target:
        excluded.append(row.target)
    return ReportPlan(profile=profile, source=source, exclude=excluded,
                      model_version_id=row.id if row is not None else None)


def compute_report(plan: ReportPlan, current: pd.DataFrame) -> DriftComputation:
    """The verdicts of `current` against the plan's reference (drift_rules.compute_drift; no store).

    Raises:
        InvalidInput: as compute_drift.
    """
    return compute_drift(plan.profile, current, exclude=plan.exclude, drift_share=DRIFT_SHARE)


def record_report(*, session: Session | None, store: ArtifactStore | None, project_id: int | None, user: str,
                  plan: ReportPlan, computation: DriftComputation, current: pd.DataFrame,
                  trigger: str = "manual") -> DriftReport:
    """The report of `computation`: stored against the plan's model version (rows, the current data's
    bounded sample) and read back, or, without one, returned unstored (`id` None).

    Raises:
        InvalidInput: a bad trigger, or the artifact store cannot be written (nothing is stored).
    """
    check_trigger(trigger)
    if plan.model_version_id is None:
        return _unstored(computation, plan.source, len(current), user)
    assert session is not None and store is not None and project_id is not None
    report_id = save_report(session=session, store=store, project_id=project_id, model_version_id=plan.model_version_id,
                            user=user, computation=computation, source=plan.source, current=current, trigger=trigger)
    return get_drift_report(session=session, project_id=project_id, report_id=report_id)


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
    `exclude`: columns left out (ids, a target the current data still holds). In one transaction;
    the Python API runs the same three steps (plan_report, compute_report, record_report) in two,
    so the computation on a large frame never holds SQLite's write lock.

    Raises:
        InvalidInput: `current` is not a non-empty DataFrame with unique column names; `reference` is
            none of the above; `exclude` is not a list of names or names a column neither side holds.
        NotFound: no such model, it has no production version, or no such dataset version.
    """
    check_trigger(trigger)
    frame = check_frame(current, "current", no_rows=NO_ROWS)
    plan = plan_report(session=session, store=store, project_id=project_id, reference=reference, model=model,
                       exclude=exclude, columns=list(frame.columns))
    return record_report(session=session, store=store, project_id=project_id, user=user, plan=plan,
                         computation=compute_report(plan, frame), current=frame, trigger=trigger)


def _reference(session: Session | None, store: ArtifactStore | None, project_id: int | None,
               reference: Any) -> tuple[ReferenceProfile, ReportSource]:
    """The reference's profile and how the report names it.

    Raises:
        InvalidInput: not a DataFrame, ReferenceProfile or dataset version id.
        NotFound: no such dataset version.
    """
    import pandas as pd

    if isinstance(reference, pd.DataFrame):
        profile = reference_profile(check_frame(reference, "reference", no_rows=NO_ROWS), source="frame")
        return profile, ReportSource("frame", "frame", reference_rows=profile.rows)
    if isinstance(reference, ReferenceProfile):
        return reference, ReportSource(reference.source, "frame", reference_rows=reference.rows)
    if isinstance(reference, int) and not isinstance(reference, bool):
        if session is None or store is None:
            raise InvalidInput("a dataset reference needs an open store; call mlops.init() first")
        version = session.get(DatasetVersion, reference)
        if version is None or (project_id is not None and version.project_id != project_id):
            raise NotFound(f"dataset version {reference} does not exist in this project")
        profile = reference_for(session=session, store=store, dataset_version_id=reference)
        return profile, ReportSource(dataset_label(session, reference, profile.source), "frame",
                                     reference_dataset_version_id=reference, reference_rows=profile.rows)
    raise InvalidInput(f"reference must be a DataFrame, a dataset name or a DatasetVersion, "
                       f"got {type(reference).__name__}")


__all__ = ["DRIFT_SHARE", "EVIDENTLY_ROWS", "TRIGGERS", "DriftReport", "ReportPlan", "compute_report",
           "drift_history", "drift_report", "evidently_html", "evidently_html_in_steps", "get_drift_report", "plan_report", "record_report",
           "reference_for", "staged_reference", "store_reference", "window_drift",
           "window_drift_in_steps"]
