"""What a reviewer reads before deciding, and what holds production: plain read models, nothing written.

A review is one pending request as the person deciding it needs it: the request (reason, approvals
so far), where the version stands now, its lineage (run, training dataset with fingerprint, params,
metrics, code, who registered it), the gates evaluated now, and why this reviewer may not approve
or reject it (governance.decisions: the checks the decision itself makes).

    item = review(session=s, request_id=12, actor=rita, store=artifacts)
    item.approve_blockers   # [] when rita may approve now
    production_models(session=s, project_id=1)   # [{"model", "version", "since", "approved_by", ...}]
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlmodel import Session, col

from mlops_nb.services import registry, tracking
from mlops_nb.services.errors import InvalidInput, NotFound
from mlops_nb.services.governance import decisions, promotion
from mlops_nb.services.governance.results import PromotionRequestPublic
from mlops_nb.services.identity.auth import Identity
from mlops_nb.store.models import Approval, ModelVersion, PromotionRequest, RegisteredModel, StageChange

KEY_ITEMS = 8  # params and metrics a lineage summary keeps (the rest are counted)


@dataclass
class Review:
    """One request as a reviewer reads it.

    `from_stage` is the version's stage now; `gates` the gates evaluated now ({name, passed, detail,
    data}); `lineage` holds run_id, run_name, dataset (name, version, fingerprint, rows; None when
    none), params and metrics (at most KEY_ITEMS each, by key), params_total and metrics_total,
    code_recorded (bool) and code (in words: registry.code_verdict of registry.version_code), registered_by and registered_at
    (epoch seconds); `approve_blockers` and `reject_blockers` why the actor may not approve or
    reject ([] when they may).
    """

    request: PromotionRequestPublic
    from_stage: str
    gates: list[dict[str, Any]] = field(default_factory=list)
    lineage: dict[str, Any] = field(default_factory=dict)
    approve_blockers: list[str] = field(default_factory=list)
    reject_blockers: list[str] = field(default_factory=list)


def _first(items: dict[str, Any]) -> dict[str, Any]:
    return {k: items[k] for k in sorted(items)[:KEY_ITEMS]}


def lineage_summary(*, session: Session, project_id: int, model: str, version: int) -> dict[str, Any]:
    """The lineage of model `model` v`version` in a reviewer's words (see Review.lineage).

    Raises:
        NotFound: no such model or version.
    """
    v = registry.get_version(session=session, project_id=project_id, name=model, version=version)
    run = None
    if v.run_id:
        try:
            run = tracking.get_run_row(session=session, run_id=v.run_id)
        except NotFound:  # a version whose run was removed keeps its id; the lineage gate says so
            run = None
    recorded, code = registry.code_verdict(registry.version_code(run, v.code))
    data = v.dataset
    return {"run_id": v.run_id, "run_name": run.name if run is not None else None,
            "dataset": None if data is None else {"name": data.name, "version": data.version,
                                                  "fingerprint": data.fingerprint, "rows": data.rows},
            "params": _first(v.params), "params_total": len(v.params),
            "metrics": _first(v.metrics), "metrics_total": len(v.metrics),
            "code_recorded": recorded, "code": code, "registered_by": v.created_by, "registered_at": v.created_at}


def review(*, session: Session, request_id: int, actor: Identity, store: Any = None, load: Any = None) -> Review:
    """Request `request_id` as `actor` reads it before deciding (see Review); the gates are evaluated
    now, as at a decision (`store` and `load` as for approve); nothing is recorded.

    Raises:
        InvalidInput: a non-integer request id.
        NotFound: no such request.
    """
    if isinstance(request_id, bool) or not isinstance(request_id, int):
        raise InvalidInput(f"request id must be an integer, got {request_id!r}")
    request = promotion.public(session=session, request_id=request_id)  # NotFound for an unknown id
    stored = session.get(PromotionRequest, request_id)
    assert stored is not None  # promotion.public found it
    model = session.get(RegisteredModel, stored.model_id)
    row = session.get(ModelVersion, stored.model_version_id)
    assert model is not None and row is not None  # foreign keys of promotion_request
    item = Review(request=request, from_stage=row.stage,
                  lineage=lineage_summary(session=session, project_id=model.project_id, model=request.model,
                                          version=request.version))
    if request.status == "pending":
        item.gates = promotion.preview_gates(session=session, project_id=model.project_id, model=request.model,
                                             version=request.version, to=request.target_stage, store=store, load=load)
    else:
        item.gates = list(request.gates)
    for action in decisions.ACTIONS:
        found = decisions.listed(session=session, actor=actor, request=stored, model=model, action=action,
                                 gate_results=item.gates if request.status == "pending" else None,
                                 store=store, load=load)
        setattr(item, f"{action}_blockers", found)
    return item


def production_models(*, session: Session, project_id: int) -> list[dict[str, Any]]:
    """The project's models in production, by model name: [{"model", "version", "since" (epoch seconds
    it entered production), "approved_by" (["eli (ml_engineer)", ...] of the request that moved it;
    [] for a rollback or a move without a request), "moved_by", "request_id", "rollback" (bool)}]."""
    rows = session.execute(select(col(RegisteredModel.name), ModelVersion).join(
        ModelVersion, col(ModelVersion.model_id) == RegisteredModel.id).where(
        col(RegisteredModel.project_id) == project_id, col(ModelVersion.stage) == "production")
        .order_by(col(RegisteredModel.name), col(ModelVersion.version))).all()
    out = []
    for name, version in rows:
        change = session.execute(select(StageChange).where(
            col(StageChange.model_version_id) == version.id, col(StageChange.to_stage) == "production")
            .order_by(col(StageChange.id).desc()).limit(1)).scalars().first()
        approved_by: list[str] = []
        if change is not None and change.request_id is not None and not change.rollback:
            approved_by = [f"{a.user} ({a.role})" for a in session.execute(select(Approval).where(
                col(Approval.request_id) == change.request_id, col(Approval.decision) == "approve")
                .order_by(col(Approval.id))).scalars()]
        out.append({"model": name, "version": version.version,
                    "since": change.created_at if change is not None else version.created_at,
                    "approved_by": approved_by, "moved_by": change.actor if change is not None else None,
                    "request_id": change.request_id if change is not None else None,
                    "rollback": bool(change is not None and change.rollback)})
    return out
