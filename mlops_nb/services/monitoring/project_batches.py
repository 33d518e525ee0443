"""Scoring batches across a project's models, for the console's Data page: the recent batches
(filtered by model and status), one batch with its findings, profiles and outcomes, and a summary
per model version (batches, rows, refused share, latency percentiles, last outcome).

Plain data in and out. `batches.recent_batches` reads one model's batches; these read the project.

    rows = project_batches(session=s, project_id=1, status="refused", limit=50)
    detail = batch_detail(session=s, project_id=1, batch_id=rows[0]["id"])
    summary = version_summaries(session=s, project_id=1)
"""
from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlmodel import Session, col

from mlops_nb.services.errors import InvalidInput, NotFound
from mlops_nb.services.monitoring.batches import MAX_LIMIT
from mlops_nb.services.registry.lookups import get_model
from mlops_nb.services.values import check_limit
from mlops_nb.store.models import ModelVersion, Outcome, RegisteredModel, ScoringBatch
from mlops_nb.store.models.monitoring import BATCH_STATUSES

SUMMARY_BATCHES = 20_000  # newest batches of the project a summary is computed over


def _of_project(project_id: int, model: str | None, session: Session) -> Any:
    """The batches of the project's models joined to their version and model (of `model` only, when given)."""
    query = (select(ScoringBatch, col(ModelVersion.version), col(RegisteredModel.name))
             .join(ModelVersion, col(ModelVersion.id) == col(ScoringBatch.model_version_id))
             .join(RegisteredModel, col(RegisteredModel.id) == col(ModelVersion.model_id))
             .where(col(RegisteredModel.project_id) == project_id))
    if model is not None:
        query = query.where(col(RegisteredModel.id) == get_model(session=session, project_id=project_id, name=model).id)
    return query


def _row(batch: ScoringBatch, number: int, model: str) -> dict[str, Any]:
    findings = list(batch.findings or [])
    return {"id": batch.id, "model": model, "version": number, "stage": batch.stage, "method": batch.method,
            "status": batch.status, "rows": batch.rows, "latency_ms": batch.latency_ms, "findings": len(findings),
            "errors": sum(1 for f in findings if f.get("severity") == "error"), "created_by": batch.created_by,
            "created_at": batch.created_at}


def project_batches(*, session: Session, project_id: int, model: str | None = None, status: str | None = None,
                    limit: int = 100) -> list[dict[str, Any]]:
    """The project's latest `limit` scoring batches, newest first (of model `model`, with status
    `status`, when given): [{"id" (uuid hex), "model", "version", "stage", "method", "status", "rows",
    "latency_ms", "findings" and "errors" (counts), "created_by", "created_at" (epoch s)}].

    Raises:
        NotFound: `model` is not registered in the project.
        InvalidInput: `status` is not one of BATCH_STATUSES, or `limit` not a whole number from 1 to MAX_LIMIT.
    """
    check_limit(limit, MAX_LIMIT)
    if status is not None and status not in BATCH_STATUSES:
        raise InvalidInput(f"batch status {status!r} is not one of {', '.join(BATCH_STATUSES)}")
    query = _of_project(project_id, model, session)
    if status is not None:
        query = query.where(col(ScoringBatch.status) == status)
    query = query.order_by(col(ScoringBatch.created_at).desc(), col(ScoringBatch.id)).limit(limit)
    return [_row(batch, number, name) for batch, number, name in session.execute(query).all()]


def batch_detail(*, session: Session, project_id: int, batch_id: str) -> dict[str, Any]:
    """Batch `batch_id` of the project: its row (as project_batches gives it) plus "findings_list"
    (Finding.to_dict each), "features" (the refs it applied), "input_profile" ({column: statistics}),
    "prediction_profile", and "outcomes" logged for it, newest first ([{"id", "rows", "metrics",
    "business", "created_by", "created_at"}]).

    Raises:
        NotFound: no batch of this project has that id.
    """
    found = session.execute(_of_project(project_id, None, session)
                            .where(col(ScoringBatch.id) == str(batch_id))).first() if isinstance(batch_id, str) else None
    if found is None:
        raise NotFound(f"no scoring batch {batch_id!r} in this project; pick one of its recent batches")
    batch, number, model = found
    outcomes = session.execute(select(Outcome).where(col(Outcome.scoring_batch_id) == batch.id)
                               .order_by(col(Outcome.created_at).desc(), col(Outcome.id).desc())).scalars().all()
    return {**_row(batch, number, model), "findings_list": list(batch.findings or []),
            "features": list(batch.features or []), "input_profile": dict(batch.input_profile or {}),
            "prediction_profile": dict(batch.prediction_profile or {}),
            "outcomes": [{"id": o.id, "rows": o.rows, "metrics": dict(o.metrics or {}),
                          "business": dict(o.business or {}), "created_by": o.created_by,
                          "created_at": o.created_at} for o in outcomes]}


def _percentile(values: list[float], q: float) -> float | None:
    """The q-th percentile (0-100) by linear interpolation, None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def version_summaries(*, session: Session, project_id: int, model: str | None = None) -> list[dict[str, Any]]:
    """Per model version that scored (over the project's newest SUMMARY_BATCHES batches), by model then
    newest version: [{"model", "version", "batches", "rows", "refused" (count), "refused_share" (0-1),
    "latency_p50_ms", "latency_p95_ms" (None without timings), "last_batch_at" (epoch s), "last_outcome"
    (None, or {"metrics", "business", "created_at"} of the version's newest outcome)}].

    Raises:
        NotFound: `model` is not registered in the project.
    """
    query = (select(col(RegisteredModel.name), col(ModelVersion.version), col(ModelVersion.id),
                    col(ScoringBatch.status), col(ScoringBatch.rows), col(ScoringBatch.latency_ms),
                    col(ScoringBatch.created_at))
             .join(ModelVersion, col(ModelVersion.id) == col(ScoringBatch.model_version_id))
             .join(RegisteredModel, col(RegisteredModel.id) == col(ModelVersion.model_id))
             .where(col(RegisteredModel.project_id) == project_id))
    if model is not None:
        query = query.where(col(RegisteredModel.id) == get_model(session=session, project_id=project_id, name=model).id)
    query = query.order_by(col(ScoringBatch.created_at).desc()).limit(SUMMARY_BATCHES)
    groups: dict[int, dict[str, Any]] = {}
    for name, number, version_id, status, rows, latency, created_at in session.execute(query).all():
        g = groups.setdefault(version_id, {"model": name, "version": number, "batches": 0, "rows": 0, "refused": 0,
                                           "latencies": [], "last_batch_at": created_at})
        g["batches"] += 1
        g["rows"] += rows
        g["refused"] += status == "refused"
        if latency is not None:
            g["latencies"].append(float(latency))
    last: dict[int, Any] = {}
    if groups:
        for outcome in session.execute(select(Outcome).where(col(Outcome.model_version_id).in_(list(groups)))
                                       .order_by(col(Outcome.created_at).desc(), col(Outcome.id).desc())).scalars():
            last.setdefault(outcome.model_version_id, {"metrics": dict(outcome.metrics or {}),
                                                       "business": dict(outcome.business or {}),
                                                       "created_at": outcome.created_at})
    summaries = []
    for version_id, g in groups.items():
        latencies = g.pop("latencies")
        summaries.append({**g, "refused_share": g["refused"] / g["batches"],
                          "latency_p50_ms": _percentile(latencies, 50), "latency_p95_ms": _percentile(latencies, 95),
                          "last_outcome": last.get(version_id)})
    summaries.sort(key=lambda s: (s["model"], -s["version"]))
    return summaries

