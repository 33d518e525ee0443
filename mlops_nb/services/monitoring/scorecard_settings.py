"""A project's scorecard thresholds and windows: DEFAULT_SETTINGS (scorecard_results) with what the
project set on top.

    settings = get_settings(session=s, project_id=1)   # {"monitoring_window_days": 30, ...}
"""
from __future__ import annotations

from sqlmodel import Session

from mlops_nb.services.monitoring.scorecard_results import DEFAULT_SETTINGS
from mlops_nb.store.models.scorecards import ScorecardSetting


def get_settings(*, session: Session, project_id: int) -> dict[str, float]:
    """The project's settings: every key of DEFAULT_SETTINGS, the project's value where it set one
    (days and counts, numbers)."""
    row = session.get(ScorecardSetting, project_id)
    stored = row.settings if row is not None else {}
    return {key: float(stored.get(key, default)) for key, default in DEFAULT_SETTINGS.items()}
