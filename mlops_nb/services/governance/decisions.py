"""Who may decide a promotion request, and why not: the checks of every decision, in one place.

`approve` and `reject` (governance.promotion) raise the first blocker these checks find, under
their locks; `decision_blockers` lists every blocker for a reader (the console shows them instead of
the Approve button) and writes nothing. One implementation serves both, so what the console says
and what the service refuses cannot drift apart.

    decision_blockers(session=s, actor=rita, request_id=12)
    # ["user 'rita' requested promotion request 12 and may not approve it (four eyes); ask another reviewer"]

The checks, in the order a decision makes them (the first is what approve or reject raises):
1. the request is pending (Conflict naming its status; nothing else is checked then);
2. four eyes: the actor is not its requester, by user id (PermissionDenied);
3. the actor is proven with a role the model's policy names for the target stage (PermissionDenied);
4. one decision per user, by user id (Conflict);
5. approve only: the quota of the actor's role is not met yet (Conflict);
6. approve only: every gate passes, evaluated now as at the decision (GateFailed, one per gate).
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlmodel import Session, col

from mlops_nb.services.errors import Conflict, GateFailed, InvalidInput, MlopsError, NotFound, PermissionDenied
from mlops_nb.services.governance import gates, policies
from mlops_nb.services.identity import permissions
from mlops_nb.services.identity.auth import Identity
from mlops_nb.services.values import user_key
from mlops_nb.store.models import Approval, ModelVersion, PromotionRequest, RegisteredModel

ACTIONS = ("approve", "reject")


@dataclass(frozen=True)
class Blocker:
    """One reason the actor may not decide: the error a decision raises for it, and its message."""

    error: type[MlopsError]
    message: str

    def exception(self) -> MlopsError:
        """The error `approve` or `reject` raises for this blocker."""
        return self.error(self.message)


@dataclass
class Checked:
    """What the checks found: the blockers (none: the actor may decide, gates aside), the policy in
    force, the approvals per role it requires for the target stage, the decisions so far, and the
    approvals given per role."""

    blockers: list[Blocker]
    policy: policies.EffectivePolicy | None = None
    required: dict[str, int] = field(default_factory=dict)
    existing: list[Approval] = field(default_factory=list)
    given: Counter[str] = field(default_factory=Counter)


def same_user(actor: Identity, user_id: int | None, name: str | None) -> bool:
    """True when `actor` is the user a row names: by id; for a row from before ids were stored
    (no id), by the name's key (case and width folded)."""
    if user_id is not None:
        return actor.user_id is not None and actor.user_id == user_id
    if name is None:
        return False
    try:
        return user_key(name) == user_key(actor.name)
    except InvalidInput:  # a stored name that is no valid user name matches nobody
        return False


def not_pending(request: PromotionRequest) -> Blocker | None:
    """None while the request is pending; else the Conflict naming its status (and who decided)."""
    if request.status == "pending":
        return None
    by = f" by {request.decided_by}" if request.decided_by else ""
    return Blocker(Conflict, f"promotion request {request.id} is already {request.status}{by}; nothing was changed")


def approvals(session: Session, request_id: int | None) -> list[Approval]:
    """The decisions on the request so far, oldest first."""
    found: list[Approval] = list(session.execute(select(Approval).where(col(Approval.request_id) == request_id)
                                                 .order_by(col(Approval.id))).scalars().all())
    return found


def check(session: Session, actor: Identity, request: PromotionRequest, model: RegisteredModel,
          action: str, *, existing: list[Approval] | None = None,
          policy: policies.EffectivePolicy | None = None) -> Checked:
    """Checks 1-5 of the module's list for `actor` (as the store sees them now) deciding `request`
    of `model` with `action` (approve or reject); reads only. Every blocker found is listed, in
    that order; a request no longer pending has that one blocker alone. `existing` (the request's
    decisions) and `policy` (the model's policy in force) are read here unless given."""
    stale = not_pending(request)
    if stale is not None:
        return Checked([stale])
    blockers: list[Blocker] = []
    verb = "approve" if action == "approve" else "reject"
    if same_user(actor, request.requester_id, request.requester):
        hint = "ask another reviewer" if action == "approve" else "withdraw it with mlops.cancel(request_id)"
        blockers.append(Blocker(PermissionDenied, f"user {actor.name!r} requested promotion request {request.id} "
                                                  f"and may not {verb} it (four eyes); {hint}"))
    if policy is None:
        policy = policies.get_effective_policy(session=session, project_id=model.project_id, model_id=model.id)
    required = policy.approvals(request.target_stage)
    try:
        permissions.require(actor, action, allowed_roles=required)
    except PermissionDenied as err:
        blockers.append(Blocker(PermissionDenied,
                                f"{err} (the policy of model {model.name!r} for {request.target_stage})"))
    if existing is None:
        existing = approvals(session, request.id)
    given = Counter(a.role for a in existing if a.decision == "approve")
    if any(same_user(actor, a.user_id, a.user) for a in existing):
        blockers.append(Blocker(Conflict, f"user {actor.name!r} has already decided promotion request {request.id}"))
    elif action == "approve" and actor.role in required and given[actor.role] >= required[actor.role]:
        waiting = ", ".join(f"{n - given[r]} {r}" for r, n in required.items() if given[r] < n)
        blockers.append(Blocker(Conflict, f"promotion request {request.id} already has its {actor.role} approvals; "
                                          f"it waits for {waiting}"))
    return Checked(blockers, policy, required, existing, given)


def gate_failure(request: PromotionRequest, failed: list[dict[str, Any]]) -> GateFailed:
    """The GateFailed `approve` raises, naming each failing gate and its detail."""
    names = "; ".join(f"{g['name']} ({g['detail']})" for g in failed)
    return GateFailed(f"request {request.id} cannot be approved: {len(failed)} gate(s) failed: {names}")


def gate_blockers(failed: list[dict[str, Any]]) -> list[Blocker]:
    """One blocker per failing gate result ({name, detail, ...}), in the gates' order."""
    return [Blocker(GateFailed, f"gate {g['name']} fails: {g['detail']}") for g in failed]


def decision_blockers(*, session: Session, actor: Identity, request_id: int, action: str = "approve",
                      store: Any = None, load: Any = None) -> list[str]:
    """Why `actor` may not `action` (approve or reject) request `request_id` now, in the order a
    decision checks (see the module's list); [] when they may. The same checks approve and reject
    make, with the gates of an approval evaluated as at the decision (`store` and `load` as for
    approve); nothing is written or locked.

        decision_blockers(session=s, actor=eli, request_id=12)
        # ['gate staging_before_production fails: version 3 is in none, not staging: promote it to staging first']

    Raises:
        InvalidInput: a non-integer request id, or `action` is not approve or reject.
        NotFound: no such request.
    """
    if isinstance(request_id, bool) or not isinstance(request_id, int):
        raise InvalidInput(f"request id must be an integer, got {request_id!r}")
    if action not in ACTIONS:
        raise InvalidInput(f"action {action!r} is not one of {', '.join(ACTIONS)}")
    request = session.get(PromotionRequest, request_id)
    if request is None:
        raise NotFound(f"promotion request {request_id} does not exist; list them with mlops.requests()")
    model = session.get(RegisteredModel, request.model_id)
    assert model is not None  # promotion_request.model_id is a foreign key
    return listed(session=session, actor=actor, request=request, model=model, action=action, store=store,
                  load=load)


def listed(*, session: Session, actor: Identity, request: PromotionRequest, model: RegisteredModel, action: str,
           gate_results: list[dict[str, Any]] | None = None, store: Any = None, load: Any = None) -> list[str]:
    """decision_blockers for rows already read: `gate_results` are the gates just evaluated for the
    request under the policy in force (promotion.preview_gates), else they are evaluated here."""
    actor = permissions.current(session=session, actor=actor)
    checked = check(session, actor, request, model, action)
    found = list(checked.blockers)
    if action == "approve" and checked.policy is not None:
        if gate_results is None:
            version = session.get(ModelVersion, request.model_version_id)
            assert version is not None  # promotion_request.model_version_id is a foreign key
            gate_results = [r.to_dict() for r in gates.evaluate(
                session=session, version=version, target_stage=request.target_stage, policy=checked.policy,
                store=store, load=load)]
        found += gate_blockers(gates.failing(gate_results))
    return [b.message for b in found]


def waiting_for(*, session: Session, actor: Identity, project_id: int, store: Any = None, load: Any = None,
                limit: int = 200) -> list[int]:
    """Ids of the project's pending requests (the `limit` newest, newest first) that `actor` may
    approve now: those for which decision_blockers is [], found with the same checks in fewer
    queries (the actor, the decisions and the versions are read once for all).

        waiting_for(session=s, actor=eli, project_id=1)   # [14, 12]
    """
    actor = permissions.current(session=session, actor=actor)
    rows = session.execute(select(PromotionRequest, RegisteredModel)
                           .join(RegisteredModel, col(RegisteredModel.id) == PromotionRequest.model_id)
                           .where(col(RegisteredModel.project_id) == project_id,
                                  col(PromotionRequest.status) == "pending")
                           .order_by(col(PromotionRequest.id).desc()).limit(limit)).all()
    ids = [request.id for request, _ in rows]
    decided: dict[int | None, list[Approval]] = {i: [] for i in ids}
    for a in session.execute(select(Approval).where(col(Approval.request_id).in_(ids))
                             .order_by(col(Approval.id))).scalars():
        decided[a.request_id].append(a)
    versions = {v.id: v for v in session.execute(select(ModelVersion).where(
        col(ModelVersion.id).in_([request.model_version_id for request, _ in rows]))).scalars()}
    in_force: dict[int | None, policies.EffectivePolicy] = {}
    found = []
    for request, model in rows:
        checked = check(session, actor, request, model, "approve", existing=decided[request.id],
                        policy=in_force.get(model.id))
        if checked.blockers or checked.policy is None:
            continue
        in_force[model.id] = checked.policy
        results = gates.evaluate(session=session, version=versions[request.model_version_id],
                                 target_stage=request.target_stage, policy=checked.policy, store=store, load=load)
        if not gates.failing(results):
            found.append(request.id)
    return [i for i in found if i is not None]
