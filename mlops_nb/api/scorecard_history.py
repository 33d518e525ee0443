"""The scorecard history and settings verbs of the Python API: take a snapshot of the scorecards
for the trend, read a card's history, read and change the project's scorecard thresholds and
windows (issue 12 items 1 and 3).

Each opens one transaction on the context's store and calls services.monitoring (scorecard_history,
scorecard_settings). Snapshots and settings changes need a proven ml_engineer or admin.
"""
from __future__ import annotations

from typing import Any

from mlops_nb.api.boundary import store_errors
from mlops_nb.api.connect import get_context
from mlops_nb.display import present
from mlops_nb.services.monitoring.scorecard_tables import ScorecardHistory
from mlops_nb.store.db import session_scope


def _project_id(session: Any, project: str | None, context: Any) -> tuple[int, str]:
    """(id, name) of `project`, or of the context's project when None."""
    if project is None:
        return context.project_id, context.project
    from mlops_nb.services import tracking

    row = tracking.get_project(session=session, name=project)
    assert row.id is not None  # a row read from the store
    return row.id, row.name


@store_errors
def snapshot_scorecards(project: str | None = None) -> int:
    """Store a snapshot of the scorecards of `project` (default: this project): its card and each
    of its models' cards, for the trend. Returns the number of snapshots written.

    >>> mlops.snapshot_scorecards()
    3

    Raises:
        PermissionDenied: not a proven ml_engineer or admin.
        NotFound: no such project.
    """
    from mlops_nb.services.monitoring.scorecard_history import take_snapshots

    context = get_context()
    actor = context.actor()
    with session_scope(context.engine) as session:
        project_id, _ = _project_id(session, project, context)
        return take_snapshots(session=session, taken_by=actor.name, trigger="manual", project_id=project_id,
                              actor=actor)


@store_errors
def scorecard_history(*, project: str | None = None, model: str | None = None) -> ScorecardHistory:
    """The snapshots of `project`'s card (default: this project), or of `model`'s card, oldest
    first (the newest 2,000); `.to_frame()` for a trend plot.

    >>> mlops.scorecard_history(model="credit-risk").to_frame().plot(x="taken_at", y="phase")

    Raises:
        NotFound: no such project, or no such model in it.
    """
    from mlops_nb.services.monitoring import scorecard_history as history

    context = get_context()
    with session_scope(context.engine) as session:
        project_id, name = _project_id(session, project, context)
        rows = history.scorecard_history(session=session, project_id=project_id, model=model)
    return present(ScorecardHistory(project=name, model=model, rows=rows))


@store_errors
def scorecard_settings() -> dict[str, float]:
    """This project's scorecard thresholds and windows: the defaults with what the project set.

    >>> mlops.scorecard_settings()["drift_max_age_days"]
    7.0
    """
    from mlops_nb.services.monitoring.scorecard_settings import get_settings

    context = get_context()
    with session_scope(context.engine) as session:
        return get_settings(session=session, project_id=context.project_id)


@store_errors
def set_scorecard_settings(**changes: float) -> dict[str, float]:
    """Change this project's scorecard thresholds and windows; returns the settings now in force.
    Audited with before and after.

    >>> mlops.set_scorecard_settings(drift_max_age_days=14, sweep_min_runs=5)

    Raises:
        PermissionDenied: not a proven ml_engineer or admin.
        InvalidInput: no setting given, an unknown one, or a value out of its bounds (days 1-3650,
            sweep_min_runs a whole number 1-1000, attestation_days at most attestation_max_days).
    """
    from mlops_nb.services.monitoring.scorecard_settings import set_settings

    context = get_context()
    with session_scope(context.engine) as session:
        return set_settings(session=session, actor=context.actor(), project_id=context.project_id, changes=changes)
