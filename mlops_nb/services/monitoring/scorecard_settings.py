"""A project's scorecard thresholds and windows: DEFAULT_SETTINGS (scorecard_results) with what the
project set on top.

Reading them is open to all (the scorer reads them on every card); changing them needs a proven
ml_engineer or admin (permission "set_scorecard"), is checked key by key (only DEFAULT_SETTINGS'
keys; finite numbers within sane bounds) and is audited with the settings before and after.

    settings = get_settings(session=s, project_id=1)   # {"monitoring_window_days": 30, ...}
    set_settings(session=s, actor=erin, project_id=1, changes={"drift_max_age_days": 14})
"""
from __future__ import annotations

import math
import numbers
import time
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from mlops_nb.services.errors import Conflict, InvalidInput, NotFound
from mlops_nb.services.governance import audit
from mlops_nb.services.identity import permissions
from mlops_nb.services.identity.auth import Identity
from mlops_nb.services.monitoring.scorecard_results import DEFAULT_SETTINGS
from mlops_nb.store.models import Project
from mlops_nb.store.models.scorecards import ScorecardSetting

# (lowest, highest, whole numbers only) of each setting; days are at most ten years
BOUNDS: dict[str, tuple[float, float, bool]] = {
    "monitoring_window_days": (1, 3650, False),
    "drift_max_age_days": (1, 3650, False),
    "retraining_window_days": (1, 3650, False),
    "sweep_min_runs": (1, 1000, True),
    "attestation_days": (1, 3650, False),
    "attestation_max_days": (1, 3650, False),
}


def get_settings(*, session: Session, project_id: int) -> dict[str, float]:
    """The project's settings: every key of DEFAULT_SETTINGS, the project's value where it set one
    (days and counts, numbers)."""
    row = session.get(ScorecardSetting, project_id)
    stored = row.settings if row is not None else {}
    return {key: float(stored.get(key, default)) for key, default in DEFAULT_SETTINGS.items()}


def check_setting(key: Any, value: Any) -> float:
    """`value` as the float setting `key` stores.

    Raises:
        InvalidInput: `key` is not a setting (the message lists them), or `value` is not a finite
            number within the setting's bounds (a whole number for sweep_min_runs).
    """
    if key not in BOUNDS:
        raise InvalidInput(f"unknown scorecard setting {key!r}; settings are {', '.join(DEFAULT_SETTINGS)}")
    low, high, whole = BOUNDS[key]
    kind = "a whole number" if whole else "a number"
    number = float(value) if isinstance(value, numbers.Real) and not isinstance(value, bool) else math.nan
    if not math.isfinite(number) or not low <= number <= high or (whole and not number.is_integer()):
        raise InvalidInput(f"scorecard setting {key} must be {kind} from {low:g} to {high:g}, got {value!r}")
    return number


def set_settings(*, session: Session, actor: Identity, project_id: int, changes: dict[str, Any]) -> dict[str, float]:
    """Change the project's settings named in `changes` ({key: number}); the others keep their value.
    Audited as "scorecard.settings" with the settings in force before and after. Returns the
    settings now in force (as get_settings).

    >>> set_settings(session=s, actor=erin, project_id=1, changes={"drift_max_age_days": 14, "sweep_min_runs": 5})

    Raises:
        PermissionDenied: `actor` is not a proven ml_engineer or admin.
        InvalidInput: no changes, an unknown key, a value out of its bounds, or attestation_days
            over attestation_max_days; nothing is changed.
        NotFound: no such project.
        Conflict: another writer created the project's settings at the same moment (retry).
    """
    who = permissions.authorize(session=session, actor=actor, action="set_scorecard")
    if not isinstance(changes, dict) or not changes:
        raise InvalidInput("give at least one setting to change, e.g. {'drift_max_age_days': 14}; settings are "
                           + ", ".join(DEFAULT_SETTINGS))
    checked = {key: check_setting(key, value) for key, value in changes.items()}
    if session.get(Project, project_id) is None:
        raise NotFound(f"project {project_id} does not exist")
    before = get_settings(session=session, project_id=project_id)
    after = {**before, **checked}
    if after["attestation_days"] > after["attestation_max_days"]:
        raise InvalidInput(f"attestation_days ({after['attestation_days']:g}) must be at most attestation_max_days "
                           f"({after['attestation_max_days']:g}); change both together")
    row = session.get(ScorecardSetting, project_id)
    if row is None:
        row = ScorecardSetting(project_id=project_id, settings={}, updated_by=who.name, updated_at=0.0)
    row.settings = {**row.settings, **checked}  # a new dict: the JSON column sees the change
    row.updated_by, row.updated_at = who.name, time.time()
    try:
        with session.begin_nested():  # another writer may create the project's row at this moment
            session.add(row)
    except IntegrityError as err:
        raise Conflict("the scorecard settings were changed by someone else at the same moment; nothing was "
                       "changed - read them again and retry") from err
    audit.record(session=session, actor=who.name, action="scorecard.settings", entity="project",
                 entity_id=project_id, before=before, after=after)
    return get_settings(session=session, project_id=project_id)
