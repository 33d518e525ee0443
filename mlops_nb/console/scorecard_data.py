"""Cached reads and the writes of the Scorecards page, over services.monitoring's scorecards,
attestations, scorecard_history and scorecard_settings (console/data.py holds the other pages' reads).

A scorecard is computed from the store on every read, never stored; it counts evidence that is not
audited (runs, scoring batches, drift reports) and windows that end now. So the portfolio is keyed by
the store's stamp (an attestation, a promotion, a policy changes it at once) and kept at most
SCORECARD_TTL_S seconds, so a run or batch logged from a notebook shows within that time. The page
reads the portfolio once per rerun: every project's card with its models' cards, in one call to
`scorecards.portfolio` (a fixed number of queries however many projects and models).
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import streamlit as st
from sqlmodel import Session

from mlops_nb.console import data
from mlops_nb.console.data import session, stamp, store_url

T = TypeVar("T")
SCORECARD_TTL_S = 10  # seconds a computed portfolio is served before it is computed again


def read_portfolio(*, session: Session, as_of: float | None = None) -> list[Any]:
    """Every project's Scorecard (by project name), each with its models' cards in `.models`
    (scorecards.portfolio): the page's one heavy read, uncached, for the benchmark to time."""
    from mlops_nb.services.monitoring import scorecards

    return scorecards.portfolio(session=session, as_of=as_of)


# a resource, not data: st.cache_data would unpickle a copy on every rerun (a second for 500 models'
# cards); every session shares these objects, and no page changes them
@st.cache_resource(show_spinner=False, ttl=SCORECARD_TTL_S, max_entries=4)
def _portfolio(url: str, stamp_: int) -> list[Any]:
    with session() as s:
        return read_portfolio(session=s)


def _write(action: Callable[[Session], T]) -> T:
    """data.write (one transaction, cached reads cleared), and the cached portfolio cleared too."""
    try:
        return data.write(action)
    finally:
        _portfolio.clear()


def portfolio() -> list[Any]:
    """Every project's Scorecard, by project name, each with `.models` (read_portfolio), cached and
    shared: read them, never change them."""
    return _portfolio(store_url(), stamp())


@st.cache_data(show_spinner=False, ttl=SCORECARD_TTL_S)
def _attestations(url: str, stamp_: int, project_id: int, model: str | None, everything: bool) -> list[Any]:
    from mlops_nb.services.monitoring import attestations

    with session() as s:
        return attestations.list_attestations(session=s, project_id=project_id, model=model,
                                              include_inactive=everything)


def attestations(project_id: int, model: str | None, *, include_inactive: bool = False) -> list[Any]:
    """The attestations of the project (`model` None) or of one model (AttestationPublic: id, model,
    test, title, note, by, role, at, expires_at, withdrawn_by, withdrawn_at, active), the active ones
    only unless `include_inactive` (attestations.list_attestations).

    Raises:
        NotFound: no such model in the project.
    """
    return _attestations(store_url(), stamp(), project_id, model, include_inactive)


def attest(actor: Any, project_id: int, test: str, note: str, model: str | None, days: float | None) -> Any:
    """Attest ML Test Score test `test` ("data.2") as done by hand, as `actor`, for `model` (None: the
    whole project), for `days` days (None: the project's default); the AttestationPublic.

    Raises:
        PermissionDenied: `actor` may not attest.
        InvalidInput: an unknown test, an empty or too long note, days out of bounds.
        NotFound: no such model in the project.
    """
    from mlops_nb.services.monitoring import attestations

    return _write(lambda s: attestations.attest(session=s, actor=actor, project_id=project_id, test=test,
                                                    note=note, model=model, days=days))


def withdraw(actor: Any, project_id: int, attestation_id: int) -> Any:
    """Withdraw attestation `attestation_id` as `actor`; the AttestationPublic.

    Raises:
        PermissionDenied: `actor` is neither its attester nor an ml_engineer or admin.
        NotFound: no such attestation in the project.
        Conflict: it was withdrawn already.
    """
    from mlops_nb.services.monitoring import attestations

    return _write(lambda s: attestations.withdraw_attestation(session=s, actor=actor, project_id=project_id,
                                                                  attestation_id=attestation_id))


@st.cache_data(show_spinner=False, ttl=SCORECARD_TTL_S)
def _history(url: str, stamp_: int, project_id: int, model: str | None) -> list[dict[str, Any]]:
    from mlops_nb.services.monitoring import scorecard_history

    with session() as s:
        return scorecard_history.scorecard_history(session=s, project_id=project_id, model=model)


def history(project_id: int, model: str | None) -> list[dict[str, Any]]:
    """The snapshots of the project's card (`model` None) or of one model's, oldest first: [{"taken_at",
    "as_of", "phase", "passed", "partial", "failed", "statuses", "test_score", "sections", "trigger",
    "model"}] (scorecard_history.scorecard_history; snapshots are not audited: kept SCORECARD_TTL_S).

    Raises:
        NotFound: no such model in the project.
    """
    return _history(store_url(), stamp(), project_id, model)


def take_snapshot(actor: Any, project_id: int) -> int:
    """Snapshot the project's card and its models' cards now, as `actor` (trigger "manual"); the
    number of snapshots written (scorecard_history.take_snapshots, which checks the role).

    Raises:
        PermissionDenied: `actor` is not a proven ml_engineer or admin.
    """
    from mlops_nb.services.monitoring import scorecard_history

    return _write(lambda s: scorecard_history.take_snapshots(session=s, taken_by=actor.name, trigger="manual",
                                                                 project_id=project_id, actor=actor))


@st.cache_data(show_spinner=False)
def _settings(url: str, stamp_: int, project_id: int) -> dict[str, float]:
    from mlops_nb.services.monitoring import scorecard_settings

    with session() as s:
        return scorecard_settings.get_settings(session=s, project_id=project_id)


def settings(project_id: int) -> dict[str, float]:
    """The project's scorecard thresholds and windows in force: {name: number} over DEFAULT_SETTINGS."""
    return _settings(store_url(), stamp(), project_id)


def set_settings(actor: Any, project_id: int, changes: dict[str, float]) -> dict[str, float]:
    """Change the project's settings named in `changes`, as `actor`; the settings now in force.

    Raises:
        PermissionDenied: `actor` is not a proven ml_engineer or admin.
        InvalidInput: an unknown setting or a value out of bounds; nothing is changed.
    """
    from mlops_nb.services.monitoring import scorecard_settings

    return _write(lambda s: scorecard_settings.set_settings(session=s, actor=actor, project_id=project_id,
                                                                changes=changes))
