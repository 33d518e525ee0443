"""Promotion requests: ask, approve, reject, cancel, with four eyes, policy quotas and gates.

    req = request_promotion(session=s, actor=dana, project_id=1, model="credit-risk", version=3,
                            to="staging", reason="beats v2 on AUC")
    approve(session=s, actor=eve, request_id=req.id, comment="looks good")   # -> staging, audited

Rules that never bend, checked here on every call whatever the interface:
- a request needs a proven identity (any role), like a decision: the requester is a user, by id;
- nobody approves their own request (four eyes), and a user decides a request at most once; both
  compare user ids, never typed names (SPEC §4), so no spelling of a name is another person;
- only the roles the model's policy names for the target stage may approve or reject, with proof;
- gates are evaluated at the request and again at each decision; a failing gate blocks approval;
- a new request supersedes an older pending one for the same model and stage, when its requester
  is the same user or may cancel others' requests (a proven steward: ml_engineer or admin);
- the checks of a decision live in governance.decisions, which also lists them for readers
  (decision_blockers: why a user may not decide, without writing anything);
- the approval that completes the policy's quotas approves the request and moves the version in
  the same transaction (one production version per model: the previous one is archived).

Concurrency: a decision locks the model row, then the request row (FOR UPDATE on PostgreSQL;
SQLite serialises writers with BEGIN IMMEDIATE), and reads the request's status after the lock,
so two reviewers approving at the same moment record exactly one decision.
"""
from __future__ import annotations

import time
from typing import Any

from sqlalchemy import select
from sqlmodel import Session, col

from mlops_nb.services import registry
from mlops_nb.services.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from mlops_nb.services.governance import audit, decisions, gates, policies, stages
from mlops_nb.services.governance.results import PromotionRequestPublic, RequestTable
from mlops_nb.services.identity import permissions
from mlops_nb.services.identity.auth import Identity
from mlops_nb.store.models import Approval, ModelVersion, PromotionRequest, RegisteredModel
from mlops_nb.store.models.registry import REQUEST_STATUSES

MAX_REASON = 6_000  # characters of a reason or comment (SPEC §4's limit for param values)


def _text(value: Any, what: str, *, required: bool, example: str) -> str:
    """`value` stripped, when it is text (None counts as "") of at most MAX_REASON characters, and not
    blank when `required`; InvalidInput naming `what` otherwise."""
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise InvalidInput(f"{what} must be text, got {type(value).__name__}")
    if required and not value.strip():
        raise InvalidInput(f"{what} is required, e.g. {example}")
    if len(value) > MAX_REASON:
        raise InvalidInput(f"{what} is {len(value)} characters long; keep it under {MAX_REASON}")
    return value.strip()


def _evaluate(session: Session, *, actor: str, request: PromotionRequest, version: ModelVersion,
              policy: policies.EffectivePolicy, when: str, store: Any, load: Any) -> list[dict[str, Any]]:
    """Evaluate the gates for the request, store the results and the policy on it, audit them."""
    results = [r.to_dict() for r in gates.evaluate(session=session, version=version, target_stage=request.target_stage,
                                                    policy=policy, store=store, load=load, record=True, actor=actor)]
    request.gates, request.policy = results, policy.rules
    session.add(request)
    session.flush()
    audit.record(session=session, actor=actor, action="promotion.gates", entity="promotion_request",
                 entity_id=request.id, after={"when": when, "gates": results})
    return results


def _supersede(session: Session, actor: Identity, older: list[PromotionRequest], now: float) -> None:
    """Mark the `older` pending requests superseded by `actor`, audited; all or none: a request of
    another user needs the "cancel" permission (a proven ml_engineer or admin), else
    PermissionDenied naming the request and its requester, before anything changes."""
    for row in older:
        if not decisions.same_user(actor, row.requester_id, row.requester) and not permissions.allowed(actor, "cancel"):
            raise PermissionDenied(
                f"user {actor.name!r} ({actor.role}) may not supersede promotion request {row.id} of "
                f"{row.requester!r}, pending for the same model and stage: only its requester or a proven "
                f"ml_engineer or admin may; ask {row.requester!r} to cancel it, or wait for its decision")
    for row in older:
        row.status, row.decided_at, row.decided_by, row.decided_by_id = "superseded", now, actor.name, actor.user_id
        session.add(row)
        audit.record(session=session, actor=actor.name, action="promotion.supersede", entity="promotion_request",
                     entity_id=row.id, before={"status": "pending"}, after={"status": "superseded"})


def request_promotion(*, session: Session, actor: Identity, project_id: int, model: str, version: int, to: str,
                      reason: str, store: Any = None, load: Any = None) -> PromotionRequest:
    """Ask for `model` v`version` to enter stage `to` (staging or production), saying why; the gates
    are evaluated and stored with it, and a pending request for the same model and stage is
    superseded. The actor must be proven (any role); the request records their user id.
    Superseding another user's pending request needs the "cancel" permission (a proven
    ml_engineer or admin).

    A request whose gates fail is still recorded (the requester and reviewers see why); it cannot be
    approved until its gates pass at the decision.

    Raises:
        InvalidInput: `to` is not a target stage; no reason, or one longer than MAX_REASON.
        PermissionDenied: the actor is not proven, or a pending request of another user for the same
            model and stage would be superseded and the actor is not a proven ml_engineer or admin
            (the message names that request and its requester); nothing changes.
        NotFound: no such model or version.
        Conflict: the version is already in `to`.
    """
    actor = permissions.current(session=session, actor=actor)
    permissions.require(actor, "request")
    if to not in policies.TARGET_STAGES:
        raise InvalidInput(f"promotion target {to!r} is not one of {', '.join(policies.TARGET_STAGES)}")
    reason = _text(reason, "reason", required=True, example="reason='beats v2 on AUC'")
    model_row = registry.get_model(session=session, project_id=project_id, name=model)
    model_id = model_row.id
    assert model_id is not None  # a row read from the store
    stages.lock_model(session=session, model_id=model_id)
    version_row = registry.get_version_row(session=session, model_id=model_id, version=version)
    if version_row.stage == to:
        raise Conflict(f"model {model!r} version {version} is already in {to}; nothing to request")
    now = time.time()
    older = list(session.execute(select(PromotionRequest).where(
        col(PromotionRequest.model_id) == model_id, col(PromotionRequest.target_stage) == to,
        col(PromotionRequest.status) == "pending").order_by(col(PromotionRequest.id))).scalars().all())
    _supersede(session, actor, older, now)
    policy = policies.get_effective_policy(session=session, project_id=project_id, model_id=model_id)
    assert version_row.id is not None  # a stored row has its id
    request = PromotionRequest(model_id=model_id, model_version_id=version_row.id, target_stage=to,
                               requester=actor.name, requester_id=actor.user_id, reason=reason, status="pending", created_at=now)
    session.add(request)
    session.flush()
    audit.record(session=session, actor=actor.name, action="promotion.request", entity="promotion_request",
                 entity_id=request.id, after={"model": model, "version": version, "target_stage": to,
                                              "reason": reason, "status": "pending"})
    _evaluate(session, actor=actor.name, request=request, version=version_row, policy=policy, when="request",
              store=store, load=load)
    return request


def _locked_request(session: Session, request_id: Any, project_id: int | None) -> tuple[PromotionRequest, RegisteredModel]:
    """The request and its model, both locked (model first, as every decision does), the request
    read again after the lock; InvalidInput for a non-integer id, NotFound for an unknown one."""
    if isinstance(request_id, bool) or not isinstance(request_id, int):
        raise InvalidInput(f"request id must be an integer, got {request_id!r}")
    model_id = session.execute(select(col(PromotionRequest.model_id))
                               .where(col(PromotionRequest.id) == request_id)).scalar()
    if model_id is None:
        raise NotFound(f"promotion request {request_id} does not exist; list them with mlops.requests()")
    model = stages.lock_model(session=session, model_id=model_id)
    if project_id is not None and model.project_id != project_id:
        raise NotFound(f"promotion request {request_id} is not in this project")
    request: PromotionRequest = session.execute(
        select(PromotionRequest).where(col(PromotionRequest.id) == request_id).with_for_update()
        .execution_options(populate_existing=True)).scalars().one()
    return request, model


def _decide_checks(session: Session, actor: Identity, request: PromotionRequest, model: RegisteredModel,
                   action: str) -> decisions.Checked:
    """The checks of every decision (decisions.check: pending, four eyes, a role the policy names
    for the stage with proof, one decision per user, the quota of the actor's role when approving);
    raises the first blocker's error, else returns what the checks read."""
    checked = decisions.check(session, actor, request, model, action)
    if checked.blockers:
        raise checked.blockers[0].exception()
    return checked


def approve(*, session: Session, actor: Identity, request_id: int, comment: str = "", project_id: int | None = None,
            store: Any = None, load: Any = None) -> PromotionRequest:
    """Approve a pending request as `actor`, with an optional comment; the gates are evaluated again.
    The approval that completes the policy's quotas approves the request and moves the version to
    its target stage in the same transaction (entering production archives the previous version).

    Raises:
        InvalidInput: a non-integer request id, or a comment longer than MAX_REASON.
        NotFound: no such request (in this project, when `project_id` is given).
        PermissionDenied: the actor requested it (four eyes), or is not proven with a role the
            model's policy names for the target stage.
        Conflict: the request is no longer pending, the actor decided it already, or the quota of
            the actor's role is already met.
        GateFailed: a gate fails at the decision (the message names each); nothing is approved.
    """
    actor = permissions.current(session=session, actor=actor)
    comment = _text(comment, "comment", required=False, example="")
    request, model = _locked_request(session, request_id, project_id)
    checked = _decide_checks(session, actor, request, model, "approve")
    policy, required, given = checked.policy, checked.required, checked.given
    assert policy is not None  # the checks passed, so they read the policy
    role = actor.role
    assert role is not None  # _decide_checks passed: a proven identity with a role
    version = session.get(ModelVersion, request.model_version_id)
    assert version is not None  # promotion_request.model_version_id is a foreign key
    results = _evaluate(session, actor=actor.name, request=request, version=version, policy=policy, when="decision",
                        store=store, load=load)
    failed = gates.failing(results)
    if failed:
        raise decisions.gate_failure(request, failed)
    now = time.time()
    assert request.id is not None  # a stored row has its id
    session.add(Approval(request_id=request.id, user=actor.name, user_id=actor.user_id, role=role, decision="approve",
                         comment=comment, created_at=now))
    session.flush()
    audit.record(session=session, actor=actor.name, action="promotion.approve", entity="promotion_request",
                 entity_id=request.id, after={"user": actor.name, "role": role, "comment": comment})
    given[role] += 1
    if all(given[role] >= n for role, n in required.items()):
        request.status, request.decided_at, request.decided_by = "approved", now, actor.name
        request.decided_by_id = actor.user_id
        session.add(request)
        session.flush()
        audit.record(session=session, actor=actor.name, action="promotion.decide", entity="promotion_request",
                     entity_id=request.id, before={"status": "pending"},
                     after={"status": "approved", "approvals": dict(given)})
        stages._set_stage(session=session, actor=actor.name, version=version, to_stage=request.target_stage,
                         reason=request.reason, request_id=request.id)
    return request


def reject(*, session: Session, actor: Identity, request_id: int, comment: str,
           project_id: int | None = None) -> PromotionRequest:
    """Reject a pending request as `actor`; the comment (required) says why. Rejecting ends the
    request: one rejection by a role the policy names is enough.

    Raises:
        InvalidInput: a non-integer request id; no comment, or one longer than MAX_REASON.
        NotFound: no such request (in this project, when `project_id` is given).
        PermissionDenied: the actor requested it (four eyes), or is not proven with a role the
            model's policy names for the target stage.
        Conflict: the request is no longer pending, or the actor decided it already.
    """
    actor = permissions.current(session=session, actor=actor)
    comment = _text(comment, "comment", required=True, example="comment='AUC below the production model'")
    request, model = _locked_request(session, request_id, project_id)
    _decide_checks(session, actor, request, model, "reject")
    role = actor.role
    assert role is not None  # _decide_checks passed: a proven identity with a role
    now = time.time()
    assert request.id is not None  # a stored row has its id
    session.add(Approval(request_id=request.id, user=actor.name, user_id=actor.user_id, role=role,
                         decision="reject", comment=comment, created_at=now))
    request.status, request.decided_at, request.decided_by = "rejected", now, actor.name
    request.decided_by_id = actor.user_id
    session.add(request)
    session.flush()
    audit.record(session=session, actor=actor.name, action="promotion.reject", entity="promotion_request",
                 entity_id=request.id, before={"status": "pending"},
                 after={"status": "rejected", "user": actor.name, "role": actor.role, "comment": comment})
    return request


def cancel(*, session: Session, actor: Identity, request_id: int, reason: str = "",
           project_id: int | None = None) -> PromotionRequest:
    """Withdraw a pending request, with an optional reason: its requester (the same user id,
    proven) may, as may a proven ml_engineer or admin.

    Raises:
        InvalidInput: a non-integer request id, or a reason longer than MAX_REASON.
        NotFound: no such request (in this project, when `project_id` is given).
        Conflict: the request is no longer pending.
        PermissionDenied: the actor is not proven, or it is another user's request and the actor is
            not a proven ml_engineer or admin.
    """
    actor = permissions.current(session=session, actor=actor)
    reason = _text(reason, "reason", required=False, example="")
    request, _ = _locked_request(session, request_id, project_id)
    stale = decisions.not_pending(request)
    if stale is not None:
        raise stale.exception()
    own = decisions.same_user(actor, request.requester_id, request.requester)
    permissions.require(actor, "cancel_own" if own else "cancel")
    request.status, request.decided_at, request.decided_by = "cancelled", time.time(), actor.name
    request.decided_by_id = actor.user_id
    session.add(request)
    session.flush()
    audit.record(session=session, actor=actor.name, action="promotion.cancel", entity="promotion_request",
                 entity_id=request.id, before={"status": "pending"}, after={"status": "cancelled", "reason": reason})
    return request


def preview_gates(*, session: Session, project_id: int, model: str, version: int, to: str, store: Any = None,
                  load: Any = None) -> list[dict[str, Any]]:
    """The gates model `model` v`version` would face entering stage `to` now, under its effective
    policy, as JSON-ready dicts (name, passed, detail, data); nothing is recorded.

    Raises:
        NotFound: no such model or version.
        InvalidInput: `version` is not an integer, or the stored policy is not valid.
    """
    model_row = registry.get_model(session=session, project_id=project_id, name=model)
    assert model_row.id is not None  # a row read from the store
    row = registry.get_version_row(session=session, model_id=model_row.id, version=version)
    policy = policies.get_effective_policy(session=session, project_id=project_id, model_id=model_row.id)
    return [r.to_dict() for r in gates.evaluate(session=session, version=row, target_stage=to, policy=policy,
                                                store=store, load=load)]


# --- reading --------------------------------------------------------------------------------------

def _publics(session: Session, rows: list[tuple[PromotionRequest, str, int]]) -> list[PromotionRequestPublic]:
    """The read models of request rows (with their model's name and version number), their approvals
    read in one query; `required` is the policy stored with the request, else the one in force."""
    ids = [r.id for r, _, _ in rows]
    by_request: dict[int | None, list[dict[str, Any]]] = {i: [] for i in ids}
    if ids:
        for a in session.execute(select(Approval).where(col(Approval.request_id).in_(ids))
                                 .order_by(col(Approval.id))).scalars():
            by_request[a.request_id].append({"user": a.user, "role": a.role, "decision": a.decision,
                                             "comment": a.comment, "created_at": a.created_at})
    policy_cache: dict[int, dict[str, Any]] = {}
    out = []
    for r, name, number in rows:
        required = (r.policy or {}).get("approvals", {}).get(r.target_stage)
        if required is None:
            if r.model_id not in policy_cache:
                registered = session.get(RegisteredModel, r.model_id)
                assert registered is not None  # promotion_request.model_id is a foreign key
                policy_cache[r.model_id] = policies.get_effective_policy(
                    session=session, project_id=registered.project_id, model_id=r.model_id).rules
            required = policy_cache[r.model_id]["approvals"].get(r.target_stage, {})
        assert r.id is not None  # a row read from the store
        out.append(PromotionRequestPublic(id=r.id, model=name, version=number, target_stage=r.target_stage,
                                          requester=r.requester, reason=r.reason, status=r.status,
                                          gates=list(r.gates or []), approvals=by_request[r.id], required=dict(required),
                                          created_at=r.created_at, decided_at=r.decided_at, decided_by=r.decided_by))
    return out


_REQUESTS = (select(PromotionRequest, col(RegisteredModel.name), col(ModelVersion.version))
             .join(RegisteredModel, col(RegisteredModel.id) == PromotionRequest.model_id)
             .join(ModelVersion, col(ModelVersion.id) == PromotionRequest.model_version_id))


def public(*, session: Session, request_id: int) -> PromotionRequestPublic:
    """Request `request_id` with its model name, version number, gates and approvals, as the API
    returns it.

    Raises:
        NotFound: no such request.
    """
    row = session.execute(_REQUESTS.where(col(PromotionRequest.id) == request_id)).first()
    if row is None:
        raise NotFound(f"promotion request {request_id} does not exist; list them with mlops.requests()")
    return _publics(session, [tuple(row)])[0]


def list_requests(*, session: Session, project_id: int, model: str | None = None, status: str | None = None,
                  limit: int = 200, before_id: int | None = None) -> RequestTable:
    """At most `limit` requests of a project (optionally of one model, one status), newest first;
    the next page starts `before_id` (the smallest id of this one).

    Raises:
        NotFound: `model` is not registered in the project.
        InvalidInput: `status` is not pending, approved, rejected, cancelled or superseded.
    """
    query = _REQUESTS.where(col(RegisteredModel.project_id) == project_id)
    if model is not None:
        query = query.where(col(PromotionRequest.model_id) == registry.get_model(
            session=session, project_id=project_id, name=model).id)
    if status is not None:
        if status not in REQUEST_STATUSES:
            raise InvalidInput(f"request status {status!r} is not one of {', '.join(REQUEST_STATUSES)}")
        query = query.where(col(PromotionRequest.status) == status)
    if before_id is not None:
        query = query.where(col(PromotionRequest.id) < before_id)
    rows = session.execute(query.order_by(col(PromotionRequest.id).desc()).limit(limit)).all()
    title = f"Promotion requests{f' of {model}' if model else ''}{f' ({status})' if status else ''}"
    return RequestTable(_publics(session, [tuple(r) for r in rows]), title=title)
