"""Stage changes and rollback: one production version per model, every move recorded and audited.

Every stage a version enters is a StageChange row. Production's past is read from those rows as a
stack: a promotion to production pushes its version, a rollback pops the top one. Rolling back
returns production to the version below the top; with nothing below, it is NotFound.

    v1 -> production, v2 -> production     stack [v1, v2]   production v2
    rollback                              stack [v1]       production v1 (v2 archived)
    rollback                              NotFound: no earlier production version is left

The model row is locked (FOR UPDATE on PostgreSQL; SQLite serialises writers with BEGIN IMMEDIATE)
so two decisions at the same moment can never leave two production versions. The rollback rules
are SPEC §3 and §4's: ml_engineer or admin, with a reason, audited; none left is NotFound.

    _set_stage(session=s, actor="eve", version=row, to_stage="production", request_id=12)   # promotion only

`_set_stage` checks nothing (who may decide is checked by the promotion service that calls it, in
the same transaction), so it is private to the services: no interface may move a stage without a
decision (tests/test_architecture.py holds it so). Rollback checks its own permission:

    rollback(session=s, actor=eve, model_id=3, reason="default rate doubled")   # -> the restored version

The history reads the same rows: `stage_history` every move, newest first, and `production_periods`
who was champion (in production) when.
"""
from __future__ import annotations

import time

from sqlalchemy import func, select
from sqlmodel import Session, col

from mlops_nb.services.errors import InvalidInput, NotFound
from mlops_nb.services.governance import audit
from mlops_nb.services.governance.results import ProductionPeriod, StageChangePublic
from mlops_nb.services.identity import permissions
from mlops_nb.services.identity.auth import Identity
from mlops_nb.store.models import ModelVersion, RegisteredModel, StageChange
from mlops_nb.store.models.registry import STAGES


def lock_model(*, session: Session, model_id: int) -> RegisteredModel:
    """The model row, locked until the transaction ends: stage changes of one model go one at a time.

    Raises:
        NotFound: no registered model `model_id`.
    """
    model: RegisteredModel | None = session.execute(select(RegisteredModel).where(col(RegisteredModel.id) == model_id)
                                                    .with_for_update()).scalars().first()
    if model is None:
        raise NotFound(f"registered model {model_id} does not exist")
    return model


def _move(session: Session, *, actor: str, model: RegisteredModel, version: ModelVersion, to_stage: str,
          reason: str, request_id: int | None, rollback: bool, now: float) -> StageChange:
    """Move `version` to `to_stage`: the row, a StageChange and an audit event (no checks)."""
    assert version.id is not None  # a stored row has its id
    change = StageChange(model_id=version.model_id, model_version_id=version.id, from_stage=version.stage,
                         to_stage=to_stage, actor=actor, reason=reason, request_id=request_id, rollback=rollback,
                         created_at=now)
    before = version.stage
    version.stage = to_stage
    session.add(version)
    session.add(change)
    session.flush()
    audit.record(session=session, actor=actor, action="model.rollback.stage" if rollback else "model.stage",
                 entity="model_version", entity_id=f"{model.name}:{version.version}",
                 before={"stage": before}, after={"stage": to_stage, "reason": reason, "request_id": request_id,
                                                  "stage_change_id": change.id})
    return change


def _set_stage(*, session: Session, actor: str, version: ModelVersion, to_stage: str, reason: str = "",
              request_id: int | None = None) -> StageChange:
    """Move `version` to `to_stage`; entering production archives the version that held it.

    Private to the services: called by the promotion service once a request is approved (who may
    decide is checked there), inside the decision's transaction; it checks no permission itself. `actor` is a user name; each move is a StageChange row and an
    audit event `model.stage`.

    Raises:
        InvalidInput: `to_stage` is not one of none, staging, production, archived.
        NotFound: the version's model does not exist.
    """
    if to_stage not in STAGES:
        raise InvalidInput(f"stage {to_stage!r} is not one of {', '.join(STAGES)}")
    model = lock_model(session=session, model_id=version.model_id)
    now = time.time()
    if to_stage == "production":
        for other in _production_rows(session, version.model_id):
            if other.id != version.id:
                _move(session, actor=actor, model=model, version=other, to_stage="archived",
                      reason=f"replaced by version {version.version}", request_id=request_id, rollback=False, now=now)
    return _move(session, actor=actor, model=model, version=version, to_stage=to_stage, reason=reason,
                 request_id=request_id, rollback=False, now=now)


def _production_rows(session: Session, model_id: int) -> list[ModelVersion]:
    """The model's versions in production now (one, or none; more only in a store written by hand)."""
    rows: list[ModelVersion] = list(session.execute(select(ModelVersion).where(
        col(ModelVersion.model_id) == model_id, col(ModelVersion.stage) == "production")).scalars().all())
    return rows


def production_stack(*, session: Session, model_id: int) -> list[int]:
    """Model version ids that held production, oldest first, with rolled-back ones popped."""
    rows = session.execute(select(col(StageChange.model_version_id), col(StageChange.rollback))
                           .where(col(StageChange.model_id) == model_id, col(StageChange.to_stage) == "production")
                           .order_by(col(StageChange.id))).all()
    stack: list[int] = []
    for version_id, rolled_back in rows:
        if rolled_back:
            if stack:
                stack.pop()
        else:
            stack.append(version_id)
    return stack


def rollback(*, session: Session, actor: Identity, model_id: int, reason: str) -> ModelVersion:
    """Return production to the version that held it before the current one; audited, with a reason.

    The current production version is archived, the restored one enters production (StageChange
    rows marked rollback), and `model.rollback` is audited; the restored version is returned.

    Raises:
        PermissionDenied: the actor is not a proven ml_engineer or admin.
        InvalidInput: no reason.
        NotFound: no such model, or no earlier production version to return to.
    """
    actor = permissions.current(session=session, actor=actor)
    permissions.require(actor, "rollback")
    if not isinstance(reason, str) or not reason.strip():
        raise InvalidInput("rollback needs a reason, e.g. rollback('credit-risk', reason='AUC dropped in production')")
    model = lock_model(session=session, model_id=model_id)
    stack = production_stack(session=session, model_id=model_id)
    current = _production_rows(session, model_id)
    if len(stack) < 2:
        held = "no version has been in production" if not stack else "only one version has been in production"
        raise NotFound(f"model {model.name!r} has no earlier production version to roll back to ({held})")
    target = session.get(ModelVersion, stack[-2])
    if target is None:  # stage_change.model_version_id is a foreign key: only a store edited by hand
        raise NotFound(f"model {model.name!r}: the version that held production before is gone")
    now = time.time()
    for row in current:
        _move(session, actor=actor.name, model=model, version=row, to_stage="archived",
              reason=f"rolled back: {reason}", request_id=None, rollback=True, now=now)
    # the rollback entry into production pops the stack's top; the restored version stays below it
    _move(session, actor=actor.name, model=model, version=target, to_stage="production", reason=reason,
          request_id=None, rollback=True, now=now)
    audit.record(session=session, actor=actor.name, action="model.rollback", entity="registered_model",
                 entity_id=model.name, before={"production": [r.version for r in current]},
                 after={"production": target.version, "reason": reason})
    return target


def stage_history(*, session: Session, model_id: int, limit: int = 500) -> list[StageChangePublic]:
    """Every stage move of model `model_id`'s versions, newest first (at most `limit`): who moved which
    version from which stage to which, when and why.

        [StageChangePublic(id=9, version=2, from_stage="archived", to_stage="production", actor="eli",
                           reason="AUC dropped", request_id=None, rollback=True, created_at=1.7e9), ...]

    Raises:
        NotFound: no registered model `model_id`.
        InvalidInput: `limit` below 1.
    """
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        raise InvalidInput(f"limit must be a whole number of at least 1, got {limit!r}")
    if session.get(RegisteredModel, model_id) is None:
        raise NotFound(f"registered model {model_id} does not exist")
    rows = session.execute(
        select(StageChange, col(ModelVersion.version)).join(ModelVersion, col(ModelVersion.id) ==
                                                            StageChange.model_version_id)
        .where(col(StageChange.model_id) == model_id).order_by(col(StageChange.id).desc()).limit(limit)).all()
    return [StageChangePublic(id=c.id, version=number, from_stage=c.from_stage, to_stage=c.to_stage, actor=c.actor,
                              reason=c.reason, request_id=c.request_id, rollback=c.rollback, created_at=c.created_at)
            for c, number in rows]


def production_periods(history: list[StageChangePublic]) -> list[ProductionPeriod]:
    """Who was champion when, newest first, from a model's `stage_history` (any order): each entry
    into production opens a period, the same version's next move out of production closes it."""
    periods: list[ProductionPeriod] = []
    open_by_version: dict[int, ProductionPeriod] = {}
    for change in sorted(history, key=lambda c: c.id):
        if change.to_stage == "production":
            period = ProductionPeriod(version=change.version, since=change.created_at, until=None,
                                      entered_by=change.actor, reason=change.reason, request_id=change.request_id,
                                      by_rollback=change.rollback)
            periods.append(period)
            open_by_version[change.version] = period
        elif change.from_stage == "production" and change.version in open_by_version:
            ended = open_by_version.pop(change.version)
            ended.until, ended.ended_by, ended.ended_reason = change.created_at, change.actor, change.reason
    return periods[::-1]


def rollback_target(history: list[StageChangePublic]) -> int | None:
    """The version number a rollback would restore, read from a model's `stage_history` (any order)
    as `production_stack` reads the store: None when no earlier production version is left."""
    stack: list[int] = []
    for change in sorted(history, key=lambda c: c.id):
        if change.to_stage != "production":
            continue
        if change.rollback:
            if stack:
                stack.pop()
        else:
            stack.append(change.version)
    return stack[-2] if len(stack) >= 2 else None


def last_stage_changes(*, session: Session, project_id: int) -> dict[str, float]:
    """When each model of project `project_id` last changed stage: {model name: epoch seconds}; models
    whose versions never moved are absent."""
    rows = session.execute(select(col(RegisteredModel.name), func.max(col(StageChange.created_at)))
                           .join(StageChange, col(StageChange.model_id) == RegisteredModel.id)
                           .where(col(RegisteredModel.project_id) == project_id)
                           .group_by(col(RegisteredModel.name))).all()
    return {name: float(ts) for name, ts in rows}
