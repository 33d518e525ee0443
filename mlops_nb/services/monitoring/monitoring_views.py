"""Reads for the console's Monitoring page: one model's monitoring evidence over time, as plain data.

What a person watching a production model reads (issue 11, item 7): the models worth watching
(production, then staging), the drift share of each stored drift report with each column's verdict
over time, the latest report's per-column table with the distributions for a drill-down, the
scoring batches summed per UTC day (prediction distribution, latency p50/p95, statuses), the latency
SLA a `latency_p95` rule sets, the outcomes logged against the predictions, the alert rules that
watch the model and its retraining runs. Alerts are read with `alerts.list_alerts`.

Every read is bounded: the newest REPORT_LIMIT reports, the newest SUMMARY_BATCHES batches of the
window asked for, the newest OUTCOME_LIMIT outcomes and RUN_LIMIT retraining runs, so a model with a
year of hourly batches opens as fast as one with a week (benchmarks/bench_monitoring_page.py).

    models = monitored_models(session=s, project_id=1)
    timeline = drift_timeline(session=s, project_id=1, model="credit-risk")
    columns = drift_columns(session=s, project_id=1, report_id=timeline["reports"][-1]["id"])
    days = scoring_days(session=s, project_id=1, model="credit-risk", since=time.time() - 90 * 86400)
"""
from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import func, or_, select
from sqlmodel import Session, col

from mlops_nb.services.errors import InvalidInput, NotFound
from mlops_nb.services.monitoring.profiles import HISTOGRAM_BINS
from mlops_nb.services.monitoring.project_batches import SUMMARY_BATCHES
from mlops_nb.services.registry.lookups import get_model
from mlops_nb.store.models import ModelVersion, Outcome, RegisteredModel, ScoringBatch
from mlops_nb.store.models.alerts import AlertRule, RetrainingRun
from mlops_nb.store.models.monitoring import DriftColumn, DriftRecord

MONITORED_STAGES = ("production", "staging")
REPORT_LIMIT = 500  # newest drift reports of a model the timeline reads (daily reports: well over a year)
OUTCOME_LIMIT = 1_000  # newest outcomes of a model the outcome timeline reads
RUN_LIMIT = 50  # newest retraining runs of a model
DAY_S = 86_400
SLA_PARAMS = ("sla_ms",)  # the key a latency_p95 rule names its SLA (ms) by (services.monitoring.rules)


def monitored_models(*, session: Session, project_id: int) -> list[dict[str, Any]]:
    """The project's model versions in production, then in staging, each by model name:
    [{"model", "version", "stage", "model_version_id"}]. Empty when none is in either stage."""
    order = {stage: i for i, stage in enumerate(MONITORED_STAGES)}
    rows = session.execute(
        select(col(RegisteredModel.name), col(ModelVersion.version), col(ModelVersion.stage), col(ModelVersion.id))
        .join(RegisteredModel, col(RegisteredModel.id) == col(ModelVersion.model_id))
        .where(col(RegisteredModel.project_id) == project_id, col(ModelVersion.stage).in_(MONITORED_STAGES))).all()
    found = [{"model": name, "version": number, "stage": stage, "model_version_id": version_id}
             for name, number, stage, version_id in rows]
    return sorted(found, key=lambda m: (order[m["stage"]], m["model"], -m["version"]))


def _versions(session: Session, project_id: int, model: str) -> dict[int, int]:
    """{model_version_id: version number} of every version of `model`. Raises NotFound (get_model)."""
    model_id = get_model(session=session, project_id=project_id, name=model).id
    return {vid: number for vid, number in session.execute(
        select(col(ModelVersion.id), col(ModelVersion.version)).where(col(ModelVersion.model_id) == model_id)).all()}


def _report_row(report: DriftRecord, version: int | None) -> dict[str, Any]:
    return {"id": report.id, "version": version, "created_at": report.created_at,
            "at": report.window_end if report.window_end is not None else report.created_at,
            "window_start": report.window_start, "window_end": report.window_end, "batches": report.batches,
            "reference": report.reference, "current": report.current, "reference_rows": report.reference_rows,
            "current_rows": report.current_rows, "tested": report.tested, "drifted": report.drifted,
            "share": report.share, "drift_share": report.drift_share, "dataset_drift": report.dataset_drift,
            "prediction_drift": report.prediction_drift, "findings": list(report.findings or []),
            "trigger": report.trigger, "html_built": report.html_artifact_id is not None}


def drift_timeline(*, session: Session, project_id: int, model: str, limit: int = REPORT_LIMIT) -> dict[str, Any]:
    """The drift reports stored for any version of `model`, the newest `limit`, oldest first, and each
    column's verdict in them: {"reports": [{"id", "version", "created_at", "at" (the window's end, else
    created_at; epoch s), "window_start", "window_end", "batches", "reference", "current",
    "reference_rows", "current_rows", "tested", "drifted", "share" (0-1), "drift_share" (the dataset
    threshold, evidently's preset 0.5), "dataset_drift", "prediction_drift" (None: not tested),
    "findings", "trigger", "html_built"}], "columns": [{"report_id", "at", "column", "role", "drift",
    "statistic", "threshold"}]}.

    Raises:
        NotFound: no model named `model` in the project.
        InvalidInput: `limit` below 1.
    """
    if limit < 1:
        raise InvalidInput("limit must be at least 1")
    versions = _versions(session, project_id, model)
    reports = list(session.execute(
        select(DriftRecord).where(col(DriftRecord.project_id) == project_id,
                                  col(DriftRecord.model_version_id).in_(list(versions)))
        .order_by(col(DriftRecord.created_at).desc(), col(DriftRecord.id).desc()).limit(limit)).scalars())
    reports.reverse()
    rows = [_report_row(r, versions.get(r.model_version_id or 0)) for r in reports]
    at = {r["id"]: r["at"] for r in rows}
    columns = []
    if at:
        found = session.execute(
            select(col(DriftColumn.report_id), col(DriftColumn.column), col(DriftColumn.role), col(DriftColumn.drift),
                   col(DriftColumn.statistic), col(DriftColumn.threshold))
            .where(col(DriftColumn.report_id).in_(list(at)))).all()
        columns = [{"report_id": rid, "at": at[rid], "column": name, "role": role, "drift": bool(drift),
                    "statistic": statistic, "threshold": threshold}
                   for rid, name, role, drift, statistic, threshold in found]
        columns.sort(key=lambda c: (c["at"], c["report_id"], c["column"]))
    return {"reports": rows, "columns": columns}


def drift_columns(*, session: Session, project_id: int, report_id: int) -> list[dict[str, Any]]:
    """Drift report `report_id`'s per-column verdicts, drifted first, then by column name:
    [{"column", "role" (feature | prediction), "type" (numerical | categorical | text), "test",
    "statistic" (p-value or distance, as the test gives it), "threshold", "drift", "reference_rows",
    "current_rows", "distribution"}]. `distribution` is the drill-down's reference against current:
    {"kind": "bins", "edges", "reference", "current"} (shares per bin) or {"kind": "categories",
    "labels", "reference", "current"} (shares per label, top 20 and "other"), or {} when not kept.

    Raises:
        NotFound: no drift report `report_id` in the project.
    """
    report = session.get(DriftRecord, report_id)
    if report is None or report.project_id != project_id:
        raise NotFound(f"drift report {report_id} does not exist in this project")
    found = session.execute(select(DriftColumn).where(col(DriftColumn.report_id) == report_id)).scalars()
    rows = [{"column": c.column, "role": c.role, "type": c.type, "test": c.test, "statistic": c.statistic,
             "threshold": c.threshold, "drift": c.drift, "reference_rows": c.reference_rows,
             "current_rows": c.current_rows, "distribution": dict(c.distribution or {})} for c in found]
    return sorted(rows, key=lambda r: (not r["drift"], r["column"]))


def _percentiles(values: list[float]) -> tuple[float | None, float | None]:
    """(p50, p95) of `values` by linear interpolation (numpy's default), (None, None) for none."""
    if not values:
        return None, None
    import numpy as np

    p50, p95 = np.percentile(np.asarray(values, dtype="float64"), [50, 95])
    return float(p50), float(p95)


def _new_day(day: int) -> dict[str, Any]:
    return {"day": dt.datetime.fromtimestamp(day * DAY_S, dt.UTC).strftime("%Y-%m-%d"), "batches": 0, "rows": 0,
            "accepted": 0, "warned": 0, "refused": 0, "failed": 0, "latencies": [], "scored_rows": 0,
            "score_sum": 0.0, "histogram": [], "class_counts": {}}


_PROFILE = col(ScoringBatch.prediction_profile)
# the parts of a batch's prediction profile a day sums, read by the database (JSON paths, on SQLite and
# PostgreSQL) rather than each profile decoded in Python: rows, nan, inf, mean, the histogram's bins, class counts
_PREDICTIONS = (_PROFILE["rows"].as_integer(), _PROFILE["nan"].as_integer(), _PROFILE["inf"].as_integer(),
                _PROFILE["mean"].as_float(),
                *(_PROFILE[("histogram", i)].as_integer() for i in range(HISTOGRAM_BINS)),
                _PROFILE["class_counts"])


def _add_predictions(day: dict[str, Any], rows: int | None, nan: int | None, inf: int | None, mean: float | None,
                     histogram: tuple[int | None, ...], class_counts: dict[str, Any] | None) -> None:
    """Sum one batch's prediction profile into its day: the rows-weighted mean, the histogram, class counts."""
    scored = (rows or 0) - (nan or 0) - (inf or 0)
    if mean is not None and scored > 0:
        day["scored_rows"] += scored
        day["score_sum"] += mean * scored
    if histogram[0] is not None:
        summed = day["histogram"] or [0] * len(histogram)
        day["histogram"] = [a + (b or 0) for a, b in zip(summed, histogram)]
    for label, count in (class_counts or {}).items():
        day["class_counts"][label] = day["class_counts"].get(label, 0) + int(count)


def latest_batch_at(*, session: Session, project_id: int, model: str) -> float | None:
    """When the newest scoring batch of any version of `model` was scored (epoch s), None before any:
    where the page's scoring window ends, so a model that stopped scoring (or history replayed with
    `recorded_at`) still shows its last months.

    Raises:
        NotFound: no model named `model` in the project.
    """
    versions = _versions(session, project_id, model)
    newest = session.execute(select(func.max(col(ScoringBatch.created_at))).where(
        col(ScoringBatch.model_version_id).in_(list(versions)))).scalar()
    return float(newest) if newest is not None else None


def scoring_days(*, session: Session, project_id: int, model: str, since: float, until: float | None = None,
                 limit: int = SUMMARY_BATCHES) -> list[dict[str, Any]]:
    """The scoring batches of every version of `model` created in [since, until) (epoch s), the newest
    `limit`, summed per UTC day, oldest first: [{"day" ("YYYY-MM-DD"), "batches", "rows", "accepted",
    "warned", "refused", "failed" (batch counts), "latency_p50_ms", "latency_p95_ms" (over the day's
    batches' latencies, linear interpolation; None without timings), "mean_prediction" (the rows-weighted
    mean of the batches' mean prediction: the positive-class probability, or a regressor's value; None
    without one), "histogram" (summed counts over prediction_profile's ten bins of [0, 1]; [] without),
    "class_counts" ({class: rows} of predict batches)}]. A refused batch counts in its status and
    rows only: it was not scored, so the scorer recorded no latency and no predictions for it.

    Raises:
        NotFound: no model named `model` in the project.
        InvalidInput: `limit` below 1, or `until` not after `since`.
    """
    if limit < 1:
        raise InvalidInput("limit must be at least 1")
    if until is not None and until <= since:
        raise InvalidInput(f"the window's end ({until}) must be after its start ({since})")
    versions = _versions(session, project_id, model)
    query = (select(col(ScoringBatch.created_at), col(ScoringBatch.status), col(ScoringBatch.rows),
                    col(ScoringBatch.latency_ms), *_PREDICTIONS)
             .where(col(ScoringBatch.model_version_id).in_(list(versions)), col(ScoringBatch.created_at) >= since))
    if until is not None:
        query = query.where(col(ScoringBatch.created_at) < until)
    found = session.execute(query.order_by(col(ScoringBatch.created_at).desc()).limit(limit)).all()
    days: dict[int, dict[str, Any]] = {}
    for created_at, status, rows, latency, *predicted in reversed(found):
        number = int(created_at // DAY_S)
        day = days.get(number) or days.setdefault(number, _new_day(number))
        day["batches"] += 1
        day["rows"] += rows
        day[status] = day.get(status, 0) + 1
        if latency is not None:
            day["latencies"].append(float(latency))
        scored, nan, inf, mean = predicted[:4]
        _add_predictions(day, scored, nan, inf, mean, tuple(predicted[4:4 + HISTOGRAM_BINS]), predicted[-1])
    out = []
    for day in days.values():
        latencies, scored, total = day.pop("latencies"), day.pop("scored_rows"), day.pop("score_sum")
        p50, p95 = _percentiles(latencies)
        out.append({**day, "latency_p50_ms": p50, "latency_p95_ms": p95,
                    "mean_prediction": total / scored if scored else None})
    return out


def _model_rules(session: Session, project_id: int, model: str) -> list[AlertRule]:
    model_id = get_model(session=session, project_id=project_id, name=model).id
    return list(session.execute(
        select(AlertRule).where(col(AlertRule.project_id) == project_id,
                                or_(col(AlertRule.model_id) == model_id, col(AlertRule.model_id).is_(None)))
        .order_by(col(AlertRule.name))).scalars())


def alert_rules(*, session: Session, project_id: int, model: str) -> list[dict[str, Any]]:
    """The alert rules that watch `model`: its own and the project-wide ones (model_id None), by name:
    [{"id", "name", "kind", "params", "severity", "actions" (their types), "enabled", "scope" (the
    model's name, or "every production model"), "created_by", "created_at"}].

    Raises:
        NotFound: no model named `model` in the project.
    """
    return [{"id": r.id, "name": r.name, "kind": r.kind, "params": dict(r.params or {}), "severity": r.severity,
             "actions": [str(a.get("type", "?")) if isinstance(a, dict) else str(a) for a in r.actions or []],
             "enabled": r.enabled, "scope": model if r.model_id is not None else "every production model",
             "created_by": r.created_by, "created_at": r.created_at}
            for r in _model_rules(session, project_id, model)]


def latency_sla(*, session: Session, project_id: int, model: str) -> float | None:
    """The latency SLA (ms) of `model`: the strictest enabled `latency_p95` rule's threshold (params
    `sla_ms`) among its rules and the project-wide ones; None when none sets one.

    Raises:
        NotFound: no model named `model` in the project.
    """
    limits = []
    for rule in _model_rules(session, project_id, model):
        if rule.kind != "latency_p95" or not rule.enabled:
            continue
        value = next((rule.params[k] for k in SLA_PARAMS if isinstance(rule.params.get(k), (int, float))), None)
        if value is not None:
            limits.append(float(value))
    return min(limits) if limits else None


def outcome_timeline(*, session: Session, project_id: int, model: str,
                     limit: int = OUTCOME_LIMIT) -> list[dict[str, Any]]:
    """The outcomes logged for any version of `model`, the newest `limit`, oldest first: [{"id",
    "version", "rows", "metrics" (realised from the predictions: mean_predicted, positive_rate,
    roc_auc, ...), "business" (the user's own, e.g. default_rate), "batch_id", "created_at"}].

    Raises:
        NotFound: no model named `model` in the project.
        InvalidInput: `limit` below 1.
    """
    if limit < 1:
        raise InvalidInput("limit must be at least 1")
    versions = _versions(session, project_id, model)
    found = list(session.execute(
        select(Outcome).where(col(Outcome.model_version_id).in_(list(versions)))
        .order_by(col(Outcome.created_at).desc(), col(Outcome.id).desc()).limit(limit)).scalars())
    return [{"id": o.id, "version": versions[o.model_version_id], "rows": o.rows, "metrics": dict(o.metrics or {}),
             "business": dict(o.business or {}), "batch_id": o.scoring_batch_id, "created_at": o.created_at}
            for o in reversed(found)]


def retraining_history(*, session: Session, project_id: int, model: str, limit: int = RUN_LIMIT) -> list[dict[str, Any]]:
    """The newest `limit` retraining runs of `model`, newest first: [{"id", "trigger" ("manual" or the
    rule's name), "alert_id", "status" (running, succeeded, failed), "run_id" (the tracked run, for
    the Experiments page), "model_version", "request_id" (its promotion request, for the Approvals
    page), "error", "started_by", "started_at", "finished_at", "notebook" (True when it kept its
    executed notebook: retraining.executed_notebook)}].

    Raises:
        NotFound: no model named `model` in the project.
        InvalidInput: `limit` below 1.
    """
    if limit < 1:
        raise InvalidInput("limit must be at least 1")
    model_id = get_model(session=session, project_id=project_id, name=model).id
    found = session.execute(select(RetrainingRun).where(col(RetrainingRun.model_id) == model_id)
                            .order_by(col(RetrainingRun.started_at).desc(), col(RetrainingRun.id).desc())
                            .limit(limit)).scalars()
    return [{"id": r.id, "trigger": r.trigger, "alert_id": r.alert_id, "status": r.status, "run_id": r.run_id,
             "model_version": r.model_version, "request_id": r.request_id, "error": r.error,
             "started_by": r.started_by, "started_at": r.started_at, "finished_at": r.finished_at,
             "notebook": r.notebook_artifact_id is not None} for r in found]
