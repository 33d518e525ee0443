"""Cached reads and the two writes of the Monitoring page, over services.monitoring.monitoring_views,
alerts and drift (console/data.py holds the other pages' reads; this page's live here).

Monitoring evidence (drift reports, batches, outcomes) is data, not governance: not all of it is
audited, so each read is keyed by the store's stamp (alerts fired and acknowledged are audited) and
carries the Data page's short time-to-live (data.RUNS_TTL_S) as well. A scoring window ends at the
current minute, so the same window is one cache entry for a minute, not a new read per rerun.
"""
from __future__ import annotations

import time
from typing import Any

import streamlit as st

from mlops_nb.console import data
from mlops_nb.console.data import RUNS_TTL_S, session, stamp, store_url

DAY_S = 86_400


@st.cache_data(show_spinner=False, ttl=RUNS_TTL_S)
def _monitored(url: str, stamp_: int, project_id: int) -> list[dict[str, Any]]:
    from mlops_nb.services.monitoring import monitoring_views

    with session() as s:
        return monitoring_views.monitored_models(session=s, project_id=project_id)


def monitored_models(project_id: int) -> list[dict[str, Any]]:
    """The project's production, then staging, model versions: [{"model", "version", "stage",
    "model_version_id"}] (monitoring_views.monitored_models)."""
    return _monitored(store_url(), stamp(), project_id)


@st.cache_data(show_spinner=False, ttl=RUNS_TTL_S)
def _drift_timeline(url: str, stamp_: int, project_id: int, model: str) -> dict[str, Any]:
    from mlops_nb.services.monitoring import monitoring_views

    with session() as s:
        return monitoring_views.drift_timeline(session=s, project_id=project_id, model=model)


def drift_timeline(project_id: int, model: str) -> dict[str, Any]:
    """{"reports": [...], "columns": [...]}: `model`'s newest drift reports, oldest first, and each
    column's verdict in them (monitoring_views.drift_timeline).

    Raises:
        NotFound: no such model in the project.
    """
    return _drift_timeline(store_url(), stamp(), project_id, model)


@st.cache_data(show_spinner=False, ttl=RUNS_TTL_S)
def _drift_columns(url: str, stamp_: int, project_id: int, report_id: int) -> list[dict[str, Any]]:
    from mlops_nb.services.monitoring import monitoring_views

    with session() as s:
        return monitoring_views.drift_columns(session=s, project_id=project_id, report_id=report_id)


def drift_columns(project_id: int, report_id: int) -> list[dict[str, Any]]:
    """Report `report_id`'s per-column verdicts, drifted first, with their distributions
    (monitoring_views.drift_columns).

    Raises:
        NotFound: no such report in the project.
    """
    return _drift_columns(store_url(), stamp(), project_id, report_id)


@st.cache_data(show_spinner=False, ttl=RUNS_TTL_S)
def _scoring_days(url: str, stamp_: int, project_id: int, model: str, days: int) -> dict[str, Any]:
    from mlops_nb.services.monitoring import monitoring_views

    with session() as s:
        newest = monitoring_views.latest_batch_at(session=s, project_id=project_id, model=model)
        until = newest + 1.0 if newest is not None else float(int(time.time() // 60 * 60))
        rows = monitoring_views.scoring_days(session=s, project_id=project_id, model=model,
                                             since=until - days * DAY_S, until=until)
        return {"days": rows, "until": newest}


def scoring_days(project_id: int, model: str, days: int) -> dict[str, Any]:
    """`model`'s scoring batches of the `days` days up to its newest batch (up to now before any),
    summed per UTC day (monitoring_views.scoring_days): {"days": [...], "until": the newest batch's
    time (epoch s) or None}. Ending at the newest batch, a model that stopped scoring, or history
    replayed with `recorded_at`, still shows its last months.

    Raises:
        NotFound: no such model in the project.
    """
    return _scoring_days(store_url(), stamp(), project_id, model, days)


@st.cache_data(show_spinner=False, ttl=RUNS_TTL_S)
def _watch(url: str, stamp_: int, project_id: int, model: str) -> dict[str, Any]:
    from mlops_nb.services.monitoring import alerts, monitoring_views

    with session() as s:
        found = alerts.list_alerts(session=s, project_id=project_id, model=model, limit=200)
        return {"alerts": sorted(found, key=lambda a: a.status != "open"),  # stable: newest first within each
                "rules": monitoring_views.alert_rules(session=s, project_id=project_id, model=model),
                "sla_ms": monitoring_views.latency_sla(session=s, project_id=project_id, model=model),
                "outcomes": monitoring_views.outcome_timeline(session=s, project_id=project_id, model=model),
                "retraining": monitoring_views.retraining_history(session=s, project_id=project_id, model=model)}


def watch(project_id: int, model: str) -> dict[str, Any]:
    """What watches `model` and what it found: {"alerts": [AlertPublic], open first, newest first
    within each, at most 200; "rules": the alert rules over it; "sla_ms": its latency SLA or None;
    "outcomes": its outcomes, oldest first; "retraining": its retraining runs, newest first}.

    Raises:
        NotFound: no such model in the project.
    """
    return _watch(store_url(), stamp(), project_id, model)


def acknowledge(actor: Any, project_id: int, alert_id: int, note: str) -> Any:
    """Acknowledge alert `alert_id` as `actor` with `note` (alerts.acknowledge_alert); the AlertPublic.

    Raises:
        PermissionDenied: `actor` is not a proven user.
        NotFound: no such alert in the project.
    """
    from mlops_nb.services.monitoring import alerts

    return data.write(lambda s: alerts.acknowledge_alert(session=s, project_id=project_id, actor=actor,
                                                         alert_id=alert_id, note=note))


def evidently_html(project_id: int, report_id: int) -> bytes:
    """evidently's own HTML report of drift report `report_id`: built on a bounded sample and stored
    once, then read back (drift.evidently_html); a write the first time, so it goes through data.write.

    Raises:
        NotFound: no such report in the project.
    """
    from mlops_nb.services.monitoring import drift

    html: bytes = data.write(lambda s: drift.evidently_html(session=s, store=data.artifacts(),
                                                            project_id=project_id, report_id=report_id))
    return html


def executed_notebook(project_id: int, retraining_run_id: int) -> bytes:
    """The executed notebook (.ipynb bytes) of retraining run `retraining_run_id`, the run's evidence
    (retraining.executed_notebook); not cached: kilobytes, read when the reviewer picks the run.

    Raises:
        NotFound: no such run in the project, or it kept no notebook.
        IntegrityFailure: the stored file was changed after it was recorded.
    """
    from mlops_nb.services.monitoring import retraining

    with session() as s:
        return retraining.executed_notebook(session=s, store=data.artifacts(), project_id=project_id,
                                            retraining_run_id=retraining_run_id)
